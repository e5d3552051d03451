import { expect } from "chai";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { hashJob } from "../../core/jobState";
import { COLLATERAL, CONFIG, FEE, NODE_STAKE, deployMarket, honestResult, jobFrom, mnistInput } from "../helpers/marketFixture";

describe("JobMarket happy path (gas)", () => {
  it("posts, takes, submits and finalises one MNIST job", async () => {
    const { requester, node, staking, market, modelId } = await deployMarket();
    await staking.connect(node).stake({ value: NODE_STAKE });
    const input = mnistInput(1);
    const expiresAt = (await time.latest()) + 3600;
    const postTx = await market.connect(requester).postJob(modelId, input, "0x0000000000000000000000000000000000000000", 0, COLLATERAL, expiresAt, { value: FEE });
    let { jobId, job } = await jobFrom(postTx);
    const takeTx = await market.connect(node).takeJob(jobId, job);
    ({ job } = await jobFrom(takeTx, job));
    const r = honestResult(input);
    const submitTx = await market.connect(node).submitResult(jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof);
    ({ job } = await jobFrom(submitTx, job));
    await time.increase(CONFIG.challengeWindow);
    const finTx = await market.finalize(jobId, job, r.output);
    const gas = await Promise.all([postTx, takeTx, submitTx, finTx].map(async (t) => (await t.wait())!.gasUsed));
    console.log(`      gas: post ${gas[0]}, take ${gas[1]}, submit ${gas[2]}, finalize ${gas[3]}, total ${gas.reduce((a, b) => a + b, 0n)}`);
    expect(await market.jobHash(jobId)).to.equal(hashJob((await jobFrom(finTx, job)).job));
  });
});

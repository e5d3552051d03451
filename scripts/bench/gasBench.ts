import { type Abi, type Address, parseEther, zeroAddress } from "viem";
import { digitClassifierAbi, jobMarketAbi, stakingAbi } from "../../core/abi";
import { int8Bytes, toHex } from "../../core/bytes";
import { send as sendCall } from "../../core/chain/actor";
import { jobFromLogs } from "../../core/chain/jobLogs";
import { commitTrace } from "../../core/commitments";
import { loadMnist } from "../../core/mnist";
import { MNIST_MODEL_DIR, inputScaleOf, loadModelDir } from "../../core/modelFiles";
import { quantiseInput } from "../../core/quantise";
import { runReference } from "../../core/referenceExecutor";
import { inProcessChain } from "./inProcessChain";
import { table } from "./timing";

interface GasRow {
  readonly step: string;
  readonly first: bigint;
  readonly steady: bigint;
}

/**
 * Gas of one MNIST job's happy path on Hardhat's in-process chain: post (a real 784-byte held-out
 * digit), take, submit, finalise, with no consumer callback; then the same through the DigitClassifier
 * example dapp. "first" is the market's first job, "steady" a later one (warm counters, paid node).
 */
export async function benchHappyPathGas(): Promise<{ table: string; results: { rows: GasRow[]; withConsumer: GasRow[] } }> {
  const { deployment, accounts, actor } = await inProcessChain();
  const [deployer, requester, node] = accounts;
  const { jobMarket, digitClassifier, staking } = deployment.contracts;
  const send = async (from: Address, c: { address: Address; abi: Abi }, functionName: string, args: unknown[] = [], value = 0n) => {
    const { hash } = await sendCall(actor(from), { ...c, functionName, args, value });
    return actor(from).publicClient.getTransactionReceipt({ hash });
  };
  const market = { address: jobMarket, abi: jobMarketAbi as Abi };
  const classifier = { address: digitClassifier, abi: digitClassifierAbi as Abi };
  const files = loadModelDir(MNIST_MODEL_DIR);
  const { model } = files;
  await send(node, { address: staking, abi: stakingAbi as Abi }, "stake", [], parseEther("10"));

  const digits = loadMnist().test;
  const pub = actor(deployer).publicClient;

  const runJob = async (k: number, viaClassifier: boolean): Promise<bigint[]> => {
    const input = quantiseInput(digits[k].pixels, inputScaleOf(files));
    const inputHex = toHex(int8Bytes(input));
    const block = await pub.getBlock();
    const expiresAt = Number(block.timestamp) + 3600;
    const posted = viaClassifier
      ? await send(requester, classifier, "classify", [inputHex, parseEther("0.05"), expiresAt], parseEther("0.001"))
      : await send(requester, market, "postJob", [deployment.model.id, inputHex, zeroAddress, 0, parseEther("0.05"), expiresAt], parseEther("0.001"));
    let { jobId, job } = jobFromLogs(posted.logs);
    const taken = await send(node, market, "takeJob", [jobId, job]);
    ({ job } = jobFromLogs(taken.logs, job));
    const trace = runReference(model, input);
    const c = commitTrace(trace);
    const output = toHex(new Uint8Array(trace[3].buffer));
    const submitted = await send(node, market, "submitResult", [jobId, job, output, toHex(c.root), c.tree.proof(0).map(toHex), c.tree.proof(3).map(toHex)]);
    ({ job } = jobFromLogs(submitted.logs, job));
    await pub.request({ method: "evm_increaseTime" as never, params: [Number(deployment.parameters.challengeWindow)] as never });
    await pub.request({ method: "evm_mine" as never });
    const finalized = await send(deployer, market, "finalize", [jobId, job, output]);
    return [posted.gasUsed, taken.gasUsed, submitted.gasUsed, finalized.gasUsed];
  };

  const steps = ["postJob (784-byte input)", "takeJob", "submitResult", "finalize"];
  const asRows = (first: bigint[], steady: bigint[]): GasRow[] => [
    ...steps.map((step, i) => ({ step, first: first[i], steady: steady[i] })),
    { step: "**total**", first: first.reduce((a, b) => a + b, 0n), steady: steady.reduce((a, b) => a + b, 0n) },
  ];
  const rows = asRows(await runJob(0, false), await runJob(1, false));
  const withConsumer = asRows(await runJob(2, true), await runJob(3, true));
  const fmtRows = (rs: GasRow[], label: string) => rs.map((r) => [label, r.step, r.first.toString(), r.steady.toString()]);
  return {
    results: { rows, withConsumer },
    table: table(["path", "step", "first job", "later job"], [...fmtRows(rows, "no callback"), ...fmtRows(withConsumer, "DigitClassifier (incl. its callback)")]),
  };
}

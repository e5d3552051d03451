import { expect } from "chai";
import { parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { heldOutDigit } from "../../client/mnistDigit";
import { type DaemonProcess, E2eSystem } from "../helpers/e2e";

/**
 * A node started without stake: it says so at start (its stake cannot cover the smallest collateral of the
 * model it serves), logs every job it skips with the reason, and shows its stake in /status, instead of
 * reporting ready and silently taking nothing.
 */
describe("end to end: a node without stake says why it takes no job", () => {
  let sys: E2eSystem;
  let node: DaemonProcess;
  const nodeAccount = () => sys.accounts[7];

  before(async () => {
    sys = await E2eSystem.start();
    node = sys.startDaemon("node-unstaked", "node", nodeAccount());
    await node.ready;
  });
  after(async () => {
    await sys?.stop();
  });

  it("warns at start, logs the skipped job with the collateral and its free stake, and shows its stake in /status", async () => {
    const warning = await node.waitFor("free stake cannot cover the smallest collateral of a served model: every job of it will be skipped (stake with --stake)", {});
    expect(warning).to.deep.include({ modelId: String(sys.deployment.model.id), free: "0", smallestCollateral: String(sys.deployment.parameters.minCollateral) });

    const collateral = sys.deployment.parameters.minCollateral;
    const jobId = await sys.classify(sys.accounts[1], heldOutDigit(4).input, parseEther("0.001"), collateral);
    const skipped = await node.waitFor("skipped job: free stake below its collateral", { jobId: String(jobId) });
    expect(skipped).to.deep.include({ attempt: "0", collateral: String(collateral), free: "0" });
    expect(node.find("skipped job: free stake below its collateral", { jobId: String(jobId) }), "logged once, not every round").to.have.length(1);
    expect(node.find("took job")).to.deep.equal([]);

    const status = await (await fetch(`${await node.apiUrl()}/status`)).json();
    expect(status.stake).to.deep.equal({ free: "0", locked: "0", unbonding: "0" });
    expect(await (await fetch(`${await node.apiUrl()}/metrics`)).text()).to.match(/^refute_node_jobs_skipped_total\{reason="stake"\} 1$/m);
  });

  it("a node whose key has no ETH to stake with fails to start with one line naming the account and the cause", async () => {
    const key = "0x7e57000000000000000000000000000000000000000000000000000000000001" as const;
    const address = privateKeyToAccount(key).address;
    const poor = sys.startDaemon("node-unfunded", "node", { address, privateKey: key }, { args: ["--stake", "1"] });
    const { code } = await poor.exited;
    expect(code).to.equal(1);
    expect(poor.otherLines.join("\n")).to.match(new RegExp(`^refute-node: cannot start: stake from ${address} was not sent: Sender doesn't have enough funds to send tx`, "m"));
  });
});

import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type Hex, parseEther, parseEventLogs } from "viem";
import { RefuteClient } from "../../client/refuteClient";
import { graphDisputeGameAbi, graphDisputesAbi, stakingAbi } from "../../core/abi";
import { toHex } from "../../core/bytes";
import { registerGraphModel } from "../../core/chain/graphModelRegistration";
import { GraphReason } from "../../core/graph/game/gameState";
import { readGraphModelFolder, writeGraphModelFolder } from "../../core/graph/modelFolder";
import { GraphTraceProvider } from "../../core/graph/traceProvider";
import { loadMnist } from "../../core/mnist";
import { importGraphModel } from "../../core/modelImport/graph/importGraphModel";
import { quantiseInput } from "../../core/quantise";
import { type DaemonProcess, E2eSystem, named, waitUntil } from "../helpers/e2e";

const FEE = parseEther("0.002");
const STAKE = "5"; // ETH, each node's --stake: several CNN jobs' collateral

/**
 * A graph program served and disputed by the real daemons on a real chain: the convolutional MNIST
 * model (models/mnist-cnn, imported into a graph folder), registered with registerGraphModel and
 * served from its folder (`--models`) by an honest node, a node that cheats (`--cheat wrong-output`)
 * and the watcher at p = 1. Two nodes share the load by job id (`--share`): a new job with an even id
 * goes to the cheating node, and a job it loses to a dispute reopens for the honest one. The watcher
 * re-executes each result, opens a game on GraphDisputes for the false one, both daemons play it on
 * GraphDisputeGame, the winner settles it, the node is slashed and the watcher takes its bond and
 * reward home.
 */
describe("end to end: a convolutional network served and disputed by the daemons (graph program)", function () {
  this.timeout(240_000);
  let sys: E2eSystem;
  let client: RefuteClient;
  let honest: DaemonProcess;
  let cheat: DaemonProcess;
  let watcher: DaemonProcess;
  let modelId: bigint;
  let collateral: bigint;
  let inputs: Int8Array[];
  let expected: (input: Int8Array) => Hex;
  const account = (i: number) => sys.accounts[i];
  const user = () => account(1);
  const honestNode = () => account(2);
  const cheatingNode = () => account(3);
  const watcherAccount = () => account(4);
  const startWatcher = (name: string) => sys.startDaemon(name, "watcher", watcherAccount(), { args: ["--models", path.join(sys.tmpDir, "mnist-cnn"), "--sampling-rate", "1"] });

  before(async () => {
    sys = await E2eSystem.start();
    client = new RefuteClient({ publicClient: sys.publicClient, walletClient: sys.wallet(user()), deployment: sys.deployment });
    const { train, test } = loadMnist();
    const imported = await importGraphModel(readFileSync(path.join(__dirname, "../../models/mnist-cnn/float.onnx")), { calibration: train.slice(0, 100).map((x) => x.pixels) });
    const dir = path.join(sys.tmpDir, "mnist-cnn");
    writeGraphModelFolder(dir, imported.program, { name: "mnist-cnn" });
    inputs = test.slice(0, 2).map((x) => quantiseInput(x.pixels, imported.scales[0]));
    expected = (input) => {
      const out = GraphTraceProvider.fromInput(imported.program, input).output;
      return toHex(new Uint8Array(out.buffer, out.byteOffset, out.length));
    };
    ({ modelId } = await registerGraphModel(sys.actor(account(6)), readGraphModelFolder(dir), pathToFileURL(dir).href));
    collateral = await client.minCollateral(modelId);

    const models = ["--models", dir];
    honest = sys.startDaemon("node-honest", "node", honestNode(), { args: [...models, "--stake", STAKE, "--share", "1/2"] });
    cheat = sys.startDaemon("node-cheat", "node", cheatingNode(), { args: [...models, "--stake", STAKE, "--share", "0/2", "--cheat", "wrong-output"] });
    watcher = startWatcher("watcher");
    await Promise.all([honest.ready, cheat.ready, watcher.ready]);
  });
  after(async () => {
    await sys?.stop();
  });

  const graphDisputes = () => sys.deployment.contracts.graphDisputes;
  const credits = (account: Hex) => sys.publicClient.readContract({ address: graphDisputes(), abi: graphDisputesAbi, functionName: "credits", args: [account] });
  async function graphEvents() {
    const { graphDisputes: disputes, graphDisputeGame: game } = sys.deployment.contracts;
    const [d, g] = await Promise.all([disputes, game].map((address) => sys.publicClient.getLogs({ address, fromBlock: sys.deployment.startBlock })));
    return { disputes: parseEventLogs({ abi: graphDisputesAbi, logs: d }), game: parseEventLogs({ abi: graphDisputeGameAbi, logs: g }) };
  }

  it("each daemon serves the registered graph program from its folder", () => {
    for (const d of [honest, cheat]) expect(d.find("serving model", { modelId, kind: "graph" }), d.tail()).to.have.length(1);
    expect(watcher.find("watching model", { modelId, kind: "graph" }), watcher.tail()).to.have.length(1);
    expect(collateral > 0n).to.equal(true);
  });

  it("a correct result is checked by the watcher and finalised by the honest node with the reference executor's output", async () => {
    const { jobId } = await client.postJob({ modelId, input: inputs[0], fee: FEE, collateral });
    expect(jobId % 2n, "an odd job id: the honest node's share").to.equal(1n);
    await honest.waitFor("submitted result", { jobId, attempt: 1 });
    await watcher.waitFor("result checked: correct", { jobId, attempt: 1 });
    await sys.increaseTime(sys.deployment.parameters.challengeWindow + 1n);
    await honest.waitFor("finalised result", { jobId, attempt: 1 });
    expect(await client.finalResult(jobId)).to.deep.include({ attempt: 1n, node: honestNode().address, outputHex: expected(inputs[0]), feePaid: true });
  });

  it("a false result is disputed: the daemons play the graph game, the cheat is slashed, the watcher is paid and the job is served again honestly", async () => {
    const [free] = await sys.publicClient.readContract({ address: sys.deployment.contracts.staking, abi: stakingAbi, functionName: "accountOf", args: [cheatingNode().address] });
    const { jobId } = await client.postJob({ modelId, input: inputs[1], fee: FEE, collateral });
    expect(jobId % 2n, "an even job id: the cheating node's share").to.equal(0n);
    await cheat.waitFor("CHEATING: submitted a false result", { jobId, attempt: 1 });
    const opened = await watcher.waitFor("result checked: WRONG, dispute opened", { jobId, attempt: 1 });
    const gameId = opened.gameId as Hex;
    await watcher.waitFor("won dispute: node slashed", { gameId, jobId }, 120_000);
    await cheat.waitFor("lost dispute", { gameId, jobId });
    await watcher.waitFor("settled dispute", { gameId, jobId, asserterWon: false });
    await watcher.waitFor("claimed reward", { gameId, jobId });

    // Both sides played: the watcher's challenge opened it, the cheat revealed, the watcher's step ended it.
    // The output leaf is the lie: the bisection over the trace's prefixes ends at it, its element is elementwise (no folds).
    expect(cheat.find("dispute move", { gameId }).map((r) => r.move), cheat.tail()).to.deep.equal(["revealPrefixes", "revealLeaf"]);
    expect(watcher.find("dispute move", { gameId }).map((r) => r.move), watcher.tail()).to.deep.equal(["pickPrefixes", "pickNode", "step"]);

    const ev = await graphEvents();
    const [resolved] = named(ev.game, "GameResolved").filter((e) => e.args.gameId === gameId);
    expect(resolved.args.asserterWon).to.equal(false);
    expect(GraphReason[resolved.args.reason]).to.equal("StepFailed");
    const [settled] = named(ev.disputes, "DisputeSettled").filter((e) => e.args.gameId === gameId);
    expect(settled.args).to.deep.include({ jobId, asserterWon: false });
    expect(named(ev.disputes, "RewardClaimed").filter((e) => e.args.gameId === gameId)).to.have.length(1);

    // The collateral is gone from the cheat's stake; the watcher withdrew all GraphDisputes owed it.
    const [freeAfter, lockedAfter] = await sys.publicClient.readContract({ address: sys.deployment.contracts.staking, abi: stakingAbi, functionName: "accountOf", args: [cheatingNode().address] });
    expect([freeAfter, lockedAfter]).to.deep.equal([free - collateral, 0n]);
    await waitUntil(async () => (await credits(watcherAccount().address)) === 0n && watcher.find("withdrew credit", { from: "graphGame" }).length > 0, "the watcher to withdraw from GraphDisputes", [watcher]);

    // The job reopened as attempt 2, which falls to the honest node; it finalises with the reference output.
    await honest.waitFor("submitted result", { jobId, attempt: 2 });
    await watcher.waitFor("result checked: correct", { jobId, attempt: 2 });
    await sys.increaseTime(sys.deployment.parameters.challengeWindow + 1n);
    await honest.waitFor("finalised result", { jobId, attempt: 2 });
    expect(await client.finalResult(jobId)).to.deep.include({ attempt: 2n, node: honestNode().address, outputHex: expected(inputs[1]), feePaid: true });
  });

  // Trace leaf 3 is conv 2's value (leaves: the input, the value of every op but the flatten, the output).
  it("a lie in the second convolution's value (200 terms a row), carried through the rest, is dissected down to the row's finishing step and stepped", async () => {
    await cheat.stop();
    cheat = sys.startDaemon("node-cheat-conv", "node", cheatingNode(), { args: ["--models", path.join(sys.tmpDir, "mnist-cnn"), "--share", "0/2", "--cheat", "wrong-layer:3"] });
    await cheat.ready;
    // Job 3 is the honest node's; job 4 the cheat's.
    await client.postJob({ modelId, input: inputs[1], fee: FEE, collateral });
    const { jobId } = await client.postJob({ modelId, input: inputs[0], fee: FEE, collateral });
    expect(jobId % 2n).to.equal(0n);
    const opened = await watcher.waitFor("result checked: WRONG, dispute opened", { jobId, attempt: 1 });
    const gameId = opened.gameId as Hex;
    await watcher.waitFor("won dispute: node slashed", { gameId, jobId }, 120_000);
    await cheat.waitFor("lost dispute", { gameId, jobId });
    // Into the tensor by its (paged) tree, then the row's running sum by folds (the cheat's are honest up to the
    // whole sum), then the finishing step: the requantisation of the agreed sum is not the claimed element.
    expect(cheat.find("dispute move", { gameId }).map((r) => r.move), cheat.tail()).to.deep.equal(["revealPrefixes", "revealLeaf", "revealNodes", "revealNodes", "postFolds"]);
    expect(watcher.find("dispute move", { gameId }).map((r) => r.move), watcher.tail()).to.deep.equal(["pickPrefixes", "pickNode", "pickNode", "pickFolds", "step"]);
    await honest.waitFor("submitted result", { jobId, attempt: 2 });
  });

  it("the watcher killed in the middle of a graph game restarts, reads the game and the last reveal from the chain, plays on and wins", async () => {
    // Job 5 is the honest node's; job 6 the cheat's (still lying in conv 2's value).
    await client.postJob({ modelId, input: inputs[0], fee: FEE, collateral });
    const { jobId } = await client.postJob({ modelId, input: inputs[1], fee: FEE, collateral });
    expect(jobId % 2n).to.equal(0n);
    const opened = await watcher.waitFor("result checked: WRONG, dispute opened", { jobId, attempt: 1 });
    const gameId = opened.gameId as Hex;
    await watcher.waitFor("dispute move", { gameId, move: "pickPrefixes" });
    await watcher.kill();
    const before = watcher.find("dispute move", { gameId }).map((r) => r.move);
    await cheat.waitFor("dispute move", { gameId, move: "revealLeaf" });

    watcher = startWatcher("watcher-restarted");
    await watcher.ready;
    await watcher.waitFor("won dispute: node slashed", { gameId, jobId }, 120_000);
    await watcher.waitFor("claimed reward", { gameId, jobId });
    const after = watcher.find("dispute move", { gameId }).map((r) => r.move);
    expect(after, "the restarted process made the last moves").to.include.members(["pickFolds", "step"]);
    expect([...before, ...after]).to.deep.equal(["pickPrefixes", "pickNode", "pickNode", "pickFolds", "step"]);
    expect(watcher.find("result checked: WRONG, dispute opened", { jobId }), "no second game on the same result").to.deep.equal([]);
  });
});

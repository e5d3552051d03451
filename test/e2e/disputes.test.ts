import { expect } from "chai";
import { type Hex, parseEther } from "viem";
import { heldOutDigit } from "../../client/mnistDigit";
import { RefuteClient } from "../../client/refuteClient";
import { digitClassifierAbi, disputeGameAbi, jobMarketAbi, stakingAbi } from "../../core/abi";
import { argmax } from "../../core/argmax";
import { fromHex } from "../../core/bytes";
import { type ChainActor, send } from "../../core/chain/actor";
import { ChainIndex } from "../../core/chain/chainIndex";
import { readGame } from "../../core/dispute/gameClient";
import { Phase, Reason, toGameState } from "../../core/dispute/gameState";
import { type Move, pickNodeMove, pickRootsMove, pickSumsMove } from "../../core/dispute/planner";
import { TraceProvider } from "../../core/traceProvider";
import { type DaemonProcess, E2eSystem, WAIT_MS, mnist, named, referenceOutput, waitUntil } from "../helpers/e2e";
import { eventually } from "../helpers/eventually";

const FEE = parseEther("0.002");
const COLLATERAL = parseEther("0.05");
const STAKE = "1"; // ETH, each node's --stake

/**
 * Disputes between the real daemons on a real chain: a node that cheats (`--cheat wrong-output`)
 * against the watcher at p = 1, an honest node against a lying challenger played by the test, and
 * each daemon killed with SIGKILL in the middle of a game and restarted. Two nodes share the load by
 * job id (`--share`): a new job with an odd id goes to the cheating node, and a job it loses to a
 * dispute reopens for the honest one.
 */
describe("end to end: disputes (node, cheating node and watcher daemons on a local chain)", () => {
  let sys: E2eSystem;
  let client: RefuteClient;
  let honest: DaemonProcess;
  let cheat: DaemonProcess;
  let watcher: DaemonProcess;
  const account = (i: number) => sys.accounts[i];
  const user = () => account(1);
  const honestNode = () => account(2);
  const cheatingNode = () => account(3);
  const watcherAccount = () => account(4);
  const liarAccount = () => account(5);
  const startHonest = (name: string) => sys.startDaemon(name, "node", honestNode(), { args: ["--stake", STAKE, "--share", "0/2"] });
  const startWatcher = (name: string) => sys.startDaemon(name, "watcher", watcherAccount(), { args: ["--sampling-rate", "1"] });

  before(async () => {
    sys = await E2eSystem.start();
    client = new RefuteClient({ publicClient: sys.publicClient, deployment: sys.deployment });
    honest = startHonest("node-honest");
    cheat = sys.startDaemon("node-cheat", "node", cheatingNode(), { args: ["--stake", STAKE, "--share", "1/2", "--cheat", "wrong-output"] });
    watcher = startWatcher("watcher");
    await Promise.all([honest.ready, cheat.ready, watcher.ready]);
  });
  after(async () => {
    await sys?.stop();
  });

  const game = () => sys.deployment.contracts.disputeGame;
  const reward = () => (COLLATERAL * sys.deployment.parameters.challengerRewardBps) / 10_000n;
  const bond = () => sys.publicClient.readContract({ address: game(), abi: disputeGameAbi, functionName: "bondFor", args: [sys.deployment.model.id] });
  const gameState = async (gameId: Hex) => toGameState(await sys.publicClient.readContract({ address: game(), abi: disputeGameAbi, functionName: "getGame", args: [gameId] }));
  const credits = (holder: "staking" | "game", account: Hex) =>
    holder === "staking"
      ? sys.publicClient.readContract({ address: sys.deployment.contracts.staking, abi: stakingAbi, functionName: "credits", args: [account] })
      : sys.publicClient.readContract({ address: game(), abi: disputeGameAbi, functionName: "credits", args: [account] });

  /** Waits until the watcher claimed its reward for `gameId` and withdrew everything the game owed it: `wei` over all its withdrawals from the game. */
  async function watcherTookHome(gameId: Hex, wei: bigint) {
    await watcher.waitFor("claimed reward", { gameId });
    await waitUntil(
      async () => (await credits("game", watcherAccount().address)) === 0n && watcher.find("withdrew credit", { from: "game" }).reduce((s, r) => s + BigInt(r.wei as string), 0n) === wei,
      `the watcher to withdraw ${wei} wei from the game`,
      [watcher],
    );
    expect(await credits("staking", watcherAccount().address)).to.equal(0n);
  }

  /** Moves past the challenge window once the honest node submitted and the watcher checked `attempt`; waits for the finalisation. */
  async function finaliseByHonestNode(jobId: bigint, attempt: bigint) {
    await honest.waitFor("submitted result", { jobId, attempt });
    await watcher.waitFor("result checked: correct", { jobId, attempt });
    await sys.increaseTime(sys.deployment.parameters.challengeWindow + 1n);
    await honest.waitFor("finalised result", { jobId, attempt });
    return client.finalResult(jobId);
  }

  describe("when a node cheats and the watcher samples every result (p = 1)", () => {
    it("the watcher opens a game, both daemons play it, the node is slashed and the job is served again honestly", async () => {
      const digit = heldOutDigit(7, 0);
      const stakeBefore = await sys.stakeOf(cheatingNode().address);
      const jobId = await sys.classify(user(), digit.input, FEE, COLLATERAL);
      expect(jobId % 2n, "an odd job id: the cheating node's share").to.equal(1n);

      const cheated = await cheat.waitFor("CHEATING: submitted a false result", { jobId, attempt: 1 });
      const opened = await watcher.waitFor("result checked: WRONG, dispute opened", { jobId, attempt: 1 });
      const gameId = opened.gameId as Hex;
      await waitUntil(async () => (await gameState(gameId)).phase === Phase.Resolved, `game ${gameId} to resolve`, [watcher, cheat]);
      const seconds = (Date.now() - Date.parse(cheated.time)) / 1000;
      console.log(`      cheat → slash: ${seconds.toFixed(1)} s from the false submission to GameResolved`);

      await watcher.waitFor("won dispute: node slashed", { gameId, jobId });
      await cheat.waitFor("lost dispute", { gameId, jobId });
      // Both sides played: the node revealed (the output layer is one leaf: no nodes to reveal), the watcher picked and stepped.
      expect(cheat.find("dispute move", { gameId }).map((r) => r.move)).to.deep.equal(["revealRoots", "stateAccumulator", "postSums"]);
      expect(watcher.find("dispute move", { gameId }).map((r) => r.move)).to.deep.equal(["pickRoots", "pickNode", "pickSums", "step"]);

      const ev = await sys.events();
      const [started] = named(ev.game, "GameStarted").filter((e) => e.args.gameId === gameId);
      expect(started.args).to.deep.include({ jobId, attempt: 1, challenger: watcherAccount().address, node: cheatingNode().address });
      const [resolved] = named(ev.game, "GameResolved").filter((e) => e.args.gameId === gameId);
      expect(resolved.args).to.deep.include({ asserterWon: false, resultRejected: true });
      expect(Reason[resolved.args.reason]).to.equal("StepFailed");
      // The whole collateral is slashed once the attempt's only game resolved: the rest to the requester, the reward pool to the game.
      const slashes = named(ev.staking, "StakeSlashed").map((e) => e.args);
      expect(slashes).to.deep.equal([
        { account: cheatingNode().address, to: sys.deployment.contracts.digitClassifier, amount: COLLATERAL - reward() },
        { account: cheatingNode().address, to: game(), amount: reward() },
      ]);
      const reopened = named(ev.market, "JobReopened").filter((e) => e.args.jobId === jobId);
      expect(reopened.map((e) => [e.args.formerNode, e.args.byDispute])).to.deep.equal([[cheatingNode().address, true]]);

      // The collateral is gone from the node's stake; the watcher claimed its reward and took it home with its bond.
      const stakeAfter = await sys.stakeOf(cheatingNode().address);
      expect(stakeBefore.locked).to.equal(0n);
      expect(stakeAfter).to.deep.equal({ free: stakeBefore.free - COLLATERAL, locked: 0n });
      await watcherTookHome(gameId, (await bond()) + reward());
      // The rest waits for the requester, the DigitClassifier, recorded as the job's compensation; it passes it on to the user.
      expect(await credits("staking", sys.deployment.contracts.digitClassifier)).to.equal(COLLATERAL - reward());
      expect(await sys.publicClient.readContract({ address: sys.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: "compensation", args: [jobId] })).to.equal(COLLATERAL - reward());
      await send(sys.actor(user()), { address: sys.deployment.contracts.digitClassifier, abi: digitClassifierAbi, functionName: "claimCompensation", args: [jobId] });
      expect(await sys.publicClient.readContract({ address: sys.deployment.contracts.digitClassifier, abi: digitClassifierAbi, functionName: "owed", args: [user().address] })).to.equal(COLLATERAL - reward());

      // The job reopened as attempt 2, which falls to the honest node; it finalises with the reference output.
      const final = await finaliseByHonestNode(jobId, 2n);
      const expected = referenceOutput(digit.input);
      expect(final).to.deep.include({ attempt: 2n, node: honestNode().address, outputHex: expected, feePaid: true, callbackSucceeded: true });
      const classified = named((await sys.events()).classifier, "DigitClassified").filter((e) => e.args.jobId === jobId);
      expect(classified.map((e) => e.args.digit)).to.deep.equal([argmax(Array.from(new Int8Array(fromHex(expected))))]);
    });
  });

  describe("when the honest node is killed in the middle of a dispute and restarted", () => {
    it("the restarted node rebuilds the game from the chain, steps and wins against a lying challenger", async () => {
      const digit = heldOutDigit(2, 0);
      const jobId = await sys.classify(user(), digit.input, FEE, COLLATERAL);
      expect(jobId % 2n, "an even job id: the honest node's share").to.equal(0n);
      await honest.waitFor("submitted result", { jobId, attempt: 1 });
      await watcher.waitFor("result checked: correct", { jobId, attempt: 1 });

      // The test is a challenger that disputes a correct result and always names the first sub-range, node, element and sums.
      const liar = sys.actor(liarAccount());
      const index = new ChainIndex(sys.publicClient, sys.deployment.contracts, sys.deployment.startBlock);
      await index.sync();
      const indexed = index.job(jobId)!;
      const challenge = await send(liar, { address: game(), abi: disputeGameAbi, functionName: "challenge", args: [jobId, indexed.job], value: await bond() });
      const gameId = await sys.publicClient.readContract({ address: game(), abi: disputeGameAbi, functionName: "gameIdOf", args: [jobId, 1, liarAccount().address] });
      const { blockNumber: startBlock } = await sys.publicClient.getTransactionReceipt({ hash: challenge.hash });
      const { model, commitment } = mnist();
      const trace = TraceProvider.fromInput(model, commitment, digit.input);
      const lie = playLie(sys, liar, gameId, startBlock, trace);

      await honest.waitFor("dispute move", { gameId, move: "revealRoots" });
      await honest.kill();
      expect((await honest.exited).signal).to.equal("SIGKILL");
      expect(await lie.next(), "the challenger picks while the node is down").to.equal("pickRoots");

      honest = startHonest("node-honest-restarted");
      await honest.ready;
      const picks: string[] = ["pickRoots"];
      for (let pick = await lie.next(); pick !== null; pick = await lie.next()) picks.push(pick);
      expect(picks).to.deep.equal(["pickRoots", "pickNode", "pickSums"]);

      expect((await gameState(gameId)).phase).to.equal(Phase.Resolved);
      const [resolved] = named((await sys.events()).game, "GameResolved").filter((e) => e.args.gameId === gameId);
      expect(resolved.args).to.deep.include({ asserterWon: true, resultRejected: false });
      expect(Reason[resolved.args.reason]).to.equal("StepHeld");
      await honest.waitFor("won dispute", { gameId, jobId });
      // Every later move was the restarted process's, the step included: it read its place in the game from the chain.
      expect(honest.find("dispute move", { gameId }).map((r) => r.move)).to.deep.equal(["revealNodes", "stateAccumulator", "postSums", "step"]);
      await honest.waitFor("withdrew credit", { from: "game", wei: await bond() });
      expect(await credits("game", honestNode().address)).to.equal(0n);

      // The result stands: after the window the restarted node finalises it.
      await sys.increaseTime(sys.deployment.parameters.challengeWindow + 1n);
      await honest.waitFor("finalised result", { jobId, attempt: 1 });
      expect(await client.finalResult(jobId)).to.deep.include({ attempt: 1n, node: honestNode().address, outputHex: referenceOutput(digit.input), callbackSucceeded: true });
    });
  });

  describe("when the watcher is killed in the middle of a dispute and restarted", () => {
    it("the restarted watcher finds its game on the chain, plays it to the end, wins and withdraws its reward", async () => {
      const digit = heldOutDigit(9, 0);
      const jobId = await sys.classify(user(), digit.input, FEE, COLLATERAL);
      expect(jobId % 2n).to.equal(1n);
      await cheat.waitFor("CHEATING: submitted a false result", { jobId, attempt: 1 });
      const opened = await watcher.waitFor("result checked: WRONG, dispute opened", { jobId, attempt: 1 });
      const gameId = opened.gameId as Hex;
      await watcher.waitFor("dispute move", { gameId, move: "pickRoots" });
      await watcher.kill();
      const before = watcher.find("dispute move", { gameId }).map((r) => r.move);
      const stakingCredit = await credits("staking", watcherAccount().address);
      expect(stakingCredit, "nothing won before the restart").to.equal(0n);

      watcher = startWatcher("watcher-restarted");
      await watcher.ready;
      await watcher.waitFor("won dispute: node slashed", { gameId, jobId });
      // The first process picked the roots (and maybe the node, before the kill landed); the restarted one played the rest.
      const after = watcher.find("dispute move", { gameId }).map((r) => r.move);
      expect(before[0]).to.equal("pickRoots");
      expect(after, "the restarted process made the last moves").to.include.members(["pickSums", "step"]);
      expect([...before, ...after].filter((m) => m !== "pickNode")).to.deep.equal(["pickRoots", "pickSums", "step"]);
      expect(watcher.find("result checked: WRONG, dispute opened", { jobId }), "no second game on the same result").to.deep.equal([]);

      const [resolved] = named((await sys.events()).game, "GameResolved").filter((e) => e.args.gameId === gameId);
      expect(resolved.args).to.deep.include({ asserterWon: false, resultRejected: true });
      await watcherTookHome(gameId, (await bond()) + reward());

      const final = await finaliseByHonestNode(jobId, 2n);
      expect(final).to.deep.include({ attempt: 2n, node: honestNode().address, outputHex: referenceOutput(digit.input) });
    });
  });
});

/**
 * A challenger that disputes a correct result: each `next()` waits until it is the challenger's turn
 * to pick, makes the pick (always sub-range 0, node 0, element 0, sums 0) and returns its name; null
 * once the game is resolved. It never calls `step`: the honest asserter must.
 */
function playLie(sys: E2eSystem, liar: ChainActor, gameId: Hex, startBlock: bigint, trace: TraceProvider) {
  const game = sys.deployment.contracts.disputeGame;
  const picks = new Set([Phase.PickRoots, Phase.PickNode, Phase.PickSums, Phase.Resolved]);
  return {
    async next(): Promise<string | null> {
      const view = await eventually(
        async () => {
          const v = await readGame(sys.publicClient, game, gameId, startBlock);
          return picks.has(v.state.phase) && v;
        },
        `the challenger's turn in game ${gameId}`,
        WAIT_MS,
      );
      const { state } = view;
      if (state.phase === Phase.Resolved) return null;
      const ctx = { gameId, now: view.now, clockBudget: sys.deployment.parameters.clockBudget, revealed: view.revealed };
      const move: Move = state.phase === Phase.PickRoots ? pickRootsMove(state, trace, ctx, 0) : state.phase === Phase.PickNode ? pickNodeMove(state, trace, ctx, 0, 0) : pickSumsMove(state, ctx, 0);
      await send(liar, { address: game, abi: disputeGameAbi, functionName: move.functionName, args: move.args });
      return move.functionName;
    },
  };
}

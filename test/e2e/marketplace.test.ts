import { expect } from "chai";
import { type Hex, parseEther } from "viem";
import { sampled } from "../../challenger/sampling";
import { heldOutDigit } from "../../client/mnistDigit";
import { digitClassifierAbi } from "../../core/abi";
import { argmax } from "../../core/argmax";
import { fromHex } from "../../core/bytes";
import { Reason } from "../../core/dispute/gameState";
import { type DaemonProcess, E2eSystem, named, referenceOutput, waitUntil } from "../helpers/e2e";
import { type FakeRpc, startFakeRpc } from "../helpers/fakeRpc";

const FEE = parseEther("0.002");
const COLLATERAL = parseEther("0.05");
const STAKE = parseEther("1");
/** Jobs each node gets: job ids alternate between the honest node (even) and the lazy one (odd). */
const JOBS_EACH = 12;
const SAMPLING_RATE = 0.5;
const SAMPLING_SEED = "refute-e2e-sampling-seed-1";
/** Hardhat's test accounts start with 10,000 ETH. */
const INITIAL_BALANCE = parseEther("10000");

/** The watcher's verdict on one (job, attempt), from its log. */
type Verdict = "not sampled" | "correct" | "wrong";
const VERDICT_MSGS: Record<string, Verdict> = { "result not sampled": "not sampled", "result checked: correct": "correct", "result checked: WRONG, dispute opened": "wrong" };

/**
 * The marketplace end to end on a real local chain with the real daemons: a user posts held-out MNIST
 * digits through the DigitClassifier dapp; an honest node serves the jobs with even ids and a lazy node
 * (`--cheat lazy`: random activations, no inference) those with odd ids; a watcher re-executes a
 * sample at p = 0.5 with a fixed seed. Which results it checks must be exactly what
 * challenger/sampling.ts `sampled(seed, jobId, attempt, p)` predicts. The watcher reaches the chain
 * through a loopback proxy, which the last test breaks.
 */
describe("end to end: the marketplace (honest node, lazy node, watcher at p = 0.5 on a local chain)", () => {
  let sys: E2eSystem;
  let honest: DaemonProcess;
  let lazy: DaemonProcess;
  let watcher: DaemonProcess;
  let proxy: FakeRpc;
  const alice = () => sys.accounts[1]; // posts the digits the honest node serves
  const bob = () => sys.accounts[2]; // posts the digits the lazy node serves
  const honestNode = () => sys.accounts[3];
  const lazyNode = () => sys.accounts[4];
  const watcherAccount = () => sys.accounts[5];
  const jobs: { jobId: bigint; input: Int8Array; owner: "alice" | "bob" }[] = [];
  const honestJobs = () => jobs.filter((j) => j.owner === "alice");
  const lazyJobs = () => jobs.filter((j) => j.owner === "bob");
  const isSampled = (jobId: bigint, attempt: bigint) => sampled(SAMPLING_SEED, jobId, attempt, SAMPLING_RATE);

  before(async () => {
    sys = await E2eSystem.start();
    proxy = await startFakeRpc("forward", sys.chain.rpcUrl);
    honest = sys.startDaemon("node-honest", "node", honestNode(), { args: ["--stake", "1", "--share", "0/2"] });
    lazy = sys.startDaemon("node-lazy", "node", lazyNode(), { args: ["--stake", "1", "--share", "1/2", "--cheat", "lazy"] });
    watcher = sys.startDaemon("watcher", "watcher", watcherAccount(), {
      rpcUrl: proxy.url,
      pollMs: 50, // the backoff after failed rounds is pollMs·2^failures: the /health test waits for five
      args: ["--sampling-rate", String(SAMPLING_RATE), "--sampling-seed", SAMPLING_SEED, "--log-level", "debug"],
    });
    await Promise.all([honest.ready, lazy.ready, watcher.ready]);
  });
  after(async () => {
    await sys?.stop();
    await proxy?.close();
  });

  /** The watcher's verdict on `attempt` of `jobId`, once it has one; throws if it logged two. */
  const verdictOf = (jobId: bigint, attempt: bigint): Verdict | undefined => {
    const found = watcher.records.filter((r) => r.msg in VERDICT_MSGS && String(r.jobId) === String(jobId) && String(r.attempt) === String(attempt));
    if (found.length > 1) throw new Error(`the watcher checked attempt ${attempt} of job ${jobId} ${found.length} times`);
    return found[0] && VERDICT_MSGS[found[0].msg];
  };
  const expectedVerdict = (jobId: bigint, attempt: bigint, honestResult: boolean): Verdict => (!isSampled(jobId, attempt) ? "not sampled" : honestResult ? "correct" : "wrong");

  it("serves every posted digit: even job ids by the honest node, odd ones by the lazy node", async () => {
    for (let k = 0; k < 2 * JOBS_EACH; k++) {
      const owner = k % 2 === 0 ? "bob" : "alice";
      const digit = heldOutDigit(Math.floor(k / 2) % 10, owner === "alice" ? 0 : 1);
      const jobId = await sys.classify(owner === "alice" ? alice() : bob(), digit.input, FEE, COLLATERAL);
      expect(jobId).to.equal(BigInt(k + 1));
      jobs.push({ jobId, input: digit.input, owner });
    }
    for (const { jobId } of honestJobs()) await honest.waitFor("submitted result", { jobId, attempt: 1 });
    for (const { jobId } of lazyJobs()) await lazy.waitFor("CHEATING: submitted a false result", { jobId, attempt: 1 });
    const took = (d: DaemonProcess) => d.find("took job").map((r) => BigInt(String(r.jobId)));
    expect(took(lazy)).to.have.members(lazyJobs().map((j) => j.jobId));
    // (the honest node may already have taken a job the lazy node lost to a dispute)
    expect(took(honest).filter((id) => id % 2n === 0n)).to.have.members(honestJobs().map((j) => j.jobId));
  });

  it("re-executes exactly the results sampled(seed, jobId, attempt, p) picks, and disputes the wrong ones among them", async () => {
    const challenged = lazyJobs().filter((j) => isSampled(j.jobId, 1n));
    console.log(`      p = ${SAMPLING_RATE}, seed ${JSON.stringify(SAMPLING_SEED)}: lazy results disputed: jobs ${challenged.map((j) => j.jobId).join(", ")} of ${lazyJobs().length}`);
    expect(challenged.length, "the seed should sample some but not all of the lazy results").to.be.within(1, JOBS_EACH - 1);

    await waitUntil(() => jobs.every((j) => verdictOf(j.jobId, 1n) !== undefined), "the watcher's verdict on every result", [watcher]);
    const verdicts = jobs.map((j) => [j.jobId, verdictOf(j.jobId, 1n)]);
    expect(verdicts).to.deep.equal(jobs.map((j) => [j.jobId, expectedVerdict(j.jobId, 1n, j.owner === "alice")]));

    const games = named((await sys.events()).game, "GameStarted");
    expect(games.map((g) => g.args.jobId)).to.have.members(challenged.map((j) => j.jobId));
    for (const g of games) expect(g.args).to.deep.include({ attempt: 1, challenger: watcherAccount().address, node: lazyNode().address });
  });

  it("slashes every disputed result and lets the honest node serve it again; the unsampled lazy results finalise unchallenged", async () => {
    const challenged = lazyJobs().filter((j) => isSampled(j.jobId, 1n));
    const unchallenged = lazyJobs().filter((j) => !isSampled(j.jobId, 1n));
    for (const { jobId } of challenged) {
      await watcher.waitFor("won dispute: node slashed", { jobId });
      // attempt 2 falls to the honest node; the watcher samples it afresh and finds it correct, or skips it
      await honest.waitFor("submitted result", { jobId, attempt: 2 });
    }
    await waitUntil(() => challenged.every((j) => verdictOf(j.jobId, 2n) !== undefined), "the watcher's verdict on every second attempt", [watcher]);
    expect(challenged.map((j) => verdictOf(j.jobId, 2n))).to.deep.equal(challenged.map((j) => expectedVerdict(j.jobId, 2n, true)));

    const ev = await sys.events();
    const resolved = named(ev.game, "GameResolved");
    expect(resolved.length).to.equal(challenged.length);
    for (const r of resolved) expect({ ...r.args, reason: Reason[r.args.reason] }).to.deep.include({ asserterWon: false, resultRejected: true });
    const slashes = named(ev.staking, "StakeSlashed");
    expect(slashes.length).to.equal(2 * challenged.length);
    expect(slashes.reduce((s, e) => s + e.args.amount, 0n)).to.equal(BigInt(challenged.length) * COLLATERAL);
    for (const e of slashes) expect(e.args.account).to.equal(lazyNode().address);

    // Past every challenge window: all jobs finalise, nothing else is disputed.
    await sys.increaseTime(sys.deployment.parameters.challengeWindow + 1n);
    for (const { jobId } of unchallenged) await lazy.waitFor("finalised result", { jobId, attempt: 1 });
    for (const { jobId } of [...honestJobs(), ...challenged]) await honest.waitFor("finalised result", { jobId });
    const finals = named((await sys.events()).market, "JobFinalized");
    const finalOf = (jobId: bigint) => finals.filter((e) => e.args.jobId === jobId).map((e) => ({ node: e.args.node, attempt: e.args.attempt }));
    for (const { jobId } of unchallenged) expect(finalOf(jobId), `job ${jobId}`).to.deep.equal([{ node: lazyNode().address, attempt: 1 }]);
    for (const { jobId } of challenged) expect(finalOf(jobId), `job ${jobId}`).to.deep.equal([{ node: honestNode().address, attempt: 2 }]);
    expect(named((await sys.events()).game, "GameStarted").length, "no other game").to.equal(challenged.length);
    // The lazy node lost one collateral per disputed result and nothing else.
    expect(await sys.stakeOf(lazyNode().address)).to.deep.equal({ free: STAKE - BigInt(challenged.length) * COLLATERAL, locked: 0n });
  });

  it("finalises the honest results with the reference executor's output and calls the DigitClassifier back; the node is paid every fee", async () => {
    const ev = await sys.events();
    const submitted = named(ev.market, "ResultSubmitted");
    const classified = named(ev.classifier, "DigitClassified");
    const finals = named(ev.market, "JobFinalized");
    const tally = new Map<number, bigint>();
    for (const { jobId, input } of honestJobs()) {
      const expected = referenceOutput(input);
      const results = submitted.filter((e) => e.args.jobId === jobId);
      expect(results.map((e) => [e.args.node, e.args.output]), `job ${jobId}`).to.deep.equal([[honestNode().address, expected]]);
      const [final] = finals.filter((e) => e.args.jobId === jobId);
      expect(final.args, `job ${jobId}`).to.deep.include({ node: honestNode().address, attempt: 1, feePaid: true, callbackSucceeded: true });
      const digit = argmax(Array.from(new Int8Array(fromHex(expected))));
      expect(classified.filter((e) => e.args.jobId === jobId).map((e) => [e.args.user, e.args.digit]), `job ${jobId}`).to.deep.equal([[alice().address, digit]]);
      tally.set(digit, (tally.get(digit) ?? 0n) + 1n);
    }
    for (let d = 0; d < 10; d++) {
      const count = await sys.publicClient.readContract({ address: sys.deployment.contracts.digitClassifier, abi: digitClassifierAbi, functionName: "tally", args: [alice().address, d] });
      expect(count, `alice's tally of ${d}`).to.equal(tally.get(d) ?? 0n);
    }

    // Every fee of a job the honest node finalised went straight to it: its balance is exactly
    // what it started with, less its stake and its gas, plus those fees.
    const paid = finals.filter((e) => e.args.node === honestNode().address);
    expect(paid.every((e) => e.args.feePaid)).to.equal(true);
    const balance = await sys.publicClient.getBalance({ address: honestNode().address });
    const gas = await sys.gasSpentBy(honestNode().address);
    expect(balance).to.equal(INITIAL_BALANCE - STAKE - gas + BigInt(paid.length) * FEE);
    expect(await sys.stakeOf(honestNode().address)).to.deep.equal({ free: STAKE, locked: 0n });
  });

  it("answers /health, /status and /metrics on each running daemon", async () => {
    for (const d of [honest, lazy, watcher]) {
      const api = await d.apiUrl();
      const health = await fetch(`${api}/health`);
      expect(health.status, `${d.name} /health`).to.equal(200);
      expect(await health.json()).to.deep.include({ ok: true, failures: 0 });
      const status = (await (await fetch(`${api}/status`)).json()) as { address: Hex; syncedTo: string };
      expect(BigInt(status.syncedTo)).to.be.greaterThan(sys.deployment.startBlock);
      const metrics = await fetch(`${api}/metrics`);
      expect(metrics.headers.get("content-type")).to.match(/^text\/plain; version=0\.0\.4/);
      expect(await metrics.text()).to.match(/^refute_\w*ticks_total\{ok="true"\} [1-9]/m);
      expect((await fetch(`${api}/nowhere`)).status).to.equal(404);
    }
    const nodeStatus = await (await fetch(`${await honest.apiUrl()}/status`)).json();
    expect(nodeStatus).to.deep.include({ address: honestNode().address, cheat: "none" });
    expect(nodeStatus.jobs).to.have.length(JOBS_EACH + lazyJobs().filter((j) => isSampled(j.jobId, 1n)).length);
    const watcherStatus = await (await fetch(`${await watcher.apiUrl()}/status`)).json();
    expect(watcherStatus).to.deep.include({ address: watcherAccount().address, samplingRate: SAMPLING_RATE });
    expect(watcherStatus.games.map((g: { won: boolean }) => g.won)).to.deep.equal(lazyJobs().filter((j) => isSampled(j.jobId, 1n)).map(() => true));
  });

  it("reports unhealthy on /health while its RPC answers garbage, with a warning for each failed round, and recovers when the RPC is back", async () => {
    const api = await watcher.apiUrl();
    const health = async () => {
      const res = await fetch(`${api}/health`);
      return { status: res.status, body: (await res.json()) as { ok: boolean; failures: number; lastError: { time: string; message: string } | null } };
    };
    proxy.setMode("garbage");
    const sick = await waitUntil(async () => {
      const h = await health();
      return h.status === 503 && h;
    }, "/health to answer 503", [watcher]);
    expect(sick.body.ok).to.equal(false);
    expect(sick.body.failures).to.be.at.least(5);
    expect(sick.body.lastError?.message, "the last error is on /health").to.match(/HTTP request failed/);
    const failed = watcher.find("round failed; backing off");
    expect(failed.length).to.be.at.least(5);
    expect((failed[0].error as { message: string }).message).to.match(/HTTP request failed/);
    expect(JSON.stringify(failed[0].error)).to.include("is not valid JSON");

    proxy.setMode("forward");
    const well = await waitUntil(async () => {
      const h = await health();
      return h.status === 200 && h;
    }, "/health to answer 200 again", [watcher]);
    expect(well.body).to.deep.include({ ok: true, failures: 0 });
    expect(well.body.lastError?.message, "and stays there, with its time, once the daemon is well again").to.match(/HTTP request failed/);
  });
});

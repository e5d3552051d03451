/**
 * `npm run demo`: the whole marketplace on an embedded local chain, in one command. Starts a Hardhat
 * node on a free loopback port, deploys Refute (with the MNIST MLP registered), has a model owner
 * import and register the convolutional MNIST model (models/mnist-cnn) as a graph program with
 * `npm run model`, starts two honest nodes, a node that cheats on purpose and a watcher as separate
 * processes serving both models, posts real held-out digits to the CNN through the SDK and to the
 * MLP through the DigitClassifier dapp, and narrates what happens until every job is final; then a
 * summary.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type Address, type Hex, formatEther, parseEther, parseEventLogs } from "viem";
import { argmax } from "../core/argmax";
import { digitClassifierAbi, disputeGameAbi, graphDisputesAbi, jobMarketAbi, stakingAbi } from "../core/abi";
import { toHex } from "../core/bytes";
import { deploySystem } from "../core/chain/deploy";
import { type Deployment, writeDeployment } from "../core/chain/deployment";
import { type LocalChain, startLocalChain } from "../core/chain/localChain";
import { connectRpc, walletFor } from "../core/chain/rpcClients";
import { initKeccak } from "../core/keccak";
import type { LogRecord } from "../core/service/logger";
import { heldOutDigit } from "../client/mnistDigit";
import { RefuteClient } from "../client/refuteClient";
import { MNIST_MODEL_DIR } from "../core/modelFiles";
import { runModelCli } from "../modelkit/cli";
import { writeMnistSamples } from "./mnist-samples";
import { type Daemon, startDaemon } from "./demo/daemons";
import { table } from "./bench/timing";

const REPO = path.resolve(__dirname, "..");
const STATE_DIR = path.join(REPO, ".demo");
/** Short windows so that the demo ends in about a minute; the contracts' checks still hold. */
const DEMO_PARAMETERS = { challengeWindow: 12n, deliveryWindow: 60n, reopenWindow: 60n, maxDisputeDuration: 300n, clockBudget: 120n, unbondingDelay: 600n };
const FEE = parseEther("0.002");
const COLLATERAL = parseEther("0.05");
/** The digits posted to the MLP (through the DigitClassifier) and to the CNN (through the SDK). */
const LABELS = [3, 7, 1, 4, 9, 2];
const CNN_LABELS = [5, 8, 0];
const CNN_DIR = path.join(STATE_DIR, "mnist-cnn");
const DEADLINE_MS = 240_000;

const tty = process.stdout.isTTY;
const paint = (code: number) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = paint(1);
const dim = paint(2);
const red = paint(31);
const green = paint(32);
const yellow = paint(33);
const cyan = paint(36);
const started = Date.now();
const clock = () => dim(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s]`);
const say = (who: string, text: string) => console.log(`${clock()} ${who.padEnd(9)} ${text}`);
const section = (title: string) => console.log(`\n${bold(title)}`);

/** What the narration learns from the daemons' logs. */
const story = {
  cheats: new Map<string, number>(), // jobId → time of the false submission
  slashes: new Map<string, number>(), // jobId → time the watcher won
  moves: [] as { by: string; move: string; gas: bigint }[],
  servedBy: new Map<string, string>(), // jobId → node that submitted last
};

function narrate(name: string, r: LogRecord): void {
  const f = r as Record<string, unknown>;
  const job = f.jobId === undefined ? "" : `job ${String(f.jobId)}`;
  const who = name === "watcher" ? cyan(name) : name === "node-C" ? red(name) : green(name);
  switch (r.msg) {
    case "took job":
      return say(who, `took ${job}`);
    case "submitted result":
      story.servedBy.set(String(f.jobId), name);
      return say(who, `submitted ${job}: predicts ${argmax(f.output as number[])}`);
    case "CHEATING: submitted a false result":
      story.cheats.set(String(f.jobId), Date.parse(String(r.time)));
      story.servedBy.set(String(f.jobId), name);
      return say(who, red(`submitted ${job} with a FALSE result: predicts ${argmax(f.output as number[])}`));
    case "result checked: correct":
      return say(who, `re-executed ${job}: correct`);
    case "result checked: WRONG, dispute opened":
      return say(who, yellow(`re-executed ${job}: WRONG output → dispute opened (bond ${formatEther(BigInt(String(f.bond)))} ETH)`));
    case "dispute move":
      story.moves.push({ by: name, move: String(f.move), gas: BigInt(String(f.gasUsed)) });
      return say(who, dim(`  ${job} round ${story.moves.length}: ${f.move} (${Number(f.gasUsed).toLocaleString("en-US")} gas)`));
    case "won dispute: node slashed":
      story.slashes.set(String(f.jobId), Date.parse(String(r.time)));
      return say(who, yellow(`won the dispute on ${job} (${String(f.reason)}): node slashed, job reopened`));
    case "lost dispute":
      return say(who, red(`lost the dispute on ${job} (${String(f.reason)}): its collateral is slashed`));
    case "won dispute":
      return say(who, green(`won the dispute on ${job}`));
    case "settled dispute":
      return say(who, dim(`settled the graph game on ${job} (${Number(f.gasUsed).toLocaleString("en-US")} gas): its bond back, the verdict applied`));
    case "finalised result":
      return say(who, `finalised ${job}: fee ${formatEther(BigInt(String(f.fee)))} ETH paid`);
    case "claimed reward":
      return say(who, dim(`claimed its share of the reward pool for ${job}`));
    case "withdrew credit":
      return say(who, dim(`withdrew ${formatEther(BigInt(String(f.wei)))} ETH from the ${f.from}`));
    case "staked":
      return say(who, dim(`staked ${formatEther(BigInt(String(f.wei)))} ETH`));
    default:
      if (r.level === "warn" || r.level === "error") say(who, yellow(`${r.level}: ${r.msg}${f.action ? ` [${String(f.action)}]` : ""}${f.error ? ` (${shortError(f.error)})` : ""}`));
  }
}

async function main(): Promise<void> {
  console.log(bold("Refute demo: verifiable MNIST inference (an MLP and a convolutional network) with fraud proofs, on a local chain"));
  await initKeccak();
  section("1. Chain and contracts");
  let chain: LocalChain | undefined;
  const daemons: Daemon[] = [];
  const stopAll = async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await chain?.stop();
  };
  const watchdog = setTimeout(() => {
    console.error(red(`the demo did not finish in ${DEADLINE_MS / 1000} s`));
    void stopAll().finally(() => process.exit(1));
  }, DEADLINE_MS);
  try {
    chain = await startLocalChain();
    const clients = await connectRpc(chain.rpcUrl, { pollingIntervalMs: 200 });
    const { publicClient } = clients;
    // A block a second, as on a real chain (the windows and clocks read block time). Not a block per
    // transaction as well: each such block's time is one second past the last, so a burst of moves would
    // run the chain's clock ahead of the wall clock and close challenge windows before a watcher can act.
    await publicClient.request({ method: "evm_setIntervalMining" as never, params: [1000] as never });
    say("chain", `Hardhat node at ${chain.rpcUrl} (chain ${chain.chainId}), a block every second`);
    const [deployer, user, nodeA, nodeB, nodeC, watcher, owner] = chain.accounts;
    const deployment = await deploySystem({ publicClient, walletClient: walletFor(clients, deployer.privateKey), parameters: DEMO_PARAMETERS });
    await publicClient.request({ method: "evm_setAutomine" as never, params: [false] as never });
    mkdirSync(STATE_DIR, { recursive: true });
    const deploymentFile = path.join(STATE_DIR, "deployment.json");
    writeDeployment(deploymentFile, deployment);
    say("deploy", `JobMarket ${deployment.contracts.jobMarket}, DisputeGame ${deployment.contracts.disputeGame}`);
    say("deploy", `MNIST MLP registered as model ${deployment.model.id} (root ${deployment.model.root.slice(0, 18)}…); challenge window ${deployment.parameters.challengeWindow} s`);

    section("2. A model owner brings a convolutional network (npm run model -- import, register)");
    const cnn = await bringCnn(chain.rpcUrl, deploymentFile, owner.privateKey);

    section("3. Two honest nodes, one cheating node, one watcher (separate processes), serving both models");
    const common = ["--rpc-url", chain.rpcUrl, "--deployment", deploymentFile, "--poll-ms", "250", "--models", `${MNIST_MODEL_DIR},${CNN_DIR}`];
    const spec = (name: string, kind: "node" | "watcher", key: Hex, args: string[]) =>
      startDaemon({ name, kind, args: [...common, ...args], env: { REFUTE_PRIVATE_KEY: key }, onLog: narrate, onOther: (n, line) => say(n, dim(line)) });
    daemons.push(spec("node-A", "node", nodeA.privateKey, ["--stake", "1", "--share", "0/3"]));
    daemons.push(spec("node-B", "node", nodeB.privateKey, ["--stake", "1", "--share", "1/3"]));
    daemons.push(spec("node-C", "node", nodeC.privateKey, ["--stake", "1", "--share", "2/3", "--cheat", "wrong-output"]));
    daemons.push(spec("watcher", "watcher", watcher.privateKey, ["--sampling-rate", "1"]));
    for (const d of daemons) say(d.name, `ready, API at ${(await d.ready).api as string}`);
    const actors: [string, Address][] = [["user", user.address], ["node-A", nodeA.address], ["node-B", nodeB.address], ["node-C", nodeC.address], ["watcher", watcher.address]];
    const before = await balances(publicClient, deployment, actors);

    section("4. A user classifies real held-out digits: the MLP through the DigitClassifier dapp, the CNN through the SDK");
    const userWallet = walletFor(clients, user.privateKey);
    const client = new RefuteClient({ publicClient, walletClient: userWallet, deployment });
    const jobs: { jobId: bigint; model: string; label: number; testIndex: number }[] = [];
    for (const [k, label] of LABELS.entries()) {
      const digit = heldOutDigit(label, k);
      const expiresAt = (await publicClient.getBlock()).timestamp + 600n;
      const hash = await userWallet.writeContract({ address: deployment.contracts.digitClassifier, abi: digitClassifierAbi, functionName: "classify", args: [toHex(new Uint8Array(digit.input.buffer)), COLLATERAL, Number(expiresAt)], value: FEE });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      const [requested] = parseEventLogs({ abi: digitClassifierAbi, logs: receipt.logs, eventName: "DigitRequested" });
      jobs.push({ jobId: requested.args.jobId, model: "MLP", label, testIndex: digit.testIndex });
      say("user", `posted job ${requested.args.jobId} (MLP): a handwritten ${label} (held-out digit #${digit.testIndex}), fee ${formatEther(FEE)} ETH`);
    }
    const cnnCollateral = [COLLATERAL, await client.minCollateral(cnn.modelId)].reduce((a, b) => (a > b ? a : b));
    for (const [k, label] of CNN_LABELS.entries()) {
      const digit = heldOutDigit(label, k, CNN_DIR);
      const { jobId } = await client.postJob({ modelId: cnn.modelId, input: digit.input, fee: FEE, collateral: cnnCollateral });
      jobs.push({ jobId, model: "CNN", label, testIndex: digit.testIndex });
      say("user", `posted job ${jobId} (CNN): a handwritten ${label} (held-out digit #${digit.testIndex}), fee ${formatEther(FEE)} ETH, collateral ${formatEther(cnnCollateral)} ETH`);
    }

    section("5. Results, disputes and finality");
    const finals = await Promise.all(
      jobs.map(async (j) => {
        const result = await client.waitFor(j.jobId, "final", { timeoutMs: DEADLINE_MS });
        const predicted = argmax(Array.from(result.output));
        const callback = j.model === "MLP" ? `, callback ${result.callbackSucceeded ? "ok" : "failed"}` : "";
        say("user", `job ${j.jobId} (${j.model}) final: predicted ${predicted}, label ${j.label} ${predicted === j.label ? green("✓") : red("✗")} (attempt ${result.attempt}${callback})`);
        return { ...j, predicted, attempt: result.attempt, node: result.node };
      }),
    );
    // Let the daemons collect what they are owed (they claim rewards and withdraw every round).
    await settle(publicClient, deployment, actors.slice(1).map(([, a]) => a));
    // The slashed collateral owed to the requester reached the DigitClassifier; it passes each job's share on to the user who paid.
    let compensated = 0n;
    for (const j of jobs.filter((job) => job.model === "MLP")) {
      const owed = await publicClient.readContract({ address: deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: "compensation", args: [j.jobId] });
      if (owed === 0n) continue;
      const hash = await userWallet.writeContract({ address: deployment.contracts.digitClassifier, abi: digitClassifierAbi, functionName: "claimCompensation", args: [j.jobId] });
      await publicClient.waitForTransactionReceipt({ hash });
      compensated += owed;
      say("user", `claimed ${formatEther(owed)} ETH of the cheater's collateral for job ${j.jobId} through the DigitClassifier`);
    }
    // A CNN job's requester is the user itself: its share of a slashed collateral waits in Staking, and the SDK withdraws everything owed.
    const owedToUser = await client.withdraw();
    if (owedToUser.total > 0n) say("user", `withdrew ${formatEther(owedToUser.total)} ETH owed to it (the DigitClassifier ${formatEther(owedToUser.consumer)}, the cheater's collateral for CNN jobs ${formatEther(owedToUser.staking)})`);
    const after = await balances(publicClient, deployment, actors);

    section("6. Summary");
    const nodeName = new Map(actors.map(([n, a]) => [a.toLowerCase(), n]));
    console.log(table(["job", "model", "digit", "predicted", "", "final attempt served by", "attempts"], finals.map((f) => [String(f.jobId), f.model, f.label, f.predicted, f.predicted === f.label ? "✓" : "✗", nodeName.get(f.node.toLowerCase()) ?? f.node, String(f.attempt)])));
    const correct = finals.filter((f) => f.predicted === f.label).length;
    console.log(`\n${correct} of ${finals.length} digits classified correctly (held-out accuracy: the MLP 95.3 %, the integer CNN ${cnn.accuracy}).`);
    for (const [jobId, t] of story.cheats) {
      const slash = story.slashes.get(jobId);
      console.log(slash ? `Cheat on job ${jobId}: caught and slashed ${((slash - t) / 1000).toFixed(1)} s after the false submission.` : red(`Cheat on job ${jobId}: not slashed!`));
    }
    const gas = story.moves.reduce((s, m) => s + m.gas, 0n);
    const largest = story.moves.reduce((m, x) => (x.gas > m ? x.gas : m), 0n);
    console.log(`Disputes: ${story.moves.length} moves by the two sides in ${story.slashes.size} games (plus the challenges and settlements), ${gas.toLocaleString("en-US")} gas in all, the largest move ${largest.toLocaleString("en-US")}.`);
    console.log(
      `\n${table(
        ["account", "ETH balance change", "stake change", "what happened"],
        actors.map(([name], i) => [
          name,
          signed(after[i].eth - before[i].eth),
          signed(after[i].free + after[i].locked - before[i].free - before[i].locked),
          name === "user" ? "paid fees, got the cheater's collateral less the rewards (and paid gas)" : name === "node-C" ? "cheated: collateral slashed" : name === "watcher" ? "bond back + reward (minus gas)" : "earned fees (minus gas)",
        ]),
      )}`,
    );
    const classifierHeld = await publicClient.getBalance({ address: deployment.contracts.digitClassifier });
    console.log(`The DigitClassifier (the MLP jobs' requester) passed ${formatEther(compensated)} ETH of slashed collateral on to its user and holds ${formatEther(classifierHeld)} ETH.`);
    console.log(`\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } finally {
    clearTimeout(watchdog);
    await stopAll();
  }
}

async function balances(publicClient: RefuteClient["publicClient"], deployment: Deployment, actors: readonly [string, Address][]) {
  return Promise.all(
    actors.map(async ([, address]) => {
      const [free, locked] = await publicClient.readContract({ address: deployment.contracts.staking, abi: stakingAbi, functionName: "accountOf", args: [address] });
      return { eth: await publicClient.getBalance({ address }), free, locked };
    }),
  );
}

/** Waits (up to 20 s) until no daemon has anything left to withdraw from either game or staking. */
async function settle(publicClient: RefuteClient["publicClient"], deployment: Deployment, accounts: readonly Address[]) {
  const { disputeGame, graphDisputes, staking } = deployment.contracts;
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    const owed = await Promise.all(
      accounts.flatMap((a) => [
        publicClient.readContract({ address: disputeGame, abi: disputeGameAbi, functionName: "credits", args: [a] }),
        publicClient.readContract({ address: graphDisputes, abi: graphDisputesAbi, functionName: "credits", args: [a] }),
        publicClient.readContract({ address: staking, abi: stakingAbi, functionName: "credits", args: [a] }),
      ]),
    );
    // The games hold nothing once every bond is back and every reward claimed and withdrawn.
    const held = await Promise.all([disputeGame, graphDisputes].map((address) => publicClient.getBalance({ address })));
    if (held.every((w) => w === 0n) && owed.every((w) => w === 0n)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The model owner's part, as a model owner runs it: MNIST samples written (`npm run mnist:samples`),
 * the CNN's float.onnx imported into a graph folder with its quantisation report
 * (`npm run model -- import`), then registered (`npm run model -- register`). Returns the new model id
 * and the integer held-out accuracy the report printed.
 */
async function bringCnn(rpcUrl: string, deploymentFile: string, ownerKey: Hex): Promise<{ modelId: bigint; accuracy: string }> {
  const samples = path.join(STATE_DIR, "mnist-samples");
  writeMnistSamples(samples);
  const model = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const status = await runModelCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
    if (status !== 0) throw new Error(`npm run model -- ${args[0]} failed (${status}): ${err.join("; ")}`);
    return { out, err };
  };
  const float = path.join(REPO, "models", "mnist-cnn", "float.onnx");
  const s = (name: string) => path.join(samples, name);
  const imported = await model(["import", float, "--calibration", s("calibration.npy"), "--held-out", s("held-out.npy"), "--labels", s("held-out-labels.json"), "--out", CNN_DIR, "--name", "mnist-cnn", "--force"]);
  const line = (what: string) => imported.out.find((l) => l.trim().startsWith(what))?.trim().replace(/\s+/g, " ") ?? `${what} ?`;
  const accuracy = /integer accuracy (\S+ %)/.exec(line("integer accuracy"))?.[1] ?? "?";
  say("owner", `imported models/mnist-cnn/float.onnx (conv, batch norm, max pool, Gemm) into a graph program: ${line("float accuracy")}, ${line("integer accuracy")} on 2,000 held-out digits`);
  const registered = await model(["register", CNN_DIR, "--rpc-url", rpcUrl, "--deployment", deploymentFile, "--private-key", ownerKey]);
  const modelId = BigInt(registered.out[0]);
  say("owner", `registered it as model ${modelId}: ${dim(registered.err.at(-1)?.replace(/^registered \S+ /, "") ?? "")}`);
  return { modelId, accuracy };
}

/** The first line of a logged error's message. */
function shortError(error: unknown): string {
  const message = (error as { message?: unknown }).message;
  return typeof message === "string" ? message.split("\n")[0] : JSON.stringify(error);
}

function signed(wei: bigint): string {
  return `${wei >= 0n ? "+" : "−"}${formatEther(wei >= 0n ? wei : -wei)}`;
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(red(`demo failed: ${(e as Error).stack ?? e}`));
    process.exit(1);
  },
);


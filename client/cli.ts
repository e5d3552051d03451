/**
 * The Refute command line for dapp users: post a job, read its status, wait for its result.
 * Progress goes to stderr, one JSON line with the result to stdout.
 *
 *   npm run cli -- post --rpc-url URL --private-key 0x… --deployment deployment.json --digit 3
 *   npm run cli -- status 1 --rpc-url URL --deployment deployment.json
 *   npm run cli -- wait 1 --final --rpc-url URL --deployment deployment.json
 *   npm run cli -- finalize 1 --rpc-url URL --private-key 0x… --deployment deployment.json
 *   npm run cli -- expire 1 --rpc-url URL --private-key 0x… --deployment deployment.json
 *   npm run cli -- credits 0xAccount --rpc-url URL --deployment deployment.json
 *   npm run cli -- withdraw --rpc-url URL --private-key 0x… --deployment deployment.json
 */
import { privateKeyToAccount } from "viem/accounts";
import { Command } from "commander";
import { type Address, type Hex, isAddress } from "viem";
import { type CliIo, PRIVATE_KEY_ENV, UsageError, cliProgram, parseEthAmount, parseUint, privateKeyOption, required, runMain, runProgram } from "../core/chain/cliOptions";
import path from "node:path";
import { readRegisteredModel } from "../core/chain/modelRegistration";
import { sizeOf } from "../core/graph/program";
import { MNIST_PIXELS } from "../core/mnist";
import { MNIST_MODEL_DIR } from "../core/modelFiles";
import { folderRoot, readModelFolder } from "../core/modelFolders";
import { type Deployment, readDeployment } from "../core/chain/deployment";
import { connectRpc, walletFor } from "../core/chain/rpcClients";
import { toJsonValue } from "../core/service/json";
import { describeState, resultJson, stateJson } from "./cliOutput";
import { finalResultOf, softResultOf } from "./jobHistory";
import { heldOutDigit } from "./mnistDigit";
import { WaitTimeoutError } from "./errors";
import { type FinalizableInfo, RefuteClient } from "./refuteClient";
import type { JobUpdate } from "./watchJob";

export const DEFAULT_FEE = "0.001";

type Values = {
  readonly rpcUrl?: string;
  readonly deployment?: string;
  readonly poll?: string;
  readonly privateKey?: string;
  readonly digit?: string;
  readonly modelDir?: string;
  readonly sample?: string;
  readonly inputHex?: string;
  readonly fee?: string;
  readonly collateral?: string;
  readonly ttl?: string;
  readonly model?: string;
  readonly consumer?: string;
  readonly callbackGas?: string;
  readonly final?: boolean;
  readonly finalize?: boolean;
  readonly timeout?: string;
};

/** Runs the CLI on `argv` (without node and script); returns the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  return runProgram(() => buildProgram(io), argv, io);
}

/**
 * The commands. commander reads the command line (commands, options, arguments, help, "did you
 * mean"); the values are checked in the actions, each by the rule every command shares
 * (core/chain/cliOptions.ts), so that a bad one is named with what it must be.
 */
function buildProgram(io: CliIo): Command {
  const program = cliProgram("npm run cli --", io).description(
    "Post inference jobs, follow them to their soft and final results, and move the money the contracts hold for you.\n" +
      "Progress goes to stderr, one JSON line with the result to stdout. Exit status: 0 done, 1 failed (the error is on stderr), 2 bad command line.",
  );
  /** A command with the options every command has; `key`: whether it sends transactions. */
  const command = (name: string, description: string, key: "sends" | "reads") => {
    const c = program
      .command(name)
      .description(description)
      .option("--rpc-url <url>", "JSON-RPC endpoint (required)")
      .option("--deployment <file>", "deployment file written by npm run deploy (required)")
      .option("--poll <ms>", "poll interval in ms", "500");
    return key === "sends" ? c.option("--private-key <0x…>", `the account's private key (or set ${PRIVATE_KEY_ENV})`) : c;
  };
  const jobId = (raw: string) => {
    const id = parseUint("jobId", raw);
    if (id === 0n) throw new UsageError("jobId must be at least 1 (job ids start at 1)");
    return id;
  };
  const account = (name: string) => (raw: string) => {
    if (!isAddress(raw)) throw new UsageError(`${name} takes one account address, got ${JSON.stringify(raw)}`);
    return raw;
  };

  command("post", "post a job", "sends")
    .option("--digit <D>", "a held-out MNIST test digit with label D (0..9), for the MNIST model (or the model of --model-dir)")
    .option("--sample <N>", "which digit D: the N-th of the held-out set (default 0)")
    .option("--input-hex <0x…>", "or the input bytes (one int8 per byte)")
    .option("--fee <amount>", `fee; amounts: 0.001, 0.001eth, 1000wei (default ${DEFAULT_FEE} ETH)`)
    .option("--collateral <amount>", "collateral the node must lock (default: the model's minimum)")
    .option("--ttl <seconds>", "how long nodes may take the job", "3600")
    .option("--model <id>", "model id (default: the deployment's model)")
    .option("--model-dir <folder>", "with --digit and --model: the model's folder (Dense or graph, e.g. the demo's .demo/mnist-cnn), whose input scale quantises the digit; checked against the registered root")
    .option("--consumer <address>", "contract to call back with the final result, with")
    .option("--callback-gas <n>", "the gas for that callback")
    .action((o: Values) => post(o, io));
  command("status", "the job now: status, fields, soft and final result", "reads")
    .argument("<jobId>")
    .action((id: string, o: Values) => status(jobId(id), o, io));
  command("wait", "wait for the soft result (or the final one with --final)", "reads")
    .argument("<jobId>")
    .option("--final", "wait for the final result instead of the soft one: the challenge window has to end and someone has to finalise the result (the node that served it does, to be paid)")
    .option("--finalize", "with --final: finalise it yourself once the window has ended and nobody has (needs --private-key; costs one transaction)")
    .option("--private-key <0x…>", `the key --finalize sends with (or set ${PRIVATE_KEY_ENV})`)
    .option("--timeout <seconds>", "give up after this long", "600")
    .action((id: string, o: Values) => wait(jobId(id), o, io));
  command("finalize", "finalise a result whose challenge window has ended (anyone may; the node that served it normally does)", "sends")
    .argument("<jobId>")
    .action((id: string, o: Values) => finalize(jobId(id), o, io));
  command("cancel", "cancel an open job of yours; its fee is credited back", "sends")
    .argument("<jobId>")
    .action((id: string, o: Values) => cancel(jobId(id), o, io));
  command("expire", "close a job nobody took before its expiry; its fee is credited to the requester (anyone may)", "sends")
    .argument("<jobId>")
    .action((id: string, o: Values) => expire(jobId(id), o, io));
  command("reclaim", "reopen a job whose node missed its delivery deadline; the node's collateral goes to the requester (anyone may)", "sends")
    .argument("<jobId>")
    .action((id: string, o: Values) => reclaim(jobId(id), o, io));
  command("credits", "what each contract owes the account: market, staking, the Dense and the graph dispute games, example consumer (wei)", "reads")
    .argument("<address>")
    .action((a: string, o: Values) => credits(account("credits")(a), o, io));
  command("withdraw", "withdraw everything the contracts owe the key's account", "sends").action((o: Values) => withdraw(o, io));
  command("stake", "add to the key's free stake (node operators)", "sends")
    .argument("<ETH>", "an amount: 0.5, 0.5eth, 1000wei")
    .action((amount: string, o: Values) => changeStake("stake", parseEthAmount("amount", amount), o, io));
  command("unstake", "start unbonding that much free stake", "sends")
    .argument("<ETH>", "an amount: 0.5, 0.5eth, 1000wei")
    .action((amount: string, o: Values) => changeStake("unstake", parseEthAmount("amount", amount), o, io));
  command("withdraw-stake", "withdraw the unbonded stake once its delay has passed", "sends").action((o: Values) => withdrawStake(o, io));
  command("stake-of", "an account's free, locked and unbonding stake", "reads")
    .argument("<address>")
    .action((a: string, o: Values) => stakeOf(account("stake-of")(a), o, io));
  return program;
}

/** The command's connection options, checked before anything is read or sent. */
function connectionOf(values: Values, withKey: boolean) {
  const rpc = required("--rpc-url", values.rpcUrl);
  const deployment = required("--deployment", values.deployment);
  const key = withKey ? privateKeyOption("--private-key", values.privateKey, PRIVATE_KEY_ENV) : undefined;
  const pollingIntervalMs = Number(parseUint("--poll", values.poll!));
  if (pollingIntervalMs === 0) throw new UsageError("--poll must be at least 1 ms");
  return { rpc, deployment, key, pollingIntervalMs };
}

/** A client on the RPC for the deployment, signing with the key if there is one. */
async function connect(c: ReturnType<typeof connectionOf>, deployment: Deployment): Promise<RefuteClient> {
  const clients = await connectRpc(c.rpc, { pollingIntervalMs: c.pollingIntervalMs });
  return new RefuteClient({ publicClient: clients.publicClient, walletClient: c.key ? walletFor(clients, c.key) : undefined, deployment });
}

/**
 * The input to post: a held-out MNIST digit (--digit) or raw bytes (--input-hex), exactly one. A digit
 * is quantised for the model folder `modelDir` (the MNIST reference model's by default), which must
 * commit to `modelRoot`, the root registered for the model posted to, and take 784 pixels.
 */
function inputOf(values: Values, modelRoot: Hex, modelDir = MNIST_MODEL_DIR): { input: Int8Array | Hex; digit?: { label: number; testIndex: number } } {
  const hex = values.inputHex;
  if ((values.digit === undefined) === (hex === undefined)) throw new UsageError("post needs exactly one of --digit or --input-hex");
  if (hex !== undefined) {
    if (values.sample !== undefined) throw new UsageError("--sample goes with --digit, not --input-hex");
    if (!/^0x([0-9a-fA-F]{2})+$/.test(hex)) throw new UsageError(`--input-hex must be 0x followed by an even number of hex digits, got ${JSON.stringify(hex.length > 24 ? `${hex.slice(0, 24)}…` : hex)}`);
    return { input: hex as Hex };
  }
  const label = Number(parseUint("--digit", values.digit!));
  if (label > 9) throw new UsageError(`--digit must be 0..9, got ${values.digit}`);
  const folder = readModelFolder(modelDir);
  const root = folderRoot(folder);
  if (root.toLowerCase() !== modelRoot.toLowerCase()) {
    const whose = values.modelDir === undefined ? "the MNIST reference model's" : `that of ${folder.files.dir}`;
    throw new UsageError(`--digit posts an MNIST digit, but the model's root ${modelRoot} is not ${whose} (${root})${values.modelDir === undefined ? "; give the model's folder with --model-dir" : ""}`);
  }
  const pixels = folder.kind === "graph" ? sizeOf(folder.files.program.inputShape) : folder.files.model.inputSize;
  if (pixels !== MNIST_PIXELS) throw new UsageError(`--digit posts ${MNIST_PIXELS} pixels, but the model in ${folder.files.dir} takes ${pixels} inputs`);
  const d = heldOutDigit(label, Number(parseUint("--sample", values.sample ?? "0")), modelDir);
  return { input: d.input, digit: { label: d.label, testIndex: d.testIndex } };
}

async function post(values: Values, io: CliIo): Promise<void> {
  const c = connectionOf(values, true);
  const fee = parseEthAmount("--fee", values.fee ?? DEFAULT_FEE);
  const collateral = values.collateral !== undefined ? parseEthAmount("--collateral", values.collateral) : undefined;
  const ttlSeconds = parseUint("--ttl", values.ttl!);
  const consumer = values.consumer;
  if (consumer !== undefined && !isAddress(consumer)) throw new UsageError(`--consumer must be an address, got ${JSON.stringify(consumer)}`);
  if ((consumer === undefined) !== (values.callbackGas === undefined)) throw new UsageError("--consumer and --callback-gas go together");
  const callbackGasLimit = values.callbackGas !== undefined ? parseUint("--callback-gas", values.callbackGas) : undefined;
  const deployment = readDeployment(c.deployment);
  const modelId = values.model !== undefined ? parseUint("--model", values.model) : deployment.model.id;
  if (values.modelDir !== undefined && (values.digit === undefined || values.model === undefined)) throw new UsageError("--model-dir goes with --digit and --model");
  if (modelId !== deployment.model.id && values.digit !== undefined && values.modelDir === undefined) throw new UsageError("--digit with another model than the deployment's needs its folder: --model-dir");
  const client = await connect(c, deployment);
  const modelRoot = modelId === deployment.model.id ? deployment.model.root : (await readRegisteredModel(client.publicClient, deployment.contracts.modelRegistry, modelId)).root;
  const { input, digit } = inputOf(values, modelRoot, values.modelDir === undefined ? undefined : path.resolve(values.modelDir));
  const params = { modelId, input, fee, collateral: collateral ?? (await client.minCollateral(modelId)), ttlSeconds, consumer: consumer as Address | undefined, callbackGasLimit };
  io.err(`posting to job market ${deployment.contracts.jobMarket} on chain ${deployment.chainId}${digit ? ` a held-out digit ${digit.label} (test index ${digit.testIndex})` : ""}, fee ${fee} wei`);
  const posted = await client.postJob(params);
  io.err(`posted job ${posted.jobId} in ${posted.txHash} (block ${posted.blockNumber})`);
  io.out(JSON.stringify(toJsonValue({ jobId: posted.jobId, txHash: posted.txHash, blockNumber: posted.blockNumber, status: "Open", digit: digit ?? null })));
}

async function credits(account: Address, values: Values, io: CliIo): Promise<void> {
  const c = connectionOf(values, false);
  const client = await connect(c, readDeployment(c.deployment));
  io.out(JSON.stringify(toJsonValue({ account, ...(await client.credits(account)) })));
}

async function withdraw(values: Values, io: CliIo): Promise<void> {
  const c = connectionOf(values, true);
  const client = await connect(c, readDeployment(c.deployment));
  const paid = await client.withdraw();
  io.err(paid.total === 0n ? "nothing to withdraw" : `withdrew ${paid.total} wei`);
  io.out(JSON.stringify(toJsonValue(paid)));
}

async function status(jobId: bigint, values: Values, io: CliIo): Promise<void> {
  const c = connectionOf(values, false);
  const client = await connect(c, readDeployment(c.deployment));
  const state = await client.getJob(jobId);
  io.err(describeState(state));
  io.out(JSON.stringify(stateJson(state, softResultOf(state), finalResultOf(state))));
}

async function wait(jobId: bigint, values: Values, io: CliIo): Promise<void> {
  if (values.finalize && !values.final) throw new UsageError("--finalize goes with --final");
  if (values.privateKey !== undefined && !values.finalize) throw new UsageError("--private-key goes with --finalize (wait sends nothing otherwise)");
  const c = connectionOf(values, Boolean(values.finalize));
  const timeoutS = parseUint("--timeout", values.timeout!);
  const client = await connect(c, readDeployment(c.deployment));
  const awaited = values.final ? "final" : "soft";
  io.err(`waiting up to ${timeoutS} s for the ${awaited} result of job ${jobId}`);
  const options = {
    timeoutMs: Number(timeoutS) * 1000,
    onProgress: (u: JobUpdate) => io.err(describeState(u.state)),
    finalize: Boolean(values.finalize),
    // Without --finalize, a few seconds for the node to finalise before saying that nobody has.
    graceSeconds: values.finalize ? 0 : NOT_FINALISED_GRACE_S,
    onFinalizable: (f: FinalizableInfo) =>
      io.err(f.finalizing ? `job ${jobId}: challenge window ended at ${isoTime(f.since)} with no dispute open; finalising it` : notFinalisedYet(jobId, f.since, f.overdueSeconds)),
  };
  try {
    const result = values.final ? await client.waitFor(jobId, "final", options) : await client.waitFor(jobId, "soft", options);
    io.out(JSON.stringify(resultJson(result)));
  } catch (e) {
    if (!(e instanceof WaitTimeoutError) || !values.final) throw e;
    // Say why a final wait timed out when the job could have been final: nobody finalised it.
    const f = await client.finality(jobId).catch(() => undefined);
    if (f?.kind === "finalizable") throw new Error(`${e.message}; ${notFinalisedYet(jobId, f.since, f.overdueSeconds)}`);
    if (f?.kind === "in window") throw new Error(`${e.message}, in its challenge window until ${isoTime(f.endsAt)} (${f.secondsLeft} s more); wait with a --timeout past it`);
    if (f?.kind === "disputed") throw new Error(`${e.message}, with ${f.openDisputes} dispute game(s) open on its result`);
    throw e;
  }
}

/** Seconds `wait --final` lets a finalisable result wait for its node before saying nobody has finalised it. */
export const NOT_FINALISED_GRACE_S = 5;

/** A finalisable job that nobody has finalised: what it means and what to run. */
function notFinalisedYet(jobId: bigint, since: bigint, overdueSeconds: bigint): string {
  return (
    `job ${jobId}: its challenge window ended at ${isoTime(since)} (${overdueSeconds} s ago) with no dispute open, but nobody has finalised it yet ` +
    `(the node that served it normally does within seconds, to be paid); anyone may: npm run cli -- finalize ${jobId} --private-key 0x… (or wait --final --finalize)`
  );
}

async function finalize(jobId: bigint, values: Values, io: CliIo): Promise<void> {
  const c = connectionOf(values, true);
  const client = await connect(c, readDeployment(c.deployment));
  // Say plainly why it cannot be finalised yet rather than with the market's revert.
  const f = await client.finality(jobId);
  if (f.kind === "in window") throw new Error(`finalize: job ${jobId} is in its challenge window until ${isoTime(f.endsAt)} (${f.secondsLeft} s from now); it can be finalised after that`);
  if (f.kind === "disputed") throw new Error(`finalize: job ${jobId} has ${f.openDisputes} dispute game(s) open on its result; it can be finalised only if the node wins them all`);
  io.err(`finalising job ${jobId}`);
  const r = await client.finalize(jobId);
  io.err(`finalised job ${jobId} in ${r.txHash}: fee ${r.feePaid ? "paid to the node" : "credited to the node"}, consumer callback ${r.callbackSucceeded ? "ok (or no consumer)" : "failed"}`);
  io.out(JSON.stringify(toJsonValue({ jobId, ...r })));
}

async function cancel(jobId: bigint, values: Values, io: CliIo): Promise<void> {
  const c = connectionOf(values, true);
  const client = await connect(c, readDeployment(c.deployment));
  const txHash = await client.cancelJob(jobId);
  io.err(`cancelled job ${jobId} in ${txHash}; its fee is credited to you (npm run cli -- withdraw)`);
  io.out(JSON.stringify(toJsonValue({ jobId, txHash, status: "Cancelled" })));
}

async function expire(jobId: bigint, values: Values, io: CliIo): Promise<void> {
  const c = connectionOf(values, true);
  const client = await connect(c, readDeployment(c.deployment));
  const r = await client.expire(jobId);
  io.err(`expired job ${jobId} in ${r.txHash}; its fee of ${r.refunded} wei is credited to the requester ${r.requester} (npm run cli -- withdraw)`);
  io.out(JSON.stringify(toJsonValue({ jobId, ...r, status: "Expired" })));
}

async function reclaim(jobId: bigint, values: Values, io: CliIo): Promise<void> {
  const c = connectionOf(values, true);
  const client = await connect(c, readDeployment(c.deployment));
  const r = await client.reclaim(jobId);
  io.err(`reclaimed job ${jobId} in ${r.txHash}: node ${r.formerNode} missed its deadline, ${r.compensation} wei of its collateral goes to the requester ${r.requester}; the job is open again until ${isoTime(r.expiresAt)}`);
  io.out(JSON.stringify(toJsonValue({ jobId, ...r, status: "Open" })));
}

async function changeStake(cmd: "stake" | "unstake", wei: bigint, values: Values, io: CliIo): Promise<void> {
  const c = connectionOf(values, true);
  const deployment = readDeployment(c.deployment);
  const client = await connect(c, deployment);
  const txHash = cmd === "stake" ? await client.stake(wei) : await client.requestUnstake(wei);
  const account = privateKeyToAccount(c.key!).address;
  const stake = await client.stakeOf(account);
  io.err(cmd === "stake" ? `staked ${wei} wei in ${txHash}` : `unbonding ${wei} wei (requested in ${txHash}); withdraw it with withdraw-stake after ${isoTime(stake.unbondingReadyAt)}`);
  io.out(JSON.stringify(toJsonValue({ account, txHash, ...stake })));
}

async function withdrawStake(values: Values, io: CliIo): Promise<void> {
  const c = connectionOf(values, true);
  const client = await connect(c, readDeployment(c.deployment));
  const txHash = await client.withdrawUnstaked();
  io.err(`withdrew the unbonded stake in ${txHash}`);
  io.out(JSON.stringify(toJsonValue({ txHash })));
}

async function stakeOf(account: Address, values: Values, io: CliIo): Promise<void> {
  const c = connectionOf(values, false);
  const client = await connect(c, readDeployment(c.deployment));
  io.out(JSON.stringify(toJsonValue({ account, ...(await client.stakeOf(account)) })));
}

function isoTime(unixSeconds: bigint): string {
  return new Date(Number(unixSeconds) * 1000).toISOString();
}

if (require.main === module) runMain(runCli);

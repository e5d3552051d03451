import { task, types } from "hardhat/config";
import type { Artifact, HardhatRuntimeEnvironment } from "hardhat/types";
import type { Abi, AbiFunction, AbiParameter, Address, Hash, Hex } from "viem";
import type { Deployment } from "../core/chain/deployment";
import type { ArgContext } from "./abiArgs";
import type { TaskChain, TaskIo } from "./common";

/**
 * `npx hardhat refute:deploy-consumer --network localhost DrawTheDigit`: deploys a consumer contract
 * compiled in the project, its constructor's market, model id and input scale filled in from the
 * deployment file, and records it in the consumers file (tasks/consumerFile.ts).
 *
 * `npx hardhat refute:call --network localhost DrawTheDigit draw --args '["@digit 0", "@minCollateral", "@now+3600"]' --value 0.001`:
 * calls a function of a deployed contract (a consumer by name, a Refute contract, or --address): a view
 * prints what it returns, a transaction its events and the id of any job it posted.
 */

/** How `--args` is explained in both tasks' help. */
const ARGS_HELP =
  "Arguments as JSON: an array in order, or an object by parameter name; integers as numbers, decimal strings or amounts (\"0.05eth\"); " +
  "words filled in: @market, @sender, @modelId, @inputScale, @minCollateral, @now+SECONDS, @digit D[/N]";

export interface DeployConsumerTaskArgs {
  readonly contract: string;
  readonly args?: string;
  readonly value?: string;
  readonly deployment: string;
  readonly out: string;
  readonly rpcUrl?: string;
  readonly privateKey?: string;
  readonly noCompile: boolean;
}

export interface CallTaskArgs {
  readonly contract: string;
  readonly function: string;
  readonly args?: string;
  readonly value?: string;
  readonly address?: string;
  readonly deployment: string;
  readonly consumers: string;
  readonly rpcUrl?: string;
  readonly privateKey?: string;
}

export interface DeployedConsumerResult {
  readonly contract: string;
  readonly address: Address;
  readonly args: readonly unknown[];
  readonly transactionHash: Hash;
  readonly blockNumber: bigint;
}

export interface CallResult {
  /** What a view or pure function returned. */
  readonly result?: unknown;
  readonly transactionHash?: Hash;
  readonly blockNumber?: bigint;
  /** Jobs the transaction posted to the deployment's market. */
  readonly jobIds: readonly bigint[];
  /** The transaction's events, decoded where the contract's or Refute's ABIs know them. */
  readonly events: readonly { address: Address; eventName: string; args: unknown }[];
}

task("refute:deploy-consumer", "Deploys a consumer contract against the deployment (market, model id filled in) and records its address")
  .addPositionalParam("contract", "The contract's name (or fully qualified name), e.g. DrawTheDigit", undefined, types.string)
  .addOptionalParam("args", `Constructor arguments instead of, or besides, those filled in. ${ARGS_HELP}`, undefined, types.string)
  .addOptionalParam("value", "ETH sent with the deployment (a payable constructor)", undefined, types.string)
  .addOptionalParam("deployment", "The deployment file", "deployment.json", types.string)
  .addOptionalParam("out", "The consumers file to record the address in", "consumers.json", types.string)
  .addOptionalParam("rpcUrl", "A JSON-RPC URL to use instead of --network's", undefined, types.string)
  .addOptionalParam("privateKey", "The deployer's key (default: the network's first account; or set REFUTE_PRIVATE_KEY)", undefined, types.string)
  .addFlag("noCompile", "Do not compile the contracts first")
  .setAction(async (args: DeployConsumerTaskArgs, hre) => refuteDeployConsumer(args, hre));

task("refute:call", "Calls a function of a deployed consumer or Refute contract; prints its value, or its events and job id")
  .addPositionalParam("contract", "The contract's name, e.g. DrawTheDigit (or JobMarket, Staking, … of the deployment)", undefined, types.string)
  .addPositionalParam("function", "The function, e.g. draw", undefined, types.string)
  .addOptionalParam("args", ARGS_HELP, undefined, types.string)
  .addOptionalParam("value", "ETH sent with the call, e.g. the fee (0.001, 0.001eth, 1000wei)", undefined, types.string)
  .addOptionalParam("address", "The contract's address, instead of looking it up by name", undefined, types.string)
  .addOptionalParam("deployment", "The deployment file", "deployment.json", types.string)
  .addOptionalParam("consumers", "The consumers file refute:deploy-consumer wrote", "consumers.json", types.string)
  .addOptionalParam("rpcUrl", "A JSON-RPC URL to use instead of --network's", undefined, types.string)
  .addOptionalParam("privateKey", "The sender's key (default: the network's first account; or set REFUTE_PRIVATE_KEY)", undefined, types.string)
  .setAction(async (args: CallTaskArgs, hre) => refuteCall(args, hre));

/** A compiled contract of the project; a name not found is one line naming the nearest known one. */
async function artifactOf(hre: HardhatRuntimeEnvironment, name: string): Promise<Artifact> {
  const { taskError } = await import("./common");
  const { closest } = await import("../core/closest");
  try {
    return await hre.artifacts.readArtifact(name);
  } catch (e) {
    const names = await hre.artifacts.getAllFullyQualifiedNames().catch(() => [] as string[]);
    const near = closest(name, [...new Set(names.map((n) => n.split(":").pop()!))]);
    const ambiguous = /multiple artifacts/i.test((e as Error).message);
    if (ambiguous) throw taskError(`there are several contracts named ${name}; give its fully qualified name: ${names.filter((n) => n.endsWith(`:${name}`)).join(", ")}`);
    throw taskError(`no compiled contract ${name} in this project (${hre.config.paths.artifacts})${near ? `; did you mean ${near}?` : ""}`);
  }
}

/** The `@` words' sources for `deployment` on `chain`, sending as `sender()`. */
async function argContext(chain: TaskChain, deployment: Deployment, sender: () => Promise<Address>): Promise<ArgContext> {
  const { RefuteClient } = await import("../client/refuteClient");
  const { ChainClock } = await import("../core/chain/chainTime");
  const client = new RefuteClient({ publicClient: chain.clients.publicClient, deployment });
  const clock = new ChainClock(chain.clients.publicClient);
  return { deployment, sender, minCollateral: () => client.minCollateral(), now: () => clock.now() };
}

/** The word that fills constructor parameter `p` from the deployment, if any. */
function fillWord(p: AbiParameter): string | undefined {
  const name = (p.name ?? "").replace(/^_+|_+$/g, "");
  const contract = /^contract (\w+)$/.exec(p.internalType ?? "")?.[1]?.replace(/^I(?=[A-Z])/, "");
  if (p.type === "address") {
    if (contract === "JobMarket" || /^(job)?market$/i.test(name)) return "@market";
    if (contract === "ModelRegistry" || /^(model)?registry$/i.test(name)) return "@modelRegistry";
    if (contract === "Staking" || /^staking$/i.test(name)) return "@staking";
    if (contract === "DisputeGame" || /^(dispute)?game$/i.test(name)) return "@disputeGame";
  }
  if (/^uint\d*$/.test(p.type)) {
    if (/^modelId$/i.test(name)) return "@modelId";
    if (/^inputScale$/i.test(name)) return "@inputScale";
  }
  return undefined;
}

/** The task's action: deploys, records, prints `{"contract":…,"address":…}` on stdout. */
export async function refuteDeployConsumer(args: DeployConsumerTaskArgs, hre: HardhatRuntimeEnvironment, io?: TaskIo): Promise<DeployedConsumerResult> {
  const common = await import("./common");
  const { consoleIo, connectChain, deploymentFor, jsonLine, resolvePath, revertMessage, runTask, senderOf, taskError } = common;
  const { convertArg, describeParam, namedArg, parseArgsJson, showArg } = await import("./abiArgs");
  const { recordConsumer } = await import("./consumerFile");
  const { parseEthAmount } = await import("../core/chain/cliOptions");
  const { REFUTE_ABIS } = await import("../core/abi");
  const { encodeDeployData, getAddress } = await import("viem");
  const { err, out } = io ?? consoleIo;
  return runTask(async () => {
    const given = parseArgsJson(args.args);
    const value = args.value !== undefined ? parseEthAmount("--value", args.value) : undefined;
    if (!args.noCompile) await hre.run("compile", { quiet: true });
    const artifact = await artifactOf(hre, args.contract);
    const name = artifact.contractName;
    if (Object.keys(artifact.linkReferences ?? {}).length > 0) throw taskError(`${name} needs libraries linked (${Object.keys(artifact.linkReferences).join(", ")}); refute:deploy-consumer deploys contracts without libraries`);
    if (artifact.bytecode === "0x" || artifact.bytecode === "") throw taskError(`${name} has no bytecode: it is abstract or an interface`);
    const abi = artifact.abi as Abi;
    const ctor = abi.find((i) => i.type === "constructor") as { inputs: readonly AbiParameter[]; stateMutability: string } | undefined;
    const inputs = ctor?.inputs ?? [];
    if (value !== undefined && ctor?.stateMutability !== "payable") throw taskError(`--value: ${name}'s constructor is not payable`);

    const chain = await connectChain(hre, args);
    const deployment = await deploymentFor(args.deployment, chain);
    const wallet = await senderOf(chain, args);
    const ctx = await argContext(chain, deployment, async () => wallet.account.address);

    // Each argument: given (in order, or by name), or filled in from the deployment.
    const raw: { value: unknown; from: string }[] = [];
    if (Array.isArray(given)) {
      if (given.length !== inputs.length) throw taskError(`${name}'s constructor takes ${inputs.length} argument(s) (${inputs.map(describeParam).join(", ") || "none"}), --args gives ${given.length}`);
      given.forEach((v) => raw.push({ value: v, from: "--args" }));
    } else {
      const named = given ?? {};
      const known = inputs.map((p) => p.name ?? "");
      for (const key of Object.keys(named)) {
        if (!inputs.some((p) => namedArg({ [key]: true }, p).found)) throw taskError(`--args names ${JSON.stringify(key)}, which is no parameter of ${name}'s constructor (${known.join(", ") || "none"})`);
      }
      for (const [i, p] of inputs.entries()) {
        const arg = namedArg(named, p);
        if (arg.found) {
          raw.push({ value: arg.value, from: "--args" });
          continue;
        }
        const word = fillWord(p);
        if (word === undefined) {
          throw taskError(`${name}'s constructor argument ${describeParam(p, i)} cannot be filled in from the deployment; pass it: --args '{"${p.name || i}": …}' (or every argument as a JSON array)`);
        }
        raw.push({ value: word, from: word });
      }
    }
    const ctorArgs: unknown[] = [];
    for (const [i, p] of inputs.entries()) ctorArgs.push(await convertArg(p, raw[i].value, ctx, `${name} constructor argument ${describeParam(p, i)}`));

    const shown = inputs.map((p, i) => `${p.name || `#${i + 1}`} = ${showArg(ctorArgs[i])}${raw[i].from === "--args" ? "" : ` (${raw[i].from})`}`);
    err(`deploying ${name} (${artifact.sourceName}) on chain ${chain.clients.chain.id} from ${wallet.account.address}${shown.length ? ` with ${shown.join(", ")}` : ""}`);
    const bytecode = artifact.bytecode as Hex;
    const errorsAbi = [...abi, ...Object.values(REFUTE_ABIS).flat()] as Abi;
    try {
      // A constructor that reverts is refused here, with its error named, before any gas is spent.
      await chain.clients.publicClient.call({ account: wallet.account, data: encodeDeployData({ abi, bytecode, args: ctorArgs }), value });
    } catch (e) {
      throw taskError(revertMessage(`deploying ${name}`, e, errorsAbi), e);
    }
    let hash: Hash;
    try {
      hash = await wallet.deployContract({ abi, bytecode, args: ctorArgs, value } as never);
    } catch (e) {
      throw taskError(revertMessage(`deploying ${name}`, e, errorsAbi), e);
    }
    const receipt = await chain.clients.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success" || !receipt.contractAddress) throw taskError(`deploying ${name}: transaction ${hash} reverted`);
    const address = getAddress(receipt.contractAddress);
    err(`deployed ${name} at ${address} in ${hash} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`);
    const outFile = resolvePath(args.out);
    const { replaced } = recordConsumer(outFile, deployment, name, { address, args: ctorArgs, transactionHash: hash, blockNumber: receipt.blockNumber });
    err(`recorded ${name} in ${outFile}${replaced ? " (it was for another deployment: started afresh)" : ""}`);
    const result = { contract: name, address, args: ctorArgs, transactionHash: hash, blockNumber: receipt.blockNumber };
    out(jsonLine(result));
    return result;
  });
}

/** The address of `name`: --address, the consumers file, or the deployment's own contracts. */
async function addressOf(args: CallTaskArgs, name: string, deployment: Deployment): Promise<Address> {
  const { addressArg, resolvePath, taskError } = await import("./common");
  const { consumersMatch, readConsumers } = await import("./consumerFile");
  if (args.address !== undefined) return addressArg("--address", args.address);
  const file = resolvePath(args.consumers);
  const consumers = readConsumers(file);
  const own: Record<string, Address> = {
    ModelRegistry: deployment.contracts.modelRegistry,
    Staking: deployment.contracts.staking,
    JobMarket: deployment.contracts.jobMarket,
    DisputeGame: deployment.contracts.disputeGame,
    GraphDisputes: deployment.contracts.graphDisputes,
    GraphDisputeGame: deployment.contracts.graphDisputeGame,
    DigitClassifier: deployment.contracts.digitClassifier,
  };
  const recorded = consumers?.contracts[name];
  if (recorded) {
    if (!consumersMatch(consumers!, deployment)) throw taskError(`${file} is for chain ${consumers!.chainId} and market ${consumers!.jobMarket}, not this deployment's (chain ${deployment.chainId}, market ${deployment.contracts.jobMarket}); deploy ${name} again with npx hardhat refute:deploy-consumer ${name}`);
    return recorded.address;
  }
  if (own[name]) return own[name];
  throw taskError(`no address for ${name}: not in ${file}${consumers ? ` (it has ${Object.keys(consumers.contracts).join(", ") || "none"})` : ""}, nor a contract of the deployment; deploy it with npx hardhat refute:deploy-consumer ${name}, or pass --address`);
}

/** The task's action: a view's value, or the transaction with its events and the ids of the jobs it posted. */
export async function refuteCall(args: CallTaskArgs, hre: HardhatRuntimeEnvironment, io?: TaskIo): Promise<CallResult> {
  const { consoleIo, connectChain, deploymentFor, jsonLine, revertMessage, runTask, senderOf, taskError } = await import("./common");
  const { convertArg, describeParam, namedArg, parseArgsJson, showArg } = await import("./abiArgs");
  const { parseEthAmount } = await import("../core/chain/cliOptions");
  const { REFUTE_ABIS, jobMarketAbi } = await import("../core/abi");
  const { closest } = await import("../core/closest");
  const { decodeEventLog } = await import("viem");
  const { toJsonValue } = await import("../core/service/json");
  const { err, out } = io ?? consoleIo;
  return runTask(async () => {
    const given = parseArgsJson(args.args);
    const value = args.value !== undefined ? parseEthAmount("--value", args.value) : undefined;
    const artifact = await artifactOf(hre, args.contract);
    const name = artifact.contractName;
    const abi = artifact.abi as Abi;
    const functions = abi.filter((i): i is AbiFunction => i.type === "function");
    const candidates = functions.filter((f) => f.name === args.function);
    if (candidates.length === 0) {
      const near = closest(args.function, [...new Set(functions.map((f) => f.name))]);
      throw taskError(`${name} has no function ${args.function}${near ? `; did you mean ${near}?` : `; it has ${[...new Set(functions.map((f) => f.name))].join(", ")}`}`);
    }
    const count = Array.isArray(given) ? given.length : given ? Object.keys(given).length : 0;
    const matching = candidates.filter((f) => f.inputs.length === count);
    if (matching.length !== 1) {
      throw taskError(`${name}.${args.function} takes ${candidates.map((f) => `(${f.inputs.map(describeParam).join(", ")})`).join(" or ")}; --args gives ${count} argument(s)`);
    }
    const fn = matching[0];
    const payable = fn.stateMutability === "payable";
    const view = fn.stateMutability === "view" || fn.stateMutability === "pure";
    if (value !== undefined && !payable) throw taskError(`--value: ${name}.${fn.name} is not payable`);

    const chain = await connectChain(hre, args);
    const deployment = await deploymentFor(args.deployment, chain);
    const address = await addressOf(args, name, deployment);
    const wallet = view ? undefined : await senderOf(chain, args);
    const ctx = await argContext(chain, deployment, async () => (wallet ?? (await senderOf(chain, args))).account.address);
    const callArgs: unknown[] = [];
    for (const [i, p] of fn.inputs.entries()) {
      const where = `${name}.${fn.name} argument ${describeParam(p, i)}`;
      let raw: unknown;
      if (Array.isArray(given)) raw = given[i];
      else {
        const arg = namedArg(given ?? {}, p);
        if (!arg.found) throw taskError(`${where} is missing from --args`);
        raw = arg.value;
      }
      callArgs.push(await convertArg(p, raw, ctx, where));
    }
    const what = `${name}.${fn.name}(${callArgs.map(showArg).join(", ")})`;
    const { publicClient } = chain.clients;
    const errorsAbi = [...abi, ...Object.values(REFUTE_ABIS).flat()] as Abi;

    if (view) {
      let returned: unknown;
      try {
        returned = await publicClient.readContract({ address, abi: [fn], functionName: fn.name, args: callArgs } as never);
      } catch (e) {
        throw taskError(revertMessage(`${name}.${fn.name}`, e, errorsAbi), e);
      }
      err(`${what} at ${address} = ${showArg(returned)}`);
      out(jsonLine({ contract: name, address, function: fn.name, result: returned }));
      return { result: returned, jobIds: [], events: [] };
    }

    let hash: Hash;
    try {
      const { request } = await publicClient.simulateContract({ address, abi: [fn], functionName: fn.name, args: callArgs, value, account: wallet!.account } as never);
      hash = await wallet!.writeContract(request as never);
    } catch (e) {
      throw taskError(revertMessage(`${name}.${fn.name}`, e, errorsAbi), e);
    }
    err(`sent ${what} to ${address}${value !== undefined ? ` with ${value} wei` : ""} from ${wallet!.account.address}: ${hash}`);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw taskError(`${name}.${fn.name}: transaction ${hash} reverted`);
    const events: { address: Address; eventName: string; args: unknown }[] = [];
    const jobIds: bigint[] = [];
    for (const log of receipt.logs) {
      const abis = log.address.toLowerCase() === address.toLowerCase() ? [abi, ...Object.values(REFUTE_ABIS)] : [...Object.values(REFUTE_ABIS), abi];
      for (const candidate of abis) {
        try {
          const decoded = decodeEventLog({ abi: candidate as Abi, data: log.data, topics: log.topics });
          events.push({ address: log.address as Address, eventName: decoded.eventName ?? "?", args: decoded.args });
          break;
        } catch {
          // not this ABI's event
        }
      }
      if (log.address.toLowerCase() !== deployment.contracts.jobMarket.toLowerCase()) continue;
      try {
        const posted = decodeEventLog({ abi: jobMarketAbi, data: log.data, topics: log.topics });
        if (posted.eventName === "JobPosted") jobIds.push(posted.args.jobId);
      } catch {
        // another market event
      }
    }
    err(`mined in block ${receipt.blockNumber} (gas ${receipt.gasUsed})`);
    for (const e of events) err(`  ${e.eventName}(${Object.entries((e.args ?? {}) as Record<string, unknown>).map(([k, v]) => `${k}=${showArg(toJsonValue(v))}`).join(", ")})`);
    if (jobIds.length > 0) err(`posted job ${jobIds.join(", ")}; follow it with npx hardhat refute:wait ${jobIds[0]} --final`);
    out(jsonLine({ contract: name, address, function: fn.name, transactionHash: hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, jobId: jobIds.length === 1 ? jobIds[0] : undefined, jobIds, events: events.map((e) => e.eventName) }));
    return { transactionHash: hash, blockNumber: receipt.blockNumber, jobIds, events };
  });
}

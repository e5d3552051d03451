import path from "node:path";
import { HardhatPluginError } from "hardhat/plugins";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { type Abi, type AbiParameter, type Address, decodeErrorResult, getAddress, isAddress } from "viem";
import { CONSOLE_IO, type CliIo, PRIVATE_KEY_ENV } from "../core/chain/cliOptions";
import { decodeError, revertDataOf } from "../core/chain/contractError";
import { type Deployment, readDeployment } from "../core/chain/deployment";
import { connectProvider, providerAccounts, walletForAccount } from "../core/chain/providerClients";
import { type RefuteWalletClient, type RpcClients, checkPrivateKey, connectRpc, walletFor } from "../core/chain/rpcClients";
import { toJsonValue } from "../core/service/json";

/**
 * What the Refute tasks share (tasks/*.ts load it when they run, so that `npx hardhat` stays quick):
 * viem clients on the selected network's provider (or on `--rpc-url`), the account that sends, the
 * deployment file, errors as one line, and the output convention of the CLI (client/README.md):
 * progress on stderr, one JSON line with the result on stdout.
 */

/** The name Hardhat prints errors under: `Error in plugin refute: <message>`. */
export const PLUGIN = "refute";

/** Where a task prints, as the CLI does: `out` gets the one JSON line of the result, `err` the progress. */
export type TaskIo = CliIo;
export const consoleIo: TaskIo = CONSOLE_IO;

/** An error Hardhat prints as one line, without a stack trace: `Error in plugin refute: <message>`. */
export function taskError(message: string, cause?: unknown): HardhatPluginError {
  return new HardhatPluginError(PLUGIN, message, cause instanceof Error ? cause : undefined);
}

/** Runs a task's body; any error comes out as a {@link taskError} with the first line of its message. */
export async function runTask<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (HardhatPluginError.isHardhatPluginError(e)) throw e;
    const error = decodeError(e);
    throw taskError(firstLine(error.message), e);
  }
}

export function firstLine(text: string): string {
  return text.split("\n").find((l) => l.trim() !== "")?.trim() ?? text;
}

/** The options every task that talks to a chain takes. */
export interface ChainArgs {
  /** A JSON-RPC URL to use instead of `--network`'s provider. */
  readonly rpcUrl?: string;
  /** Sends with this key instead of the network's first account. */
  readonly privateKey?: string;
}

export interface TaskChain {
  readonly clients: RpcClients;
  /** What the chain is called in messages: `network localhost`, or the URL. */
  readonly name: string;
  /** Whether the chain lives only as long as this process (Hardhat's in-process network). */
  readonly ephemeral: boolean;
}

/** viem clients on `--rpc-url`, or else on the selected Hardhat network's provider. */
export async function connectChain(hre: HardhatRuntimeEnvironment, args: ChainArgs): Promise<TaskChain> {
  const inProcess = hre.network.name === "hardhat";
  if (args.rpcUrl !== undefined && args.rpcUrl !== "") {
    return { clients: await connectRpc(args.rpcUrl, { pollingIntervalMs: 200 }), name: args.rpcUrl, ephemeral: false };
  }
  const url = (hre.network.config as { url?: string }).url;
  const name = `network ${hre.network.name}${url ? ` at ${url}` : ""}`;
  try {
    const clients = await connectProvider(hre.network.provider, { name, pollingIntervalMs: inProcess ? 10 : 200 });
    return { clients, name, ephemeral: inProcess };
  } catch (e) {
    // Hardhat's HH108 ("Cannot connect to the network …"): nothing listens at the network's URL.
    if (/HH108/.test((e as Error).message)) throw taskError(`cannot connect to ${name}: nothing answers there; is \`npx hardhat node\` (or \`npm run chain\`) running?`, e);
    throw taskError(firstLine((e as Error).message), e);
  }
}

/**
 * The wallet the task sends with: `--private-key` (or REFUTE_PRIVATE_KEY, as the CLI reads it), else
 * the network's first account (Hardhat's configured accounts; a `hardhat node`'s unlocked ones).
 */
export async function senderOf(chain: TaskChain, args: ChainArgs): Promise<RefuteWalletClient> {
  const key = args.privateKey || process.env[PRIVATE_KEY_ENV];
  if (key) {
    try {
      return walletFor(chain.clients, checkPrivateKey(key, args.privateKey ? "--private-key" : PRIVATE_KEY_ENV));
    } catch (e) {
      throw taskError((e as Error).message);
    }
  }
  const [first] = await providerAccounts(chain.clients);
  if (!first) throw taskError(`${chain.name} has no accounts to send from; pass --private-key 0x… (or set ${PRIVATE_KEY_ENV})`);
  return walletForAccount(chain.clients, first);
}

/** A path as the user gave it, resolved against the working directory. */
export function resolvePath(file: string): string {
  return path.resolve(process.cwd(), file);
}

/** The deployment file, checked to be for the chain the task talks to, and its market to be there. */
export async function deploymentFor(file: string, chain: TaskChain): Promise<Deployment> {
  const resolved = resolvePath(file);
  let deployment: Deployment;
  try {
    deployment = readDeployment(resolved);
  } catch (e) {
    const missing = /cannot read deployment file/.test((e as Error).message);
    throw taskError(`${firstLine((e as Error).message)}${missing ? " (deploy with npx hardhat refute:deploy, or pass --deployment FILE)" : ""}`);
  }
  if (deployment.chainId !== chain.clients.chain.id) {
    throw taskError(`${resolved} is for chain ${deployment.chainId}, but ${chain.name} is chain ${chain.clients.chain.id}; pick the right --network (or --deployment)`);
  }
  // A chain restarted since the deployment (a new `hardhat node`, the in-process network) has the same id but none of the contracts.
  const code = await chain.clients.publicClient.getCode({ address: deployment.contracts.jobMarket });
  if (code === undefined || code === "0x") {
    throw taskError(`${chain.name} has no contract at the JobMarket address of ${resolved} (${deployment.contracts.jobMarket}): the file is from another run of the chain; deploy again with npx hardhat refute:deploy`);
  }
  return deployment;
}

/** One JSON line: bigints as decimal strings, bytes as hex (core/service/json.ts). */
export function jsonLine(value: unknown): string {
  return JSON.stringify(toJsonValue(value));
}

/**
 * A revert as one line: the error decoded against `abi` (a consumer's own errors) when it declares it,
 * else against every Refute contract's (core/chain/contractError.ts).
 */
export function revertMessage(what: string, e: unknown, abi: Abi): string {
  const data = revertDataOf(e);
  if (data !== undefined) {
    try {
      const decoded = decodeErrorResult({ abi, data });
      const inputs = decoded.abiItem.type === "error" ? (decoded.abiItem.inputs as readonly AbiParameter[]) : [];
      const args = (decoded.args ?? []).map((v, i) => `${inputs[i]?.name || i}=${typeof v === "bigint" ? v : JSON.stringify(toJsonValue(v))}`);
      return `${what} reverted: ${decoded.errorName}(${args.join(", ")})`;
    } catch {
      // not one of the contract's own errors
    }
  }
  const decoded = decodeError(e);
  const message = firstLine(decoded.message);
  return message.startsWith(what) ? message : `${what} failed: ${message}`;
}

/** The address as given, checksummed; throws naming the flag otherwise. */
export function addressArg(flag: string, value: string): Address {
  if (!isAddress(value)) throw taskError(`${flag} must be a 0x-prefixed 20-byte address (checksummed if mixed-case), got ${JSON.stringify(value)}`);
  return getAddress(value);
}

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { type Address, type Hash, getAddress, isAddress } from "viem";
import type { Deployment } from "../core/chain/deployment";
import { toJsonValue } from "../core/service/json";
import { taskError } from "./common";

/**
 * The consumers file (`consumers.json` by default): the contracts `refute:deploy-consumer` deployed
 * against one deployment, by contract name, so that `refute:call` finds them by name. It names the
 * chain and the market it belongs to; a file of another deployment is replaced, never mixed in.
 *
 *   { "version": 1, "chainId": 31337, "jobMarket": "0x…",
 *     "contracts": { "DrawTheDigit": { "address": "0x…", "args": ["0x…", "1", "7874015748031496"], "transactionHash": "0x…", "blockNumber": "17" } } }
 */

export interface DeployedConsumer {
  readonly address: Address;
  /** The constructor's arguments as sent (integers as decimal strings). */
  readonly args: unknown;
  readonly transactionHash: Hash;
  readonly blockNumber: bigint;
}

export interface ConsumersFile {
  readonly version: 1;
  readonly chainId: number;
  readonly jobMarket: Address;
  readonly contracts: Record<string, DeployedConsumer>;
}

/** The file's contents, or undefined when there is none. Throws naming the file when it is malformed. */
export function readConsumers(file: string): ConsumersFile | undefined {
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw taskError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const o = json as Partial<Record<keyof ConsumersFile, unknown>>;
  if (typeof o !== "object" || o === null || o.version !== 1 || typeof o.chainId !== "number" || typeof o.jobMarket !== "string" || !isAddress(o.jobMarket) || typeof o.contracts !== "object" || o.contracts === null) {
    throw taskError(`${file} is not a consumers file (version 1 with chainId, jobMarket and contracts)`);
  }
  const contracts: Record<string, DeployedConsumer> = {};
  for (const [name, c] of Object.entries(o.contracts as Record<string, Record<string, unknown>>)) {
    if (typeof c?.address !== "string" || !isAddress(c.address)) throw taskError(`${file}: contracts.${name}.address must be an address`);
    contracts[name] = { address: getAddress(c.address), args: c.args, transactionHash: c.transactionHash as Hash, blockNumber: BigInt(String(c.blockNumber ?? 0)) };
  }
  return { version: 1, chainId: o.chainId, jobMarket: getAddress(o.jobMarket), contracts };
}

/** Whether the file belongs to `deployment` (its chain and market). */
export function consumersMatch(file: ConsumersFile, deployment: Deployment): boolean {
  return file.chainId === deployment.chainId && file.jobMarket.toLowerCase() === deployment.contracts.jobMarket.toLowerCase();
}

/**
 * Records `name` in the file for `deployment`; a file of another deployment is started afresh.
 * Returns whether an older file was replaced.
 */
export function recordConsumer(file: string, deployment: Deployment, name: string, consumer: DeployedConsumer): { replaced: boolean } {
  const existing = readConsumers(file);
  const replaced = existing !== undefined && !consumersMatch(existing, deployment);
  const contracts = existing && !replaced ? { ...existing.contracts } : {};
  contracts[name] = consumer;
  const content: ConsumersFile = { version: 1, chainId: deployment.chainId, jobMarket: deployment.contracts.jobMarket, contracts };
  writeFileSync(file, `${JSON.stringify(toJsonValue(content), null, 2)}\n`);
  return { replaced };
}

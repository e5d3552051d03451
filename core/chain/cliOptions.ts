import { type ParseArgsConfig, parseArgs } from "node:util";
import type { Hex } from "viem";
import { AMOUNT_SYNTAX, parseAmount } from "../amount";
import { closest } from "../closest";
import { checkPrivateKey } from "./rpcClients";

/**
 * Command-line values shared by every Refute command that talks to a chain (deploy script, SDK CLI,
 * and later the node and watcher): each check names the flag and the value it refuses.
 */

/** The environment variable commands read a private key from when `--private-key` is not given. */
export const PRIVATE_KEY_ENV = "REFUTE_PRIVATE_KEY";

/** A bad command line; commands print it with their usage hint and exit with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The value of a required flag; throws {@link UsageError} naming the flag when it is missing. */
export function required<T>(flag: string, value: T | undefined): T {
  if (value === undefined || value === "") throw new UsageError(`${flag} is required`);
  return value;
}

/** A non-negative decimal integer. */
export function parseUint(flag: string, value: string): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(value)) throw new UsageError(`${flag} must be a non-negative decimal integer, got ${JSON.stringify(value)}`);
  return BigInt(value);
}

/** An amount in the one syntax of every command (core/amount.ts: 0.01, 0.01eth, 0.01 ether, 10000wei); returns wei. */
export function parseEthAmount(flag: string, value: string): bigint {
  const amount = parseAmount(value);
  if ("problem" in amount) throw new UsageError(`${flag} must be an amount (${AMOUNT_SYNTAX}), got ${JSON.stringify(value)}${amount.problem === "not an amount" ? "" : `: ${amount.problem}`}`);
  return amount.wei;
}

/** The private key from `--private-key`, or else from the environment variable `envName`. */
export function privateKeyOption(flag: string, value: string | undefined, envName: string): Hex {
  const key = value ?? process.env[envName];
  if (key === undefined || key === "") throw new UsageError(`${flag} is required (or set ${envName})`);
  try {
    return checkPrivateKey(key, value !== undefined ? flag : envName);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * node:util parseArgs with its unknown-option error said in one line with the closest known option
 * ("unknown option --fo (did you mean --fee?)"), as a {@link UsageError}; other parse errors too.
 */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    const unknown = /^Unknown option '([^']+)'/.exec((e as Error).message)?.[1];
    if (unknown === undefined) throw new UsageError((e as Error).message);
    const known = Object.keys(config.options ?? {}).map((o) => `--${o}`);
    const near = closest(unknown, known);
    throw new UsageError(`unknown option ${unknown}${near ? ` (did you mean ${near}?)` : ""}`);
  }
}

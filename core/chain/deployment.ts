import { readFileSync, writeFileSync } from "node:fs";
import { type Address, type Hex, getAddress, isAddress } from "viem";

/**
 * A deployed Refute system: where each contract is, the model registered with it and the parameters
 * it was deployed with. core/chain/deploy.ts produces it; the SDK, the CLI, nodes and watchers read it
 * from a JSON file (`deployment.json`), where every integer is a decimal string.
 */

/** Parameters fixed at deployment (immutables in the contracts). Seconds, wei, gas or basis points. */
export interface DeploymentParameters {
  /** Staking: seconds between requesting an unstake and withdrawing it; > challengeWindow + maxDisputeDuration. */
  readonly unbondingDelay: bigint;
  /** JobMarket: seconds after a submission during which it may be disputed. */
  readonly challengeWindow: bigint;
  /** JobMarket: seconds a node has to submit after taking a job. */
  readonly deliveryWindow: bigint;
  /** JobMarket: upper bound on a dispute game's length, seconds; ≥ 2·clockBudget + the game's block margin. */
  readonly maxDisputeDuration: bigint;
  /** JobMarket: seconds a reopened job stays open at least. */
  readonly reopenWindow: bigint;
  /** JobMarket: smallest collateral any job may ask for, wei (a model may need more: DisputeGame.minCollateralFor). */
  readonly minCollateral: bigint;
  /** JobMarket: largest consumer callback gas limit a job may ask for. */
  readonly maxCallbackGasLimit: bigint;
  /** DisputeGame: wei per gas up to which a game's bond covers the node's gas and a job's smallest collateral the honest challenger's. */
  readonly coverGasPrice: bigint;
  /** DisputeGame: each party's chess-clock budget, seconds. */
  readonly clockBudget: bigint;
  /** DisputeGame: share of a caught node's collateral shared by the challengers that won, basis points (1 … 5,000). */
  readonly challengerRewardBps: bigint;
}

/** The parameter names, in the order they are documented and printed. */
export const PARAMETER_NAMES = [
  "unbondingDelay",
  "challengeWindow",
  "deliveryWindow",
  "maxDisputeDuration",
  "reopenWindow",
  "minCollateral",
  "maxCallbackGasLimit",
  "coverGasPrice",
  "clockBudget",
  "challengerRewardBps",
] as const satisfies readonly (keyof DeploymentParameters)[];

export interface DeployedContracts {
  readonly modelRegistry: Address;
  readonly staking: Address;
  readonly jobMarket: Address;
  /** The Dense models' dispute game. */
  readonly disputeGame: Address;
  /** The graph models' market binding (bonds, settlement, payouts). */
  readonly graphDisputes: Address;
  /** The graph models' dispute game (the rules), where the parties move. */
  readonly graphDisputeGame: Address;
  readonly digitClassifier: Address;
}

/** The model registered at deployment (the MNIST reference model). */
export interface DeployedModel {
  readonly id: bigint;
  readonly root: Hex;
  readonly inputSize: bigint;
  readonly outputSize: bigint;
  readonly layerCount: bigint;
  readonly maxWidth: bigint;
  readonly uri: string;
}

export interface Deployment {
  /** The chain's id (a number, as viem's `Chain["id"]`). */
  readonly chainId: number;
  readonly deployer: Address;
  /** Block of the first deployment transaction: log queries need not start earlier. */
  readonly startBlock: bigint;
  readonly contracts: DeployedContracts;
  readonly model: DeployedModel;
  readonly parameters: DeploymentParameters;
}

/** The version written into, and required from, deployment files. */
export const DEPLOYMENT_FILE_VERSION = 2;

/** A deployment file or object that is missing a field or has a malformed one; the message names it. */
export class DeploymentFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeploymentFileError";
  }
}

/** The deployment as JSON text: integers as decimal strings, addresses checksummed. */
export function serializeDeployment(d: Deployment): string {
  return `${JSON.stringify({ version: DEPLOYMENT_FILE_VERSION, ...d }, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}

/**
 * Checks a parsed JSON value field by field and returns it as a {@link Deployment}; throws
 * {@link DeploymentFileError} naming `source` and the first missing or malformed field.
 */
export function parseDeployment(value: unknown, source = "deployment"): Deployment {
  const fail = (field: string, problem: string): never => {
    throw new DeploymentFileError(`${source}: ${field} ${problem}`);
  };
  const field = (obj: unknown, name: string, at: string): unknown => {
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) fail(at || "the file", "must be a JSON object");
    const v = (obj as Record<string, unknown>)[name];
    if (v === undefined) fail(at ? `${at}.${name}` : name, "is missing");
    return v;
  };
  const show = (v: unknown) => JSON.stringify(v)?.slice(0, 80) ?? String(v);
  const uint = (obj: unknown, name: string, at = ""): bigint => {
    const v = field(obj, name, at);
    const where = at ? `${at}.${name}` : name;
    if (typeof v === "string" && /^(0|[1-9][0-9]*)$/.test(v)) return BigInt(v);
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    return fail(where, `must be a non-negative integer (a decimal string), got ${show(v)}`);
  };
  const address = (obj: unknown, name: string, at: string): Address => {
    const v = field(obj, name, at);
    if (typeof v !== "string" || !isAddress(v)) fail(`${at}.${name}`, `must be a 0x-prefixed 20-byte address (checksummed if mixed-case), got ${show(v)}`);
    return getAddress(v as string);
  };

  const version = field(value, "version", "");
  if (version !== DEPLOYMENT_FILE_VERSION) fail("version", `must be ${DEPLOYMENT_FILE_VERSION}, got ${show(version)}`);
  const chainId = field(value, "chainId", "");
  if (typeof chainId !== "number" || !Number.isSafeInteger(chainId) || chainId <= 0) fail("chainId", `must be a positive integer, got ${show(chainId)}`);
  const deployer = address(value, "deployer", "");
  const startBlock = uint(value, "startBlock");

  const c = field(value, "contracts", "");
  const contracts: DeployedContracts = {
    modelRegistry: address(c, "modelRegistry", "contracts"),
    staking: address(c, "staking", "contracts"),
    jobMarket: address(c, "jobMarket", "contracts"),
    disputeGame: address(c, "disputeGame", "contracts"),
    graphDisputes: address(c, "graphDisputes", "contracts"),
    graphDisputeGame: address(c, "graphDisputeGame", "contracts"),
    digitClassifier: address(c, "digitClassifier", "contracts"),
  };

  const m = field(value, "model", "");
  const root = field(m, "root", "model");
  if (typeof root !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(root)) fail("model.root", `must be a 0x-prefixed 32-byte hex string, got ${show(root)}`);
  const uri = field(m, "uri", "model");
  if (typeof uri !== "string") fail("model.uri", `must be a string, got ${show(uri)}`);
  const model: DeployedModel = {
    id: uint(m, "id", "model"),
    root: (root as string).toLowerCase() as Hex,
    inputSize: uint(m, "inputSize", "model"),
    outputSize: uint(m, "outputSize", "model"),
    layerCount: uint(m, "layerCount", "model"),
    maxWidth: uint(m, "maxWidth", "model"),
    uri: uri as string,
  };

  const p = field(value, "parameters", "");
  const parameters = Object.fromEntries(PARAMETER_NAMES.map((name) => [name, uint(p, name, "parameters")])) as unknown as DeploymentParameters;

  return { chainId: chainId as number, deployer, startBlock, contracts, model, parameters };
}

/** Writes `d` to `file` as JSON. */
export function writeDeployment(file: string, d: Deployment): void {
  writeFileSync(file, serializeDeployment(d));
}

/** Reads and checks a deployment file; throws {@link DeploymentFileError} naming the file and the field. */
export function readDeployment(file: string): Deployment {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new DeploymentFileError(`cannot read deployment file ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DeploymentFileError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseDeployment(json, file);
}

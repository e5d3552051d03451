import { existsSync } from "node:fs";
import path from "node:path";
import { type AbiParameter, type Address, type Hex, getAddress, isAddress, parseUnits } from "viem";
import { hasUnit, parseAmount, AMOUNT_SYNTAX } from "../core/amount";
import { toHex } from "../core/bytes";
import type { Deployment } from "../core/chain/deployment";
import { initKeccak } from "../core/keccak";
import { loadMnist } from "../core/mnist";
import { MNIST_MODEL_DIR, inputScaleOf, loadModelDir } from "../core/modelFiles";
import { heldOutDigit } from "../client/mnistDigit";
import { taskError } from "./common";

/**
 * Contract arguments from the command line (`--args`, JSON), converted by the ABI's parameter types:
 * integers as JSON numbers, decimal strings or amounts (core/amount.ts: `"0.05eth"`, `"1000wei"`),
 * addresses, booleans, hex bytes, arrays and tuples; and a few `@` words the task fills in from the
 * deployment and the chain ({@link ARG_WORDS}).
 */

/** What the `@` words stand for, one line each (for the tasks' help and errors). */
export const ARG_WORDS: Readonly<Record<string, string>> = {
  "@market": "the deployment's JobMarket address (also @jobMarket, @modelRegistry, @staking, @disputeGame, @digitClassifier)",
  "@sender": "the address the task sends from (--private-key, or the network's first account)",
  "@modelId": "the deployment's model id",
  "@inputScale": "the deployment's model input scale with 18 decimals (descriptor.json meta.inputScale)",
  "@minCollateral": "the smallest collateral a job on the deployment's model may ask for, wei",
  "@now+SECONDS": "the chain's time (as a transaction sent now sees it) plus SECONDS, e.g. an expiry",
  "@digit D[/N]": "the first (N-th) held-out MNIST test digit D: its 784 int8 pixels for a bytes parameter, or 28 row bitmaps (one bit a pixel, bit 27 the leftmost) for a 28-element integer array, as DrawTheDigit.draw takes",
};

export const ARG_WORDS_SUMMARY = "@market, @sender, @modelId, @inputScale, @minCollateral, @now+SECONDS, @digit D[/N]";

/** What the `@` words are read from. */
export interface ArgContext {
  readonly deployment: Deployment;
  /** The address the task sends (or, for a view, would send) from. */
  sender(): Promise<Address>;
  /** The SDK's minCollateral for the deployment's model. */
  minCollateral(): Promise<bigint>;
  /** The time a transaction sent now would see, unix seconds. */
  now(): Promise<bigint>;
}

/** `@name` words that are the deployment's contract addresses. */
const CONTRACT_WORDS: Record<string, keyof Deployment["contracts"]> = {
  "@market": "jobMarket",
  "@jobMarket": "jobMarket",
  "@modelRegistry": "modelRegistry",
  "@registry": "modelRegistry",
  "@staking": "staking",
  "@disputeGame": "disputeGame",
  "@digitClassifier": "digitClassifier",
};

/** A parameter as written in messages: `name (type)`, or `#i (type)` when unnamed. */
export function describeParam(p: AbiParameter, index: number): string {
  return `${p.name ? p.name : `#${index + 1}`} (${p.type})`;
}

/** Parses `--args`: JSON, an array (every argument in order) or an object (arguments by name). */
export function parseArgsJson(text: string | undefined): unknown[] | Record<string, unknown> | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw taskError(`--args must be JSON (an array of the arguments, or an object by parameter name): ${(e as Error).message}`);
  }
  if (Array.isArray(value)) return value;
  if (typeof value === "object" && value !== null) return value as Record<string, unknown>;
  throw taskError(`--args must be a JSON array or object, got ${JSON.stringify(value)}`);
}

/** The argument given for `p` in an object of named arguments (its name with or without a trailing `_`). */
export function namedArg(named: Record<string, unknown>, p: AbiParameter): { found: boolean; value?: unknown; key?: string } {
  for (const key of [p.name, p.name?.replace(/_$/, ""), p.name ? `${p.name}_` : undefined]) {
    if (key && Object.hasOwn(named, key)) return { found: true, value: named[key], key };
  }
  return { found: false };
}

/**
 * The viem value of argument `value` for parameter `p`; `where` names it in errors
 * (`DrawTheDigit.draw argument rows (uint32[28])`).
 */
export async function convertArg(p: AbiParameter, value: unknown, ctx: ArgContext, where: string): Promise<unknown> {
  if (typeof value === "string" && value.startsWith("@")) value = await resolveWord(value, p, ctx, where);
  const fail = (problem: string): never => {
    throw taskError(`${where}: ${problem}, got ${show(value)}`);
  };
  const type = p.type;
  const array = /^(.*)\[(\d*)\]$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return fail("must be a JSON array");
    const [, inner, length] = array;
    if (length !== "" && value.length !== Number(length)) fail(`must have ${length} elements, not ${value.length}`);
    const element = { ...p, type: inner, name: p.name } as AbiParameter;
    return Promise.all(value.map((v, i) => convertArg(element, v, ctx, `${where}[${i}]`)));
  }
  if (type === "tuple") {
    const components = (p as { components?: readonly AbiParameter[] }).components ?? [];
    if (Array.isArray(value)) {
      if (value.length !== components.length) fail(`must have ${components.length} fields`);
      return Promise.all(components.map((c, i) => convertArg(c, value[i], ctx, `${where}.${c.name || i}`)));
    }
    if (typeof value !== "object" || value === null) return fail("must be a JSON object by field name or an array");
    const out: Record<string, unknown> = {};
    for (const [i, c] of components.entries()) {
      if (!c.name || !Object.hasOwn(value, c.name)) fail(`has no field ${c.name || i}`);
      out[c.name!] = await convertArg(c, (value as Record<string, unknown>)[c.name!], ctx, `${where}.${c.name}`);
    }
    return out;
  }
  if (type === "address") {
    if (typeof value !== "string" || !isAddress(value)) return fail("must be an address (0x + 40 hex digits, checksummed if mixed-case)");
    return getAddress(value as string);
  }
  if (type === "bool") {
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    return fail("must be true or false");
  }
  if (type === "string") {
    if (typeof value !== "string") return fail("must be a JSON string");
    return value;
  }
  const bytes = /^bytes(\d*)$/.exec(type);
  if (bytes) {
    if (typeof value !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(value)) return fail("must be 0x-prefixed hex bytes");
    if (bytes[1] !== "" && ((value as string).length - 2) / 2 !== Number(bytes[1])) fail(`must be ${bytes[1]} bytes`);
    return value as Hex;
  }
  const int = /^(u?)int(\d*)$/.exec(type);
  if (int) {
    const signed = int[1] === "";
    const bits = BigInt(int[2] === "" ? 256 : Number(int[2]));
    let n: bigint;
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) return fail("must be an integer (write large numbers as decimal strings)");
      n = BigInt(value);
    } else if (typeof value === "string" && /^-?(0|[1-9][0-9]*)$/.test(value.trim())) {
      n = BigInt(value.trim());
    } else if (typeof value === "string" && /^0x[0-9a-fA-F]+$/.test(value)) {
      n = BigInt(value);
    } else if (typeof value === "string" && hasUnit(value)) {
      const amount = parseAmount(value);
      if ("problem" in amount) return fail(`must be an amount (${AMOUNT_SYNTAX}): ${amount.problem}`);
      n = amount.wei;
    } else if (typeof value === "bigint") {
      n = value;
    } else {
      return fail(`must be an integer (a JSON number, a decimal string, or an amount: ${AMOUNT_SYNTAX})`);
    }
    const [min, max] = signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
    if (n < min || n > max) fail(`is out of ${type} range (${min} … ${max})`);
    return n;
  }
  return fail(`has type ${type}, which this task cannot convert from JSON`);
}

/** What an `@` word stands for, for parameter `p`. */
async function resolveWord(word: string, p: AbiParameter, ctx: ArgContext, where: string): Promise<unknown> {
  const contract = CONTRACT_WORDS[word];
  if (contract) return ctx.deployment.contracts[contract];
  if (word === "@sender") return ctx.sender();
  if (word === "@modelId") return ctx.deployment.model.id;
  if (word === "@minCollateral") return ctx.minCollateral();
  if (word === "@inputScale") return inputScale18(ctx.deployment);
  const now = /^@now(?:\+(\d+))?$/.exec(word);
  if (now) return (await ctx.now()) + BigInt(now[1] ?? 0);
  const digit = /^@digit\s*(\d)(?:\/(\d+))?$/.exec(word);
  if (digit) return digitArg(Number(digit[1]), Number(digit[2] ?? 0), p, where);
  throw taskError(`${where}: unknown word ${JSON.stringify(word)}; known: ${ARG_WORDS_SUMMARY}`);
}

/**
 * The folder of the deployment's model: the MNIST reference model's when the roots agree, else the
 * registered URI if it is a local folder with that root.
 */
export async function modelDirOf(deployment: Deployment): Promise<string> {
  await initKeccak();
  const root = deployment.model.root.toLowerCase();
  if (loadModelDir(MNIST_MODEL_DIR).root.toLowerCase() === root) return MNIST_MODEL_DIR;
  for (const dir of [path.resolve(process.cwd(), deployment.model.uri)]) {
    if (existsSync(path.join(dir, "descriptor.json")) && loadModelDir(dir).root.toLowerCase() === root) return dir;
  }
  throw taskError(`the deployment's model ${deployment.model.id} (root ${deployment.model.root}) is neither the MNIST reference model nor a local folder at its URI ${JSON.stringify(deployment.model.uri)}; give its input scale explicitly`);
}

/** The deployment's model input scale with 18 decimals, as DrawTheDigit's constructor takes it. */
export async function inputScale18(deployment: Deployment): Promise<bigint> {
  const scale = inputScaleOf(loadModelDir(await modelDirOf(deployment)));
  return parseUnits(scale.toFixed(18), 18);
}

let heldOut: ReturnType<typeof loadMnist>["test"] | undefined;

/** `@digit D/N` for parameter `p`: the digit's int8 input (bytes) or its one-bit row bitmaps (a 28-element integer array). */
function digitArg(label: number, nth: number, p: AbiParameter, where: string): unknown {
  let d;
  try {
    d = heldOutDigit(label, nth);
  } catch (e) {
    throw taskError(`${where}: @digit ${label}/${nth}: ${(e as Error).message}`);
  }
  if (p.type === "bytes") return toHex(new Uint8Array(d.input.buffer, d.input.byteOffset, d.input.length));
  if (/^uint\d*\[(28)?\]$/.test(p.type)) {
    heldOut ??= loadMnist().test;
    return rowBitmaps(heldOut[d.testIndex].pixels);
  }
  throw taskError(`${where}: @digit gives bytes (the 784 int8 pixels) or a uint array of 28 row bitmaps, not ${p.type}`);
}

/** A 28×28 image with pixels in [0, 1] as 28 row bitmaps, a pixel inked at ≥ 0.5; bit 27 is the leftmost pixel. */
export function rowBitmaps(pixels: ArrayLike<number>, threshold = 0.5): number[] {
  const side = 28;
  const rows: number[] = [];
  for (let r = 0; r < side; r++) {
    let bits = 0;
    for (let c = 0; c < side; c++) if (pixels[r * side + c] >= threshold) bits |= 1 << (side - 1 - c);
    rows.push(bits >>> 0);
  }
  return rows;
}

function show(v: unknown): string {
  const text = typeof v === "bigint" ? v.toString() : JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Values as JSON-friendly text for progress lines: bigints as decimals, long arrays shortened. */
export function showArg(v: unknown): string {
  if (Array.isArray(v)) return v.length > 6 ? `[${v.slice(0, 3).map(showArg).join(", ")}, … ${v.length} in all]` : `[${v.map(showArg).join(", ")}]`;
  if (typeof v === "string" && v.length > 70) return `${v.slice(0, 20)}…(${(v.length - 2) / 2} bytes)`;
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return v;
  const json = JSON.stringify(v) ?? String(v);
  // A struct (a job in an event, say) in full would fill the screen: its scalar fields are printed elsewhere.
  return typeof v === "object" && v !== null && json.length > 70 ? "{…}" : json;
}

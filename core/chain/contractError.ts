import { type Abi, type AbiParameter, type Address, type Hex, decodeErrorResult, toFunctionSelector } from "viem";
import { REFUTE_ABIS } from "../abi";
import { JobStatus } from "../jobState";

/**
 * Contract reverts made readable. Any error viem (or a JSON-RPC node) throws for a reverted call
 * carries the revert data somewhere in its cause chain; {@link decodeError} finds it and decodes it
 * against the errors of every Refute contract (core/abi), so a revert that bubbles up from Staking
 * through the JobMarket is named as well as one of the market's own.
 */

/** A contract revert with its custom error decoded, e.g. `JobMarketCollateralTooLow(have=1, min=10000000000000000)`. */
export class RefuteContractError extends Error {
  override readonly name = "RefuteContractError";
  /** The custom error's name (`Error` for a reason string, `Panic` for a panic, `unknown` for an unknown selector). */
  readonly errorName: string;
  /** The error's arguments as decoded, by name (by position where the ABI leaves them unnamed). */
  readonly args: Readonly<Record<string, unknown>>;
  /** The raw revert data. */
  readonly data: Hex;
  /** The Refute contracts whose ABI declares the error. */
  readonly declaredBy: readonly string[];
  /** The function called, when the failing call was a contract call. */
  readonly functionName?: string;
  /** The contract called, when known. */
  readonly contractAddress?: Address;

  constructor(p: {
    errorName: string;
    args: Record<string, unknown>;
    /** The error as text: name and arguments. */
    text: string;
    data: Hex;
    declaredBy: readonly string[];
    functionName?: string;
    contractAddress?: Address;
    cause?: unknown;
  }) {
    super(`${p.functionName ? `${p.functionName} reverted: ` : ""}${p.text}`, { cause: p.cause });
    this.errorName = p.errorName;
    this.args = p.args;
    this.data = p.data;
    this.declaredBy = p.declaredBy;
    this.functionName = p.functionName;
    this.contractAddress = p.contractAddress;
  }
}

type AbiError = Extract<Abi[number], { type: "error" }>;

/** Every error of every Refute contract, once per selector, and which contracts declare it. */
const ERRORS = (() => {
  const bySelector = new Map<Hex, { item: AbiError; contracts: string[] }>();
  for (const [contract, abi] of Object.entries(REFUTE_ABIS)) {
    for (const item of abi as readonly { type: string }[]) {
      if (item.type !== "error") continue;
      const error = item as AbiError;
      const selector = toFunctionSelector(error as unknown as Parameters<typeof toFunctionSelector>[0]);
      const known = bySelector.get(selector);
      if (known) known.contracts.push(contract);
      else bySelector.set(selector, { item: error, contracts: [contract] });
    }
  }
  return bySelector;
})();

/** Solidity's panic codes. */
const PANICS: Record<number, string> = {
  0x01: "assertion failed",
  0x11: "arithmetic overflow or underflow",
  0x12: "division or modulo by zero",
  0x21: "invalid enum value",
  0x22: "invalid storage byte array",
  0x31: "pop on an empty array",
  0x32: "array index out of bounds",
  0x41: "too much memory allocated",
  0x51: "call to a zero-initialised function",
};

function isHexData(v: unknown): v is Hex {
  return typeof v === "string" && /^0x([0-9a-fA-F]{2})*$/.test(v);
}

/** The errors in `e`'s cause chain, outermost first. */
function causeChain(e: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let cur = e; cur !== undefined && cur !== null && chain.length < 32; cur = (cur as { cause?: unknown }).cause) {
    chain.push(cur);
    if (typeof cur !== "object") break;
  }
  return chain;
}

/**
 * The innermost explanation in `e`'s cause chain: viem's `details` (where a node's own reason, such as
 * "Sender doesn't have enough funds to send tx", ends up under a generic "Missing or invalid parameters."),
 * else the innermost message.
 */
export function innermostReason(e: unknown): string {
  let reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
  for (const err of causeChain(e)) {
    const { details, message } = (err ?? {}) as { details?: unknown; message?: unknown };
    if (typeof details === "string" && details !== "") reason = details;
    else if (typeof message === "string" && message !== "" && err !== e) reason = message.split("\n")[0];
  }
  return reason;
}

/** The revert data in `e`'s cause chain (viem's `raw` or `data`, or a JSON-RPC error's `data`), if any. */
export function revertDataOf(e: unknown): Hex | undefined {
  for (const err of causeChain(e)) {
    if (typeof err !== "object" || err === null) continue;
    const { raw, data } = err as { raw?: unknown; data?: unknown };
    for (const candidate of [raw, data, (data as { data?: unknown } | undefined)?.data]) {
      if (isHexData(candidate) && candidate.length >= 10) return candidate;
    }
  }
  return undefined;
}

/**
 * `e` as a {@link RefuteContractError} when it is a contract revert with data (decoded against every
 * Refute contract's errors, or named by its selector if none declares it); otherwise `e` itself (as
 * an Error).
 */
export function decodeError(e: unknown): Error {
  if (e instanceof RefuteContractError) return e;
  const data = revertDataOf(e);
  if (data === undefined) return e instanceof Error ? e : new Error(String(e));
  const call = causeChain(e).find((err) => typeof (err as { functionName?: unknown })?.functionName === "string") as
    | { functionName: string; contractAddress?: Address }
    | undefined;
  const selector = data.slice(0, 10) as Hex;
  const known = ERRORS.get(selector);
  const common = { data, declaredBy: known?.contracts ?? [], functionName: call?.functionName, contractAddress: call?.contractAddress, cause: e };
  let decoded;
  try {
    decoded = decodeErrorResult({ abi: known ? [known.item] : [], data });
  } catch {
    const text = `unknown custom error ${selector} (revert data ${data.length > 74 ? `${data.slice(0, 74)}…` : data})`;
    return new RefuteContractError({ errorName: "unknown", args: { selector }, text, ...common });
  }
  const inputs = decoded.abiItem.type === "error" ? decoded.abiItem.inputs : [];
  const values = decoded.args ?? [];
  const args = Object.fromEntries(values.map((v, i) => [inputs[i]?.name || String(i), v]));
  let text: string;
  if (decoded.errorName === "Panic") {
    const code = Number(values[0]);
    text = `Panic(code=0x${code.toString(16).padStart(2, "0")}: ${PANICS[code] ?? "unknown panic"})`;
  } else {
    text = `${decoded.errorName}(${values.map((v, i) => `${inputs[i]?.name || i}=${formatValue(v, inputs[i])}`).join(", ")})`;
  }
  return new RefuteContractError({ errorName: decoded.errorName, args, text, ...common });
}

/** One argument as text: numbers in decimal, enum values by name where the SDK knows the enum. */
function formatValue(v: unknown, input?: AbiParameter): string {
  if (input?.internalType === "enum JobStatus" && typeof v === "number" && JobStatus[v] !== undefined) return JobStatus[v];
  if (typeof v === "string") return /^0x[0-9a-fA-F]*$/.test(v) ? v : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(x)).join(", ")}]`;
  return String(v);
}

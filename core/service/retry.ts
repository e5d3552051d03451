import {
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  ExecutionRevertedError,
  HttpRequestError,
  InsufficientFundsError,
  InternalRpcError,
  LimitExceededRpcError,
  RawContractError,
  RpcError,
  RpcRequestError,
  SocketClosedError,
  TimeoutError,
  WebSocketRequestError,
} from "viem";
import { sleepUnlessStopped } from "./lifecycle";

/**
 * Retries with exponential backoff for calls to a chain: a transport failure (connection
 * refused, timeout, rate limit, a node's internal error) is tried again, a contract revert or
 * any other error is not. The daemons wrap each RPC read and each transaction in `withRetry`.
 */

export interface RetryInfo {
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  /** The wait before the next attempt. */
  readonly delayMs: number;
  readonly error: unknown;
}

export interface RetryOptions {
  /** Retries after the first attempt: at most `retries + 1` attempts. */
  readonly retries: number;
  /** The wait before the first retry, before jitter. */
  readonly baseMs: number;
  /** The longest wait, before jitter. */
  readonly maxMs: number;
  /** Each wait is `factor` times the previous one. Default 2. */
  readonly factor?: number;
  /** Waits a random time between half the delay and the delay. Default true. */
  readonly jitter?: boolean;
  /** Uniform in [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** Whether an error is worth another attempt. Default `defaultIsRetryable`. */
  readonly isRetryable?: (error: unknown) => boolean;
  /** Called before each wait (to log it). */
  readonly onRetry?: (info: RetryInfo) => void;
  /** Default: a timer that ends early when `signal` aborts. */
  readonly sleep?: (ms: number) => Promise<unknown>;
  /** No further attempt once aborted (the daemon is stopping). */
  readonly signal?: AbortSignal;
  /** Names the operation in the final error ("getBlock", "submit job 0x…"). */
  readonly label?: string;
}

/** Every attempt failed with a retryable error, or stopping interrupted the retries; `cause` is the last error. */
export class RetryError extends Error {
  override name = "RetryError";
  constructor(
    message: string,
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(message, { cause });
  }
}

/**
 * Runs `fn` (given the attempt number, from 1) until it resolves. A non-retryable error is
 * rethrown as it is, at once; after `retries + 1` failed attempts a `RetryError` says how many
 * were made and wraps the last error.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { retries, signal, label = "operation", isRetryable = defaultIsRetryable, onRetry } = options;
  const sleep = options.sleep ?? ((ms: number) => sleepUnlessStopped(ms, signal));
  if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`withRetry: retries must be a non-negative integer, got ${retries}`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      const attempts = `${attempt} attempt${attempt === 1 ? "" : "s"}`;
      if (attempt > retries) throw new RetryError(`${label} failed after ${attempts}: ${describe(error)}`, attempt, error);
      if (signal?.aborted) throw new RetryError(`${label} stopped after ${attempts}: ${describe(error)}`, attempt, error);
      const delayMs = backoffDelay(attempt, options);
      onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
      if (signal?.aborted) throw new RetryError(`${label} stopped after ${attempts}: ${describe(error)}`, attempt, error);
    }
  }
}

/**
 * The wait after failed attempt `attempt` (from 1): `min(maxMs, baseMs · factor^(attempt-1))`,
 * with jitter a uniform draw between half of it and all of it, rounded to whole milliseconds.
 */
export function backoffDelay(attempt: number, options: Pick<RetryOptions, "baseMs" | "maxMs" | "factor" | "jitter" | "random">): number {
  const { baseMs, maxMs, factor = 2, jitter = true, random = Math.random } = options;
  const capped = Math.min(maxMs, baseMs * factor ** (attempt - 1));
  return Math.round(jitter ? capped / 2 + (capped / 2) * random() : capped);
}

/**
 * JSON-RPC error codes worth retrying, as viem's own transport retries them: internal error,
 * limit exceeded, QuickNode's and HTTP-style rate limits, -1 (viem's UnknownRpcError).
 */
export const RETRYABLE_RPC_CODES: ReadonlySet<number> = new Set([InternalRpcError.code, LimitExceededRpcError.code, -32007, 429, -1]);
/** HTTP statuses worth retrying: timeout, too early, rate limit, server errors. */
export const RETRYABLE_HTTP_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);
/** Node.js socket error codes worth retrying. */
export const RETRYABLE_SOCKET_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/**
 * True for transport failures anywhere in the cause chain: viem's HttpRequestError (no response,
 * or a retryable status), TimeoutError, SocketClosedError, WebSocketRequestError, an RPC error
 * with a retryable code, a socket error code. False when the chain holds a revert (viem's
 * ContractFunctionRevertedError, ExecutionRevertedError, RawContractError,
 * ContractFunctionZeroDataError, an RPC error whose details say "revert"), insufficient funds or
 * an abort — a revert over RPC often comes as an internal error (-32603), so the revert is looked
 * for first — and false for everything else, our own errors included.
 */
export function defaultIsRetryable(error: unknown): boolean {
  const chain = causeChain(error);
  if (chain.some(isDefinitive)) return false;
  return chain.some(isTransient);
}

function isDefinitive(e: object): boolean {
  return (
    e instanceof ContractFunctionRevertedError ||
    e instanceof ContractFunctionZeroDataError ||
    e instanceof ExecutionRevertedError ||
    e instanceof RawContractError ||
    e instanceof InsufficientFundsError ||
    ((e instanceof RpcError || e instanceof RpcRequestError) && /revert/i.test(e.details)) ||
    (e instanceof Error && e.name === "AbortError")
  );
}

function isTransient(e: object): boolean {
  if (e instanceof HttpRequestError) return e.status === undefined || RETRYABLE_HTTP_STATUSES.has(e.status);
  if (e instanceof TimeoutError || e instanceof SocketClosedError || e instanceof WebSocketRequestError) return true;
  if (e instanceof RpcRequestError || e instanceof RpcError) {
    return RETRYABLE_RPC_CODES.has(e.code) || (e instanceof RpcRequestError && e.status !== undefined && RETRYABLE_HTTP_STATUSES.has(e.status));
  }
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && RETRYABLE_SOCKET_CODES.has(code);
}

/** The error and its causes, outermost first (cycles and depth bounded). */
function causeChain(error: unknown): object[] {
  const chain: object[] = [];
  for (let e: unknown = error; typeof e === "object" && e !== null && !chain.includes(e) && chain.length < 16; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const short = (error as { shortMessage?: unknown }).shortMessage;
  return `${error.name}: ${typeof short === "string" && short !== "" ? short : error.message.split("\n")[0]}`;
}

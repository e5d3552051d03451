import { type Account, type Chain, type EIP1193RequestFn, type Hex, HttpRequestError, type PublicClient, type Transport, type WalletClient, createPublicClient, createWalletClient, custom, defineChain, http } from "viem";
import { type RetryOptions, defaultIsRetryable, withRetry } from "../service/retry";
import { privateKeyToAccount } from "viem/accounts";

/**
 * viem clients for any EVM chain reachable by a JSON-RPC URL: the chain is described from its own
 * `eth_chainId`, so scripts, the CLI, nodes and watchers need nothing but the URL (and a key to send).
 */

export type RefutePublicClient = PublicClient<Transport, Chain>;
export type RefuteWalletClient = WalletClient<Transport, Chain, Account>;

export interface RpcClients {
  readonly chain: Chain;
  readonly transport: Transport;
  readonly publicClient: RefutePublicClient;
}

export interface ConnectOptions {
  /** How often watchers and receipt waits poll, ms (viem's default is 4 s on HTTP; 100 ms suits a local chain). */
  readonly pollingIntervalMs?: number;
  /** A transport to use instead of `http(rpcUrl)` (for example one that logs or retries). */
  readonly transport?: Transport;
}

/** Throws naming the value unless `key` is a 0x-prefixed 32-byte hex private key. */
export function checkPrivateKey(key: string, what = "private key"): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error(`${what} must be 0x followed by 64 hex digits, got ${key.length > 8 ? `${key.slice(0, 6)}… (${key.length} characters)` : JSON.stringify(key)}`);
  return key as Hex;
}

/** A public client on `rpcUrl`, its chain described from `eth_chainId`. Throws naming the URL if it does not answer. */
export async function connectRpc(rpcUrl: string, options: ConnectOptions = {}): Promise<RpcClients> {
  let url: URL;
  try {
    url = new URL(rpcUrl);
  } catch {
    throw new Error(`RPC URL must be an http(s) URL, got ${JSON.stringify(rpcUrl)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`RPC URL must be an http(s) URL, got ${JSON.stringify(rpcUrl)}`);
  const transport = options.transport ?? http(rpcUrl, { retryCount: 0 });
  let answer: unknown;
  try {
    answer = await createPublicClient({ transport }).request({ method: "eth_chainId" });
  } catch (e) {
    throw new Error(`no JSON-RPC answer from ${rpcUrl}: ${describeRpcFailure(e)}`, { cause: e });
  }
  if (typeof answer !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(answer)) {
    throw new Error(`no JSON-RPC answer from ${rpcUrl}: eth_chainId gave ${answer === undefined ? "no result" : JSON.stringify(answer).slice(0, 80)}, not a chain id`);
  }
  const chainId = Number(BigInt(answer));
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: options.pollingIntervalMs }) as RefutePublicClient;
  return { chain, transport, publicClient };
}

/**
 * What went wrong with an RPC request, in a line. Over HTTP: the status, or why no answer came (the
 * connection refused, a body that is not JSON), where viem's own message says only "HTTP request
 * failed."; otherwise the error's short message with the server's details.
 */
export function describeRpcFailure(error: unknown): string {
  const chain: Error[] = [];
  for (let e = error; e instanceof Error && !chain.includes(e) && chain.length < 16; e = e.cause) chain.push(e);
  const http = chain.filter((e): e is HttpRequestError => e instanceof HttpRequestError).pop();
  if (http) {
    const innermost = chain[chain.length - 1];
    const why = innermost === http ? http.details : innermost.message;
    return `${http.status ? `HTTP ${http.status}` : "HTTP request failed"}${why ? ` (${why})` : ""}`;
  }
  const e = error as { shortMessage?: string; details?: string; message?: string };
  const short = e.shortMessage ?? e.message?.split("\n")[0] ?? String(error);
  return e.details && e.details !== short ? `${short} (${e.details})` : short;
}

/**
 * Whether an RPC request that failed with `error` is worth another attempt: core/service/retry.ts
 * `defaultIsRetryable`, except that an answer that is not JSON at all is final. Such a server is up
 * and answering, just not with JSON-RPC (a web page, the wrong port): retrying only delays the error.
 */
export function isRetryableRpcFailure(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) if (e instanceof SyntaxError) return false;
  return defaultIsRetryable(error);
}

/** A wallet client that signs locally with `privateKey` and sends through `clients`' transport. */
export function walletFor(clients: RpcClients, privateKey: Hex): RefuteWalletClient {
  const account = privateKeyToAccount(checkPrivateKey(privateKey));
  return createWalletClient({ account, chain: clients.chain, transport: clients.transport, pollingInterval: clients.publicClient.pollingInterval });
}

/**
 * An HTTP transport whose requests are retried with exponential backoff on transient failures
 * (connection errors, timeouts, rate limits, node hiccups) but never on a revert: viem's own retry
 * treats JSON-RPC error -32603, which Hardhat also uses for reverts, as transient, which would repeat
 * every failing call for seconds. Classification is {@link isRetryableRpcFailure}.
 */
export function retryingTransport(rpcUrl: string, options: Partial<RetryOptions> = {}): Transport {
  const base = http(rpcUrl, { retryCount: 0 })({ retryCount: 0 });
  const request = ((args: Parameters<EIP1193RequestFn>[0]) =>
    withRetry(() => base.request(args), { retries: 4, baseMs: 200, maxMs: 3_000, isRetryable: isRetryableRpcFailure, label: args.method, ...options })) as EIP1193RequestFn;
  return custom({ request }, { retryCount: 0 });
}

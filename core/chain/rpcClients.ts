import { type Account, type Chain, type EIP1193RequestFn, type Hex, type PublicClient, type Transport, type WalletClient, createPublicClient, createWalletClient, custom, defineChain, http } from "viem";
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
  let chainId: number;
  try {
    chainId = await createPublicClient({ transport }).getChainId();
  } catch (e) {
    throw new Error(`no JSON-RPC answer from ${rpcUrl}: ${(e as { shortMessage?: string }).shortMessage ?? (e as Error).message}`, { cause: e });
  }
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: options.pollingIntervalMs }) as RefutePublicClient;
  return { chain, transport, publicClient };
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
 * every failing call for seconds. Classification is core/service/retry.ts `defaultIsRetryable`.
 */
export function retryingTransport(rpcUrl: string, options: Partial<RetryOptions> = {}): Transport {
  const base = http(rpcUrl, { retryCount: 0 })({ retryCount: 0 });
  const request = ((args: Parameters<EIP1193RequestFn>[0]) =>
    withRetry(() => base.request(args), { retries: 4, baseMs: 200, maxMs: 3_000, isRetryable: defaultIsRetryable, label: args.method, ...options })) as EIP1193RequestFn;
  return custom({ request }, { retryCount: 0 });
}

import { type Address, type EIP1193RequestFn, createPublicClient, createWalletClient, custom, defineChain, getAddress } from "viem";
import { type RefutePublicClient, type RefuteWalletClient, type RpcClients, describeRpcFailure } from "./rpcClients";

/**
 * viem clients on an EIP-1193 provider rather than a URL: the provider of a Hardhat network
 * (`hre.network.provider`, in-process or `--network localhost`) or a wallet's. Like `connectRpc`
 * (core/chain/rpcClients.ts) the chain is described from its own `eth_chainId`, and `walletFor` there
 * signs with a private key through these clients too; {@link walletForAccount} sends through the
 * provider's own accounts instead (Hardhat's configured accounts, or `hardhat node`'s unlocked ones).
 */

/** What an EIP-1193 provider has: one `request` method. Hardhat's providers have it. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown }): Promise<unknown>;
}

export interface ProviderConnectOptions {
  /** What to call the provider in errors and in the chain's name, e.g. `network localhost`. */
  readonly name: string;
  /** How often receipt waits and watchers poll, ms (viem's default is 4 s). */
  readonly pollingIntervalMs?: number;
}

/** Clients on `provider`, its chain described from `eth_chainId`. Throws naming the provider if it does not answer. */
export async function connectProvider(provider: Eip1193Provider, options: ProviderConnectOptions): Promise<RpcClients> {
  const transport = custom({ request: ((args: { method: string; params?: unknown }) => provider.request(args)) as EIP1193RequestFn }, { retryCount: 0 });
  let answer: unknown;
  try {
    answer = await provider.request({ method: "eth_chainId" });
  } catch (e) {
    throw new Error(`no JSON-RPC answer from ${options.name}: ${describeRpcFailure(e).split("\n")[0]}`, { cause: e });
  }
  if (typeof answer !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(answer)) {
    throw new Error(`no JSON-RPC answer from ${options.name}: eth_chainId gave ${answer === undefined ? "no result" : JSON.stringify(answer).slice(0, 80)}, not a chain id`);
  }
  const chainId = Number(BigInt(answer));
  const chain = defineChain({ id: chainId, name: `chain ${chainId} (${options.name})`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [] } } });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: options.pollingIntervalMs }) as RefutePublicClient;
  return { chain, transport, publicClient };
}

/** The accounts the provider signs for (`eth_accounts`), checksummed. */
export async function providerAccounts(clients: RpcClients): Promise<Address[]> {
  const accounts = (await clients.publicClient.request({ method: "eth_accounts" } as never)) as unknown;
  if (!Array.isArray(accounts)) return [];
  return accounts.filter((a): a is string => typeof a === "string").map((a) => getAddress(a));
}

/** A wallet client whose transactions the provider signs as `account` (one of {@link providerAccounts}). */
export function walletForAccount(clients: RpcClients, account: Address): RefuteWalletClient {
  return createWalletClient({ account, chain: clients.chain, transport: clients.transport, pollingInterval: clients.publicClient.pollingInterval }) as RefuteWalletClient;
}

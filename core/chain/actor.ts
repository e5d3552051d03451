import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { disputeGameAbi, graphDisputesAbi, jobMarketAbi, stakingAbi } from "../abi";
import type { Deployment } from "./deployment";
import { RefuteContractError, decodeError, innermostReason } from "./contractError";

/**
 * What a daemon acting on the chain holds: clients, its account, the deployment, a logger and a
 * clock. The node and the watcher are built from it; tests give them a chain the test controls.
 */

/** Structured logging, as core/service/logger.ts provides it. */
export interface Log {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface ChainActor {
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly walletClient: WalletClient<Transport, Chain, Account>;
  readonly deployment: Deployment;
  readonly log: Log;
}

/** The account a daemon acts as. */
export function addressOf(actor: ChainActor): Address {
  return actor.walletClient.account.address;
}

/** Sends a contract call after simulating it (a revert throws with its decoded reason before gas is spent). */
export async function send(
  actor: ChainActor,
  call: { address: Address; abi: readonly unknown[]; functionName: string; args?: readonly unknown[]; value?: bigint },
): Promise<{ hash: Hex; gasUsed: bigint }> {
  let hash: Hex;
  try {
    const { request } = await actor.publicClient.simulateContract({ ...call, account: actor.walletClient.account } as never);
    hash = await actor.walletClient.writeContract(request);
  } catch (e) {
    const decoded = decodeError(e);
    if (decoded instanceof RefuteContractError) throw decoded;
    // Not a revert: the node refused the transaction (no funds, a bad nonce…); say whose and why.
    throw new Error(`${call.functionName} from ${addressOf(actor)} was not sent: ${innermostReason(e)}`, { cause: e });
  }
  const receipt = await actor.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${call.functionName} reverted in ${hash}`);
  return { hash, gasUsed: receipt.gasUsed };
}

/** The contracts that hold credits for an account (pull payments). */
/** The contracts that credit an account: the market, the Dense game, the graph games' GraphDisputes, staking. */
export type CreditHolder = "market" | "game" | "graphGame" | "staking";

/** Withdraws what `holders` owe the actor; returns what came from each. */
export async function withdrawCredits(actor: ChainActor, holders: readonly CreditHolder[]): Promise<{ from: CreditHolder; wei: bigint }[]> {
  const { jobMarket, disputeGame, graphDisputes, staking } = actor.deployment.contracts;
  const contracts = {
    market: { address: jobMarket, abi: jobMarketAbi },
    game: { address: disputeGame, abi: disputeGameAbi },
    graphGame: { address: graphDisputes, abi: graphDisputesAbi },
    staking: { address: staking, abi: stakingAbi },
  };
  const paid: { from: CreditHolder; wei: bigint }[] = [];
  for (const from of holders) {
    const { address, abi } = contracts[from];
    const wei = (await actor.publicClient.readContract({ address, abi, functionName: "credits", args: [addressOf(actor)] } as never)) as bigint;
    if (wei === 0n) continue;
    await send(actor, { address, abi, functionName: "withdraw" });
    paid.push({ from, wei });
  }
  return paid;
}

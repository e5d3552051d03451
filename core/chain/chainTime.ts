import type { Chain, PublicClient, Transport } from "viem";
import { nextBlockTime, wallClockSeconds } from "../jobState";

/** How long an RPC that did not give the pending block is not asked for it again. */
const PENDING_RETRY_MS = 60_000;

/**
 * The chain's clock as the node, the watcher and the SDK judge windows by: the time a transaction sent
 * now would see (core/jobState.ts {@link nextBlockTime}), from the latest block, this machine's clock
 * and the pending block's timestamp. An RPC that answers for the latest block but not for the pending
 * one is not asked for it again for a minute; the other two do meanwhile.
 */
export class ChainClock {
  /** Date.now() before which the pending block is not asked for. */
  private skipPendingUntil = 0;

  constructor(
    private readonly client: PublicClient<Transport, Chain | undefined>,
    private readonly wallClock: () => bigint = () => wallClockSeconds(),
  ) {}

  /** The time a transaction sent now would see, unix seconds, and the latest block's. */
  async read(): Promise<{ now: bigint; latest: bigint }> {
    const [latest, pending] = await Promise.allSettled([
      this.client.getBlock({ blockTag: "latest" }),
      Date.now() < this.skipPendingUntil ? Promise.resolve(undefined) : this.client.getBlock({ blockTag: "pending" }),
    ]);
    if (latest.status === "rejected") throw latest.reason;
    // The RPC answers for the latest block but not the pending one: it may not know it.
    if (pending.status === "rejected") this.skipPendingUntil = Date.now() + PENDING_RETRY_MS;
    const pendingTime = pending.status === "fulfilled" ? pending.value?.timestamp : undefined;
    return { now: nextBlockTime(latest.value.timestamp, this.wallClock(), pendingTime ?? undefined), latest: latest.value.timestamp };
  }

  /** {@link read}'s `now`. */
  async now(): Promise<bigint> {
    return (await this.read()).now;
  }
}

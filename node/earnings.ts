import { type Address, type Hash, type TransactionReceipt, formatEther, getAbiItem } from "viem";
import { disputeGameAbi, jobMarketAbi, stakingAbi } from "../core/abi";
import type { ChainActor } from "../core/chain/actor";
import type { Counter, Gauge, Metrics } from "../core/service/metrics";

/**
 * What a node has earned and spent since it started, counted from what the chain says, not from what
 * the node meant to do:
 *  - fees: JobFinalized events naming the node (paid at once or credited to it), each job's fee as posted;
 *  - bonds won: DisputeGame Credited events to the node (a challenger's bond goes to the node that wins
 *    the game: it covers the node's gas in it);
 *  - gas: gasUsed × effectiveGasPrice from the receipt of every transaction the node sent (take, submit,
 *    finalise, reclaim, dispute moves, stake, withdrawals — reverted ones too: they cost gas as well);
 *  - collateral lost: Staking StakeSlashed events (a lost dispute) and CollateralForfeited events (a
 *    missed delivery deadline, when someone reclaimed the job) naming the node;
 *  - net: fees + bonds − gas − collateral lost.
 *
 * The node's transactions are seen by wrapping its clients ({@link Earnings.actor}): every
 * writeContract is noted and its receipt, when the sender waits for it (core/chain/actor.ts `send`,
 * ChainWorker.sendWhenDue), is counted; a receipt the sender did not get is fetched on the next round.
 * Amounts are wei (bigints); the metrics give them in ETH. Everything counts from the block after the
 * head at {@link Earnings.start}: a restarted node starts again from zero (Prometheus counters reset
 * with the process, which `increase()` and `rate()` allow for).
 */

/** The node's earnings since it started, wei, for `/status`. */
export interface EarningsSummary {
  /** Counted from the block after this one. */
  readonly sinceBlock: bigint | null;
  /** Events folded up to this block. */
  readonly countedTo: bigint | null;
  /** Fees of the node's results finalised (JobFinalized), paid or credited. */
  readonly feesEarned: bigint;
  readonly jobsPaid: number;
  /** Challengers' bonds credited to the node for games it won. */
  readonly bondsWon: bigint;
  /** Σ gasUsed × effectiveGasPrice over the node's transactions. */
  readonly gasSpent: bigint;
  readonly transactions: number;
  /** Gas spent per contract function. */
  readonly gasByAction: Readonly<Record<string, bigint>>;
  /** Collateral slashed after lost disputes (StakeSlashed). */
  readonly lostToSlashes: bigint;
  readonly slashes: number;
  /** Collateral forfeited to requesters for missed delivery deadlines (CollateralForfeited). */
  readonly lostToMissedDeadlines: bigint;
  readonly missedDeadlines: number;
  /** feesEarned + bondsWon − gasSpent − lostToSlashes − lostToMissedDeadlines. */
  readonly net: bigint;
}

const EVENTS = [
  getAbiItem({ abi: jobMarketAbi, name: "JobFinalized" }),
  getAbiItem({ abi: jobMarketAbi, name: "JobReopened" }),
  getAbiItem({ abi: stakingAbi, name: "StakeSlashed" }),
  getAbiItem({ abi: stakingAbi, name: "CollateralForfeited" }),
  getAbiItem({ abi: disputeGameAbi, name: "Credited" }),
  getAbiItem({ abi: disputeGameAbi, name: "AttemptSettled" }),
] as const;

/** Blocks per eth_getLogs request (public RPCs cap the range). */
const BATCH = 2_000n;

const eth = (wei: bigint) => Number(formatEther(wei));

export class Earnings {
  /** The actor to send the node's transactions with: its receipts are counted. */
  readonly actor: ChainActor;
  private readonly me: Address;
  private sinceBlock?: bigint;
  private countedTo?: bigint;
  /** Transactions sent whose receipt has not been counted yet, with the function called. */
  private readonly inFlight = new Map<Hash, string>();
  private fees = 0n;
  private jobsPaid = 0;
  private bonds = 0n;
  private gas = 0n;
  private transactions = 0;
  private readonly gasByAction = new Map<string, bigint>();
  private slashed = 0n;
  private slashes = 0;
  private forfeited = 0n;
  private missedDeadlines = 0;
  private readonly metrics: { fees: Counter; bonds: Counter; gas: Counter; lost: Counter; net: Gauge };

  constructor(
    private readonly base: ChainActor,
    metrics: Metrics,
  ) {
    this.me = base.walletClient.account.address;
    this.metrics = {
      fees: metrics.counter("fees_earned_eth_total", "Fees of this node's results finalised since it started, ETH"),
      bonds: metrics.counter("bonds_won_eth_total", "Challengers' bonds credited to this node for games it won, ETH"),
      gas: metrics.counter("gas_spent_eth_total", "Gas this node paid for its transactions (gasUsed × effectiveGasPrice), ETH", ["action"]),
      lost: metrics.counter("collateral_lost_eth_total", "Collateral this node lost: slashed after a lost dispute, or forfeited for a missed delivery deadline, ETH", ["reason"]),
      net: metrics.gauge("net_earnings_eth", "Fees + bonds won − gas − collateral lost since the node started, ETH"),
    };
    this.actor = { ...base, walletClient: this.tapWallet(base.walletClient), publicClient: this.tapPublic(base.publicClient) };
  }

  /** Counts from the block after the head now (the node's own transactions from now on in any case). */
  async start(): Promise<void> {
    if (this.sinceBlock !== undefined) return;
    const head = await this.base.publicClient.getBlockNumber({ cacheTime: 0 });
    this.sinceBlock = this.countedTo = head;
  }

  /**
   * Counts the receipts still owed, then the events of the blocks after the last update up to
   * `toBlock` (the index's synced block, so `feeOf` knows every job finalised in them). Without
   * {@link start}, the first update counts from the block after `toBlock`.
   */
  async update(toBlock: bigint, feeOf: (jobId: bigint) => bigint | undefined): Promise<void> {
    for (const hash of [...this.inFlight.keys()]) {
      const receipt = await this.base.publicClient.getTransactionReceipt({ hash }).catch(() => undefined);
      if (receipt) this.count(receipt);
    }
    if (this.countedTo === undefined) {
      this.sinceBlock = this.countedTo = toBlock;
      return;
    }
    const { jobMarket, staking, disputeGame } = this.base.deployment.contracts;
    for (let from = this.countedTo + 1n; from <= toBlock; from = this.countedTo + 1n) {
      const to = from + BATCH - 1n < toBlock ? from + BATCH - 1n : toBlock;
      const logs = await this.base.publicClient.getLogs({ address: [jobMarket, staking, disputeGame], events: EVENTS, fromBlock: from, toBlock: to, strict: true });
      // Fees first: a job whose fee is unknown stops the update before anything in the range is counted.
      const same = (a: Address, b: Address) => a.toLowerCase() === b.toLowerCase();
      const paid: { jobId: bigint; fee: bigint; feePaid: boolean }[] = [];
      for (const log of logs) {
        if (log.eventName !== "JobFinalized" || !same(log.address, jobMarket) || !same(log.args.node, this.me)) continue;
        const fee = feeOf(log.args.jobId);
        if (fee === undefined) throw new Error(`earnings: job ${log.args.jobId}, finalised in block ${log.blockNumber}, is not in the index yet`);
        paid.push({ jobId: log.args.jobId, fee, feePaid: log.args.feePaid });
      }
      for (const p of paid) {
        this.fees += p.fee;
        this.jobsPaid++;
        this.metrics.fees.inc(undefined, eth(p.fee));
        this.base.log.info("fee earned", { jobId: p.jobId, fee: p.fee, paid: p.feePaid ? "transferred" : "credited" });
      }
      // Losses and bonds, one transaction at a time: the job is named by the market's or the game's event in it.
      const byTx = new Map<Hash, typeof logs>();
      for (const log of logs) if (log.transactionHash) byTx.set(log.transactionHash, [...(byTx.get(log.transactionHash) ?? []), log]);
      for (const [txHash, txLogs] of byTx) {
        let slashedHere = 0n;
        let forfeitedHere = 0n;
        let requester: Address | undefined;
        let jobId: bigint | undefined;
        for (const log of txLogs) {
          if (log.eventName === "StakeSlashed" && same(log.address, staking) && same(log.args.account, this.me)) slashedHere += log.args.amount;
          else if (log.eventName === "CollateralForfeited" && same(log.address, staking) && same(log.args.account, this.me)) {
            forfeitedHere += log.args.amount;
            requester = log.args.to;
          } else if (log.eventName === "Credited" && same(log.address, disputeGame) && same(log.args.account, this.me)) {
            this.bonds += log.args.amount;
            this.metrics.bonds.inc(undefined, eth(log.args.amount));
          } else if (log.eventName === "AttemptSettled" && same(log.address, disputeGame)) jobId = log.args.jobId;
          else if (log.eventName === "JobReopened" && same(log.address, jobMarket) && same(log.args.formerNode, this.me)) jobId = log.args.jobId;
        }
        if (slashedHere > 0n) {
          this.slashed += slashedHere;
          this.slashes++;
          this.metrics.lost.inc({ reason: "slashed" }, eth(slashedHere));
          this.base.log.warn("collateral slashed: lost a dispute", { jobId, amount: slashedHere, txHash });
        }
        if (forfeitedHere > 0n) {
          this.forfeited += forfeitedHere;
          this.missedDeadlines++;
          this.metrics.lost.inc({ reason: "missed_deadline" }, eth(forfeitedHere));
          this.base.log.warn("collateral forfeited: missed the delivery deadline", { jobId, amount: forfeitedHere, requester, txHash });
        }
      }
      this.countedTo = to;
      this.metrics.net.set(eth(this.net));
    }
  }

  summary(): EarningsSummary {
    return {
      sinceBlock: this.sinceBlock ?? null,
      countedTo: this.countedTo ?? null,
      feesEarned: this.fees,
      jobsPaid: this.jobsPaid,
      bondsWon: this.bonds,
      gasSpent: this.gas,
      transactions: this.transactions,
      gasByAction: Object.fromEntries(this.gasByAction),
      lostToSlashes: this.slashed,
      slashes: this.slashes,
      lostToMissedDeadlines: this.forfeited,
      missedDeadlines: this.missedDeadlines,
      net: this.net,
    };
  }

  private get net(): bigint {
    return this.fees + this.bonds - this.gas - this.slashed - this.forfeited;
  }

  /** Counts a receipt of one of the node's transactions, once. */
  private count(receipt: TransactionReceipt): void {
    const action = this.inFlight.get(receipt.transactionHash);
    if (action === undefined) return;
    this.inFlight.delete(receipt.transactionHash);
    const wei = receipt.gasUsed * receipt.effectiveGasPrice;
    this.gas += wei;
    this.transactions++;
    this.gasByAction.set(action, (this.gasByAction.get(action) ?? 0n) + wei);
    this.metrics.gas.inc({ action }, eth(wei));
    this.metrics.net.set(eth(this.net));
  }

  /** The wallet client, noting the hash of every transaction it sends. */
  private tapWallet(wallet: ChainActor["walletClient"]): ChainActor["walletClient"] {
    const note = (action: string) => (hash: Hash) => {
      this.inFlight.set(hash, action);
      return hash;
    };
    return new Proxy(wallet, {
      get: (target, prop, receiver) => {
        if (prop === "writeContract") return (args: { functionName: string }) => target.writeContract(args as never).then(note(args.functionName));
        if (prop === "sendTransaction") return (args: unknown) => target.sendTransaction(args as never).then(note("sendTransaction"));
        return Reflect.get(target, prop, receiver);
      },
    });
  }

  /** The public client, counting each receipt of the node's transactions it is asked to wait for. */
  private tapPublic(client: ChainActor["publicClient"]): ChainActor["publicClient"] {
    return new Proxy(client, {
      get: (target, prop, receiver) => {
        if (prop === "waitForTransactionReceipt") {
          return async (args: unknown) => {
            const receipt = await target.waitForTransactionReceipt(args as never);
            this.count(receipt);
            return receipt;
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
  }
}

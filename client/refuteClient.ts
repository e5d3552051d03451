import { type Address, type Hash, type Hex, isHex, parseEventLogs, zeroAddress } from "viem";
import { digitClassifierAbi, disputeGameAbi, graphDisputesAbi, jobMarketAbi, stakingAbi } from "../core/abi";
import { toHex } from "../core/bytes";
import { RefuteContractError, decodeError } from "../core/chain/contractError";
import type { Deployment } from "../core/chain/deployment";
import type { RefutePublicClient, RefuteWalletClient } from "../core/chain/rpcClients";
import { type Finality, type Job, JobStatus, NOT_DUE_ERRORS, applyJobEvent, finalityAt, mayExpire, mayReclaim, toJobArgument, toJobEvent } from "../core/jobState";
import { ChainClock } from "../core/chain/chainTime";
import { JobEndedError, RefuteClientError, WaitTimeoutError } from "./errors";
import { type FinalResult, type JobResult, type JobState, finalResultOf, loadJob, softResultOf } from "./jobHistory";
import { type JobUpdate, type WatchJobOptions, watchJob } from "./watchJob";

/**
 * The dapp SDK: post inference jobs to a Refute deployment, read and wait for their soft and final
 * results, watch them, finalise them, expire or reclaim them when nobody served them in time, and read
 * contract reverts as named errors. Everything it says
 * about a job is rebuilt from the market's events and checked against the hash the market stores.
 *
 *   const client = new RefuteClient({ publicClient, walletClient, deployment });
 *   const { jobId } = await client.postJob({ input, fee: parseEther("0.001"), collateral: parseEther("0.01") });
 *   const soft = await client.waitFor(jobId, "soft", { timeoutMs: 60_000 });
 */

export interface RefuteClientParameters {
  readonly publicClient: RefutePublicClient;
  /** Needed to post, finalise, expire, reclaim, cancel and withdraw; reading needs none. */
  readonly walletClient?: RefuteWalletClient;
  readonly deployment: Deployment;
}

export interface PostJobParameters {
  /** The model's input, one int8 per element (Int8Array, its bytes, or hex). */
  readonly input: Int8Array | Uint8Array | Hex;
  /** The fee escrowed for the node, wei. */
  readonly fee: bigint;
  /** Stake the node must lock, wei (at least the market's minCollateral). */
  readonly collateral: bigint;
  /** The registered model (default: the deployment's model). */
  readonly modelId?: bigint;
  /** Contract called back with the final result (default: none). */
  readonly consumer?: Address;
  /** Gas for that callback; required with a consumer. */
  readonly callbackGasLimit?: bigint;
  /** Latest time (unix seconds) a node may take the job (default: latest block time + ttlSeconds). */
  readonly expiresAt?: bigint;
  /** Used when expiresAt is not given (default 3,600 s). */
  readonly ttlSeconds?: bigint;
}

export interface PostJobReturnType {
  readonly jobId: bigint;
  readonly txHash: Hash;
  readonly blockNumber: bigint;
  /** The job as posted (from JobPosted). */
  readonly job: Job;
}

export interface WaitForOptions {
  /** Give up after this many ms with a {@link WaitTimeoutError} (default 10 minutes). */
  readonly timeoutMs?: number;
  /** Called with the job each time it changes (first with the job as it is). */
  readonly onProgress?: (update: JobUpdate) => void;
  /** Poll interval in ms (default: the public client's pollingInterval). */
  readonly pollingIntervalMs?: number;
  /** Stops the wait, rejecting with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Waiting for the final result: finalise the job yourself once its challenge window has ended with
   * no dispute open and nobody else has (needs a walletClient; costs the gas of one finalize). The
   * node that served a job normally finalises it to be paid; this makes the wait independent of it.
   */
  readonly finalize?: boolean;
  /**
   * Waiting for the final result: called once when the job's challenge window has ended with no
   * dispute open and it is still not finalised (judged by the time the next block would have,
   * {@link RefuteClient.finality}): anyone may finalise it now. Without `finalize` the wait goes on until
   * someone does (the node that served it normally does within seconds).
   */
  readonly onFinalizable?: (info: FinalizableInfo) => void;
  /**
   * Seconds the result may stay finalisable before `onFinalizable` is called and `finalize` acts
   * (default 0): a grace in which the node that served it finalises it, as it does within a round.
   */
  readonly graceSeconds?: number;
}

/** What {@link WaitForOptions.onFinalizable} is told. */
export interface FinalizableInfo {
  readonly jobId: bigint;
  /** When the challenge window ended (unix seconds). */
  readonly since: bigint;
  /** Seconds since then, by the time the next block would have. */
  readonly overdueSeconds: bigint;
  /** Whether this wait finalises it itself ({@link WaitForOptions.finalize}). */
  readonly finalizing: boolean;
}

/** {@link RefuteClient.finality}: where a job stands on its way to a final result, and the time it was judged by. */
export type JobFinality = Finality & {
  /** The time a transaction sent now would see (core/jobState.ts nextBlockTime), unix seconds. */
  readonly at: bigint;
};

/** {@link RefuteClient.stakeOf}: wei, and the unix time the unbonding stake may be withdrawn. */
export interface StakeAccount {
  readonly free: bigint;
  readonly locked: bigint;
  readonly unbonding: bigint;
  readonly unbondingReadyAt: bigint;
}

/** Wei owed to an account by each contract that pays by withdrawal, and their sum. */
export interface Credits {
  readonly market: bigint;
  readonly staking: bigint;
  readonly game: bigint;
  /** The graph games' GraphDisputes (bonds and rewards of games on graph models). */
  readonly graphGame: bigint;
  /** The deployment's example consumer (DigitClassifier.owed). */
  readonly consumer: bigint;
  readonly total: bigint;
}

export interface FinalizeReturnType {
  readonly txHash: Hash;
  readonly feePaid: boolean;
  readonly callbackSucceeded: boolean;
}

/** {@link RefuteClient.expire}'s answer. */
export interface ExpireReturnType {
  readonly txHash: Hash;
  /** The fee credited back to the requester (see {@link RefuteClient.withdraw}), wei. */
  readonly refunded: bigint;
  /** The requester it was credited to. */
  readonly requester: Address;
}

/** {@link RefuteClient.reclaim}'s answer. */
export interface ReclaimReturnType {
  readonly txHash: Hash;
  /** The node that missed its delivery deadline. */
  readonly formerNode: Address;
  /** Its collateral, credited to the requester in the staking contract (see {@link RefuteClient.withdraw}), wei. */
  readonly compensation: bigint;
  /** The requester it was credited to. */
  readonly requester: Address;
  /** Until when (unix seconds) the reopened job may be taken by another node. */
  readonly expiresAt: bigint;
}

const DEFAULT_TTL = 3_600n;
const DEFAULT_WAIT_MS = 600_000;

export class RefuteClient {
  readonly publicClient: RefutePublicClient;
  readonly walletClient: RefuteWalletClient | undefined;
  readonly deployment: Deployment;
  private readonly clock: ChainClock;

  constructor({ publicClient, walletClient, deployment }: RefuteClientParameters) {
    const chainId = publicClient.chain?.id;
    if (chainId !== undefined && chainId !== deployment.chainId) {
      throw new RefuteClientError(`the deployment is for chain ${deployment.chainId}, but the public client is on chain ${chainId}`);
    }
    if (walletClient && walletClient.chain.id !== deployment.chainId) {
      throw new RefuteClientError(`the deployment is for chain ${deployment.chainId}, but the wallet client is on chain ${walletClient.chain.id}`);
    }
    this.publicClient = publicClient;
    this.walletClient = walletClient;
    this.deployment = deployment;
    this.clock = new ChainClock(publicClient);
  }

  private get market(): Address {
    return this.deployment.contracts.jobMarket;
  }

  private wallet(action: string): RefuteWalletClient {
    if (!this.walletClient) throw new RefuteClientError(`${action} needs a walletClient with an account`);
    return this.walletClient;
  }

  /** Sends a market transaction, waits for it, and returns its receipt; reverts become RefuteContractErrors. */
  private async send(action: string, write: (wallet: RefuteWalletClient) => Promise<Hash>) {
    const wallet = this.wallet(action);
    try {
      const receipt = await this.publicClient.waitForTransactionReceipt({ hash: await write(wallet) });
      if (receipt.status !== "success") throw new RefuteClientError(`${action}: transaction ${receipt.transactionHash} reverted`);
      return receipt;
    } catch (e) {
      throw decodeError(e);
    }
  }

  /**
   * The smallest collateral a job on `modelId` (default: the deployment's model) may ask for, as the market
   * checks it (JobMarket.minCollateralOf): the market's floor, or more for a model whose longest dispute costs
   * the honest challenger more gas than the reward at the floor would cover (a Dense or a graph model).
   */
  async minCollateral(modelId: bigint = this.deployment.model.id): Promise<bigint> {
    return this.publicClient.readContract({ address: this.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: "minCollateralOf", args: [modelId] });
  }

  /** Posts a job with its fee; returns its id and the job as posted. */
  async postJob(p: PostJobParameters): Promise<PostJobReturnType> {
    const input = inputHex(p.input);
    const consumer = p.consumer ?? zeroAddress;
    if (consumer !== zeroAddress && p.callbackGasLimit === undefined) {
      throw new RefuteClientError(`postJob: callbackGasLimit is required with consumer ${consumer} (without gas its callback cannot run)`);
    }
    const expiresAt = p.expiresAt ?? (await this.publicClient.getBlock()).timestamp + (p.ttlSeconds ?? DEFAULT_TTL);
    const receipt = await this.send("postJob", (w) =>
      w.writeContract({
        address: this.market,
        abi: jobMarketAbi,
        functionName: "postJob",
        args: [p.modelId ?? this.deployment.model.id, input, consumer, checkedNumber("callbackGasLimit", p.callbackGasLimit ?? 0n, 32), p.collateral, checkedNumber("expiresAt", expiresAt, 40)],
        value: p.fee,
      }),
    );
    const [posted] = parseEventLogs({ abi: jobMarketAbi, logs: receipt.logs, eventName: "JobPosted" }).filter((l) => l.address.toLowerCase() === this.market.toLowerCase());
    if (!posted) throw new RefuteClientError(`postJob: no JobPosted event in ${receipt.transactionHash}`);
    const change = toJobEvent(posted.eventName, posted.args as unknown as Record<string, unknown>)!;
    return { jobId: change.jobId, txHash: receipt.transactionHash, blockNumber: receipt.blockNumber, job: applyJobEvent(undefined, change.event) };
  }

  /**
   * The job now (or at `blockNumber`): its events folded with core/jobState.ts and checked against
   * `jobHash(jobId)`. Throws JobNotFoundError, JobHashMismatchError or JobHistoryError.
   */
  async getJob(jobId: bigint, blockNumber?: bigint): Promise<JobState> {
    try {
      return await loadJob(this.publicClient, this.market, jobId, this.deployment.startBlock, blockNumber);
    } catch (e) {
      throw decodeError(e);
    }
  }

  /** The output submitted for the job's current attempt (readable at once, before the window ends), or null. */
  async softResult(jobId: bigint): Promise<JobResult | null> {
    return softResultOf(await this.getJob(jobId));
  }

  /** The finalised output, or null while the job is not finalised. */
  async finalResult(jobId: bigint): Promise<FinalResult | null> {
    return finalResultOf(await this.getJob(jobId));
  }

  /**
   * Where the job stands on its way to a final result: final, ended without one, awaiting a result,
   * inside its challenge window (and until when), disputed, or finalisable (window over, no dispute:
   * anyone may call {@link finalize}). Time is judged as a transaction sent now would see it: the
   * latest block's time + 1, this machine's clock or the pending block's time, whichever is latest
   * (core/jobState.ts nextBlockTime) — on a chain that mines only when a transaction arrives the
   * latest block may be long past.
   */
  async finality(jobId: bigint): Promise<JobFinality> {
    return this.finalityOf(await this.getJob(jobId));
  }

  private async finalityOf(state: JobState): Promise<JobFinality> {
    const [at, open] = await Promise.all([
      this.clock.now(),
      state.job.status === JobStatus.Submitted ? this.publicClient.readContract({ address: this.market, abi: jobMarketAbi, functionName: "openDisputes", args: [state.jobId, Number(state.job.attempt)] }) : 0n,
    ]);
    return { ...finalityAt(state.job, at, open), at };
  }

  /**
   * Calls `onUpdate` with the job now and each time it changes, until the returned function is
   * called. Read errors go to `options.onError` and the watch goes on.
   */
  watchJob(jobId: bigint, onUpdate: (update: JobUpdate) => void, options: WatchJobOptions = {}): () => void {
    return watchJob(this.publicClient, (block) => this.getJob(jobId, block), onUpdate, options);
  }

  /**
   * Resolves with the soft result (a result submitted for the current attempt) or the final result
   * (the job finalised). Rejects with JobEndedError if the job is cancelled or expires first,
   * WaitTimeoutError after `timeoutMs`, and at once on a job that does not exist or whose events do
   * not match the market's hash. A result becomes final only when someone finalises it after its
   * window (the node that served it does, to be paid); waiting for it, `onFinalizable` says when that
   * is overdue and `finalize: true` does it.
   */
  waitFor(jobId: bigint, awaited: "soft", options?: WaitForOptions): Promise<JobResult>;
  waitFor(jobId: bigint, awaited: "final", options?: WaitForOptions): Promise<FinalResult>;
  waitFor(jobId: bigint, awaited: "soft" | "final", options: WaitForOptions = {}): Promise<JobResult | FinalResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
    if (options.finalize && awaited === "final" && !this.walletClient) return Promise.reject(new RefuteClientError("waitFor with finalize needs a walletClient with an account"));
    return new Promise((resolve, reject) => {
      let lastStatus: JobStatus | undefined;
      let lastError: Error | undefined;
      let lastState: JobState | undefined;
      let stopped = false;
      let unwatch = () => undefined as void;
      let finalityTimer: NodeJS.Timeout | undefined;
      const done = (settle: () => void) => {
        stopped = true;
        unwatch();
        clearTimeout(timer);
        clearTimeout(finalityTimer);
        options.signal?.removeEventListener("abort", onAbort);
        settle();
      };
      const onAbort = () => done(() => reject(options.signal!.reason));
      const timer = setTimeout(() => done(() => reject(new WaitTimeoutError(jobId, awaited, timeoutMs, lastStatus, lastError))), timeoutMs);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener("abort", onAbort);
      unwatch = this.watchJob(
        jobId,
        (update) => {
          const { state } = update;
          lastState = state;
          lastStatus = state.job.status;
          options.onProgress?.(update);
          const result = awaited === "soft" ? softResultOf(state) : finalResultOf(state);
          if (result) return done(() => resolve(result));
          if (state.job.status === JobStatus.Cancelled || state.job.status === JobStatus.Expired) done(() => reject(new JobEndedError(jobId, state.job.status, awaited)));
        },
        {
          pollingIntervalMs: options.pollingIntervalMs,
          onError: (e) => {
            // A job that does not exist or does not match the market's hash will not get better by waiting.
            if (e instanceof RefuteClientError) done(() => reject(e));
            else lastError = e;
          },
        },
      );
      if (awaited !== "final" || (!options.finalize && !options.onFinalizable)) return;
      // A window that ends mines no block: its end is seen by the clock, not by the watch above.
      const interval = options.pollingIntervalMs ?? this.publicClient.pollingInterval;
      let told = false;
      /** Whether this wait sent the finalize (the watch then sees JobFinalized at the next block). */
      const checkFinality = async (): Promise<boolean> => {
        const state = lastState;
        if (state?.job.status !== JobStatus.Submitted) return false;
        const f = await this.finalityOf(state);
        if (stopped || f.kind !== "finalizable" || f.overdueSeconds < BigInt(Math.ceil(options.graceSeconds ?? 0))) return false;
        if (!told) {
          told = true;
          options.onFinalizable?.({ jobId, since: f.since, overdueSeconds: f.overdueSeconds, finalizing: Boolean(options.finalize) });
        }
        if (!options.finalize) return false;
        await this.finalizeJob(state);
        return true;
      };
      const loop = async () => {
        let sent = false;
        try {
          sent = await checkFinality();
        } catch (e) {
          const error = decodeError(e);
          // Not due by the chain's own clock yet, or finalised (or disputed) by someone else meanwhile: the watch will tell.
          if (!(error instanceof RefuteContractError && (NOT_DUE_ERRORS.has(error.errorName) || error.errorName === "JobMarketJobMismatch" || error.errorName === "JobMarketDisputesOpen"))) lastError = error;
        }
        if (!stopped && !sent) finalityTimer = setTimeout(loop, interval);
      };
      finalityTimer = setTimeout(loop, interval);
    });
  }

  /**
   * Finalises a submitted job after its challenge window (anyone may); pays the node and calls the
   * consumer back. The call is simulated against the pending block first (on a chain that mines on
   * demand, the block it will be in), so a call the market would refuse costs no gas and throws the
   * market's error: JobMarketDeadlineNotReached inside the window, JobMarketDisputesOpen while a
   * dispute is open ({@link finality} tells beforehand).
   */
  async finalize(jobId: bigint): Promise<FinalizeReturnType> {
    const state = await this.getJob(jobId);
    if (state.job.status !== JobStatus.Submitted) throw new RefuteClientError(`finalize: job ${jobId} is ${JobStatus[state.job.status]}, not Submitted`);
    return this.finalizeJob(state);
  }

  /** finalize, for a job read as Submitted: simulated and estimated against the pending block, then sent. */
  private async finalizeJob(state: JobState): Promise<FinalizeReturnType> {
    const { jobId } = state;
    const result = softResultOf(state);
    if (!result) throw new RefuteClientError(`finalize: job ${jobId} has no submitted result`);
    const receipt = await this.send("finalize", async (w) => {
      const call = { address: this.market, abi: jobMarketAbi, functionName: "finalize", args: [jobId, toJobArgument(state.job), result.outputHex], account: w.account } as const;
      await this.publicClient.simulateContract({ ...call, blockTag: "pending" });
      const gas = await this.publicClient.estimateContractGas({ ...call, blockTag: "pending" });
      return w.writeContract({ ...call, gas });
    });
    const [event] = parseEventLogs({ abi: jobMarketAbi, logs: receipt.logs, eventName: "JobFinalized" });
    if (!event) throw new RefuteClientError(`finalize: no JobFinalized event in ${receipt.transactionHash}`);
    return { txHash: receipt.transactionHash, feePaid: event.args.feePaid, callbackSucceeded: event.args.callbackSucceeded };
  }

  /**
   * Closes an open job nobody took before its expiry (anyone may; typically its requester, whose fee is
   * then credited back: see {@link withdraw}). Refused with a RefuteClientError, before anything is sent,
   * when the job is not open or may still be taken (until `expiresAt`, judged by the time a transaction
   * sent now would see, as {@link finality} does). The call is simulated against the pending block first,
   * so a try the chain's own clock does not agree with costs no gas and throws the market's
   * `JobMarketNotExpired`.
   */
  async expire(jobId: bigint): Promise<ExpireReturnType> {
    const { job } = await this.getJob(jobId);
    if (job.status !== JobStatus.Open) throw new RefuteClientError(`expire: job ${jobId} is ${JobStatus[job.status]}, not Open (only a job nobody has taken expires)`);
    const now = await this.clock.now();
    if (!mayExpire(job, now)) {
      throw new RefuteClientError(`expire: job ${jobId} may be taken until ${isoTime(job.expiresAt)} (${job.expiresAt - now} s from now); it can be expired after that`);
    }
    const receipt = await this.send("expire", async (w) => {
      const call = { address: this.market, abi: jobMarketAbi, functionName: "expireJob", args: [jobId, toJobArgument(job)], account: w.account } as const;
      await this.publicClient.simulateContract({ ...call, blockTag: "pending" });
      const gas = await this.publicClient.estimateContractGas({ ...call, blockTag: "pending" });
      return w.writeContract({ ...call, gas });
    });
    if (parseEventLogs({ abi: jobMarketAbi, logs: receipt.logs, eventName: "JobExpired" }).length === 0) throw new RefuteClientError(`expire: no JobExpired event in ${receipt.transactionHash}`);
    return { txHash: receipt.transactionHash, refunded: job.fee, requester: job.requester };
  }

  /**
   * Reopens a taken job whose node missed its delivery deadline (anyone may): the node's collateral is
   * credited to the requester as compensation (see {@link withdraw}) and the job is open again for
   * another node until at least the deployment's reopening window from now. Refused with a
   * RefuteClientError, before anything is sent, when the job is not taken or its node still has time
   * (until its `deadline`, judged by the time a transaction sent now would see). The call is simulated
   * against the pending block first, so a try the chain's own clock does not agree with costs no gas and
   * throws the market's `JobMarketDeadlineNotReached`.
   */
  async reclaim(jobId: bigint): Promise<ReclaimReturnType> {
    const { job } = await this.getJob(jobId);
    if (job.status !== JobStatus.Taken) throw new RefuteClientError(`reclaim: job ${jobId} is ${JobStatus[job.status]}, not Taken (only a job whose node missed its delivery deadline can be reclaimed)`);
    const now = await this.clock.now();
    if (!mayReclaim(job, now)) {
      throw new RefuteClientError(`reclaim: job ${jobId}'s node ${job.node} has until ${isoTime(job.deadline)} (${job.deadline - now} s from now) to deliver its result; it can be reclaimed after that`);
    }
    const receipt = await this.send("reclaim", async (w) => {
      const call = { address: this.market, abi: jobMarketAbi, functionName: "reclaimJob", args: [jobId, toJobArgument(job)], account: w.account } as const;
      await this.publicClient.simulateContract({ ...call, blockTag: "pending" });
      const gas = await this.publicClient.estimateContractGas({ ...call, blockTag: "pending" });
      return w.writeContract({ ...call, gas });
    });
    const [reopened] = parseEventLogs({ abi: jobMarketAbi, logs: receipt.logs, eventName: "JobReopened" });
    const [compensated] = parseEventLogs({ abi: jobMarketAbi, logs: receipt.logs, eventName: "RequesterCompensated" });
    if (!reopened || !compensated) throw new RefuteClientError(`reclaim: no JobReopened and RequesterCompensated events in ${receipt.transactionHash}`);
    return { txHash: receipt.transactionHash, formerNode: reopened.args.formerNode, compensation: compensated.args.amount, requester: job.requester, expiresAt: BigInt(reopened.args.expiresAt) };
  }

  /** A node operator's stake: free (may back new jobs), locked (collateral of jobs), unbonding and when it may be withdrawn (unix seconds, 0 when nothing unbonds). */
  async stakeOf(account: Address): Promise<StakeAccount> {
    const [free, locked, unbonding, unbondingReadyAt] = await this.publicClient.readContract({ address: this.deployment.contracts.staking, abi: stakingAbi, functionName: "accountOf", args: [account] });
    return { free, locked, unbonding, unbondingReadyAt };
  }

  /** Adds `wei` to the caller's free stake. */
  async stake(wei: bigint): Promise<Hash> {
    const receipt = await this.send("stake", (w) => w.writeContract({ address: this.deployment.contracts.staking, abi: stakingAbi, functionName: "stake", value: wei }));
    return receipt.transactionHash;
  }

  /** Starts unbonding `wei` of the caller's free stake; it may be withdrawn (see {@link withdrawUnstaked}) once the deployment's unbonding delay has passed since the latest request. */
  async requestUnstake(wei: bigint): Promise<Hash> {
    const receipt = await this.send("requestUnstake", (w) => w.writeContract({ address: this.deployment.contracts.staking, abi: stakingAbi, functionName: "requestUnstake", args: [wei] }));
    return receipt.transactionHash;
  }

  /** Sends the caller's unbonded stake once its delay has passed. */
  async withdrawUnstaked(): Promise<Hash> {
    const receipt = await this.send("withdrawUnstaked", (w) => w.writeContract({ address: this.deployment.contracts.staking, abi: stakingAbi, functionName: "withdrawUnstaked" }));
    return receipt.transactionHash;
  }

  /** Cancels an open job of the caller's; its fee is credited back (see {@link withdraw}). */
  async cancelJob(jobId: bigint): Promise<Hash> {
    const state = await this.getJob(jobId);
    const receipt = await this.send("cancelJob", (w) => w.writeContract({ address: this.market, abi: jobMarketAbi, functionName: "cancelJob", args: [jobId, toJobArgument(state.job)] }));
    return receipt.transactionHash;
  }

  /**
   * What every contract of the deployment that pays by withdrawal owes `account`, wei: the market (fees of
   * cancelled or expired jobs, fees a node could not take at finalisation), staking (forfeited and slashed
   * collateral: a requester's compensation), the dispute games (bonds and rewards: the Dense game and the graph
   * games' GraphDisputes) and the example consumer
   * (what the DigitClassifier passed on to the account as the payer of its jobs).
   */
  async credits(account: Address): Promise<Credits> {
    const owed = await Promise.all(this.creditHolders().map((h) => this.publicClient.readContract({ address: h.address, abi: h.abi, functionName: h.view, args: [account] } as never) as Promise<bigint>));
    const [market, staking, game, graphGame, consumer] = owed;
    return { market, staking, game, graphGame, consumer, total: market + staking + game + graphGame + consumer };
  }

  /** Withdraws everything the contracts owe the wallet account ({@link credits}); returns what came from each. */
  async withdraw(): Promise<Credits> {
    const owed = await this.credits(this.wallet("withdraw").account.address);
    for (const h of this.creditHolders()) {
      if (owed[h.key] === 0n) continue;
      await this.send(`withdraw from the ${h.key === "game" ? "dispute game" : h.key === "graphGame" ? "graph games (GraphDisputes)" : h.key}`, (w) => w.writeContract({ address: h.address, abi: h.abi, functionName: "withdraw", args: [] } as never));
    }
    return owed;
  }

  /** The contracts that pay by withdrawal, with the view that says what each owes. */
  private creditHolders() {
    const { jobMarket, staking, disputeGame, graphDisputes, digitClassifier } = this.deployment.contracts;
    return [
      { key: "market", address: jobMarket, abi: jobMarketAbi, view: "credits" },
      { key: "staking", address: staking, abi: stakingAbi, view: "credits" },
      { key: "game", address: disputeGame, abi: disputeGameAbi, view: "credits" },
      { key: "graphGame", address: graphDisputes, abi: graphDisputesAbi, view: "credits" },
      { key: "consumer", address: digitClassifier, abi: digitClassifierAbi, view: "owed" },
    ] as const;
  }

  /** `e` as a RefuteContractError when it is a contract revert (named error and arguments), else `e`. */
  decodeError(e: unknown): Error {
    return decodeError(e);
  }
}

/** Unix seconds as an ISO 8601 time (UTC). */
function isoTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}

function inputHex(input: Int8Array | Uint8Array | Hex): Hex {
  if (typeof input === "string") {
    if (!isHex(input, { strict: true }) || input.length % 2 !== 0) throw new RefuteClientError(`postJob: input must be bytes or an even-length 0x hex string, got ${input.slice(0, 20)}…`);
    return input.toLowerCase() as Hex;
  }
  if (input instanceof Int8Array || input instanceof Uint8Array) return toHex(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  throw new RefuteClientError(`postJob: input must be an Int8Array, a Uint8Array or hex, got ${typeof input}`);
}

/** A bigint as the number viem encodes a narrow uint from; throws naming the field if it does not fit. */
function checkedNumber(field: string, v: bigint, bits: number): number {
  if (v < 0n || v >= 1n << BigInt(bits)) throw new RefuteClientError(`postJob: ${field} must fit in uint${bits}, got ${v}`);
  return Number(v);
}

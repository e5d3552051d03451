import { encodePacked, keccak256 } from "viem";

/**
 * Which results the watcher re-executes, and the rate that deters cheating (Proof of Sampling).
 *
 * A node that skips the work saves C (the cost of one honest inference). A watcher re-executes a
 * result with probability p; if it finds a false one it wins the dispute unless it colludes with the
 * node (a share r of watchers might). Caught, the node loses the fee R it would have earned and its
 * collateral S, slashed in full once every game on the result has resolved; a share c
 * (challengerRewardBps / 10,000, at most one half) of S is shared by the challengers that won, and a
 * node can win part of that back by challenging its own result from another address. What a caught
 * node surely loses is therefore R + (1 − c)·S, and cheating does not pay while
 *
 *     p · (1 − r) · (R + (1 − c) · S) > C,   i.e.   p > p_min = C / ((1 − r) · (R + (1 − c) · S)).
 */

export interface SamplingEconomics {
  /** R: the job's fee, wei. */
  readonly fee: bigint;
  /** S: the collateral the node locked, wei. */
  readonly collateral: bigint;
  /** c·10,000: the deployment's challengerRewardBps, the share of S the challengers that won share. */
  readonly rewardBps: bigint;
  /** C: what a node saves by not computing one result, wei. */
  readonly computeCost: bigint;
  /** r: the share of watchers that collude with nodes, 0 ≤ r < 1. */
  readonly collusion: number;
}

/** R + (1 − c)·S: what a caught node loses even when it wins back the whole reward pool through its own challenges. */
export function caughtLoss(e: Pick<SamplingEconomics, "fee" | "collateral" | "rewardBps">): bigint {
  if (e.rewardBps < 0n || e.rewardBps > 10_000n) throw new RangeError(`the reward share must be 0 … 10,000 bps, got ${e.rewardBps}`);
  return e.fee + e.collateral - (e.collateral * e.rewardBps) / 10_000n;
}

/** p_min = C / ((1 − r)(R + (1 − c)S)), capped at 1 (no rate deters a cheat worth more than what is at stake). */
export function minimumSamplingRate(e: SamplingEconomics): number {
  if (!(e.collusion >= 0 && e.collusion < 1)) throw new RangeError(`the collusion share must be in [0, 1), got ${e.collusion}`);
  const atStake = Number(caughtLoss(e)) * (1 - e.collusion);
  if (atStake <= 0) return 1;
  return Math.min(1, Number(e.computeCost) / atStake);
}

/** True when rate p deters cheating on a job with these economics. */
export function deters(p: number, e: SamplingEconomics): boolean {
  return p * (1 - e.collusion) * Number(caughtLoss(e)) > Number(e.computeCost);
}

/**
 * Whether the watcher samples `attempt` of `jobId`: a deterministic draw from the watcher's seed, so a
 * restarted watcher samples the same results, and nodes cannot tell which ones in advance (the seed
 * is the watcher's secret).
 */
export function sampled(seed: string, jobId: bigint, attempt: bigint, p: number): boolean {
  if (p >= 1) return true;
  if (p <= 0) return false;
  const draw = BigInt(keccak256(encodePacked(["string", "uint256", "uint256"], [seed, jobId, attempt])));
  return Number(draw >> 203n) / 2 ** 53 < p;
}

import { encodePacked, keccak256 } from "viem";

/**
 * Which results the watcher re-executes, and the rate that deters cheating (Proof of Sampling).
 *
 * A node that skips the work saves C (the cost of one honest inference). A watcher re-executes a
 * result with probability p; if it finds a false one it wins the dispute unless it colludes with the
 * node (a share r of watchers might). Caught, the node loses the fee R it would have earned and the
 * collateral S it locked. Cheating does not pay while the expected loss exceeds the saving:
 *
 *     p · (1 − r) · (R + S) > C,   i.e.   p > p_min = C / ((1 − r) · (R + S)).
 */

export interface SamplingEconomics {
  /** R: the job's fee, wei. */
  readonly fee: bigint;
  /** S: the collateral the node locked, wei. */
  readonly collateral: bigint;
  /** C: what a node saves by not computing one result, wei. */
  readonly computeCost: bigint;
  /** r: the share of watchers that collude with nodes, 0 ≤ r < 1. */
  readonly collusion: number;
}

/** p_min = C / ((1 − r)(R + S)), capped at 1 (no rate deters a cheat worth more than the stake). */
export function minimumSamplingRate(e: SamplingEconomics): number {
  if (!(e.collusion >= 0 && e.collusion < 1)) throw new RangeError(`the collusion share must be in [0, 1), got ${e.collusion}`);
  const atStake = Number(e.fee + e.collateral) * (1 - e.collusion);
  if (atStake <= 0) return 1;
  return Math.min(1, Number(e.computeCost) / atStake);
}

/** True when rate p deters cheating on a job with these economics. */
export function deters(p: number, e: SamplingEconomics): boolean {
  return p * (1 - e.collusion) * Number(e.fee + e.collateral) > Number(e.computeCost);
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

import type { OverheadRow } from "./commitmentBench";
import type { DisputeRun } from "./disputeBench";
import { fmt, table } from "./timing";

/**
 * Refute's measured MNIST figures next to the published ones of the systems it is measured against.
 * The anchors are quoted, not re-run here: EZKL and ddkang/zkml proving times for an MNIST MLP as
 * their authors report them, and opML's MNIST challenge time from its repository.
 */
export const ANCHORS = {
  ezklProvingSeconds: [2.7, 38],
  ddkangZkmlProvingSeconds: [8, 22],
  opmlChallengeSeconds: 120,
} as const;

export function anchorsTable(mnistOverhead: OverheadRow, mnistDispute: DisputeRun): { table: string; results: Record<string, unknown> } {
  const honestMs = mnistOverhead.inferenceWithTraceMs - mnistOverhead.inferenceMs;
  const txs = mnistDispute.transactions;
  const results = {
    honestPathExtraMs: honestMs,
    disputeTransactions: txs,
    disputeGas: mnistDispute.totalGas,
    disputeLocalSeconds: mnistDispute.wallSeconds,
    disputeAt2sBlocksSeconds: 2 * txs,
    disputeAt12sBlocksSeconds: 12 * txs,
  };
  const [ezLo, ezHi] = ANCHORS.ezklProvingSeconds;
  const [zkLo, zkHi] = ANCHORS.ddkangZkmlProvingSeconds;
  return {
    results,
    table: table(
      ["what is compared (MNIST MLP)", "anchor (reported)", "Refute (measured here)"],
      [
        ["extra work per honest inference", `EZKL proof: ${ezLo}–${ezHi} s`, `trace root: ${fmt(honestMs, 3)} ms (${fmt((ezLo * 1000) / honestMs, 0)}× less than EZKL's fastest)`],
        ["extra work per honest inference", `ddkang/zkml proof: ${zkLo}–${zkHi} s`, `trace root: ${fmt(honestMs, 3)} ms`],
        ["cost of settling a wrong result", "zkML: none beyond the proof (verified on every job)", `only when disputed: ${txs} transactions, ${mnistDispute.totalGas.toLocaleString("en-US")} gas, largest ${mnistDispute.largest.gas.toLocaleString("en-US")}`],
        ["time to settle a challenge", `opML: under ${ANCHORS.opmlChallengeSeconds} s`, `${fmt(mnistDispute.wallSeconds, 2)} s of play on a local chain; ${txs} sequential transactions ≈ ${2 * txs} s at 2 s blocks, ≈ ${12 * txs} s at 12 s blocks`],
        ["finality of an honest result", "zkML: at proof; opML: after its window", "soft at once, final after the challenge window (a deployment parameter)"],
      ],
    ),
  };
}

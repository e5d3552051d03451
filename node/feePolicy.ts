import { AMOUNT_SYNTAX, parseAmount } from "../core/amount";

/**
 * The smallest fee a node operator takes a job for: one minimum for every model (`--min-fee`) and
 * per-model minimums that override it (`--min-fees 2=0.01,3=0.5eth`), amounts in the one syntax of
 * core/amount.ts. A job below its model's minimum is skipped (logged once, counted).
 */

export interface FeePolicy {
  /** Wei; every model without its own minimum. */
  readonly minFee: bigint;
  /** Wei per model id, overriding {@link minFee}. */
  readonly perModel: ReadonlyMap<bigint, bigint>;
}

/** The smallest fee the node takes a job of `modelId` for, wei. */
export function minFeeFor(policy: FeePolicy, modelId: bigint): bigint {
  return policy.perModel.get(modelId) ?? policy.minFee;
}

/**
 * Reads the `--min-fees` entries into wei per model id. Throws an error naming the entry for one that
 * is malformed, an amount with more than 18 decimals, a model given twice, or a model the node does
 * not serve (`served`: the ids it serves), which would be a typo in a minimum that then never applies.
 */
export function parseMinFees(entries: readonly string[], served: readonly bigint[]): Map<bigint, bigint> {
  const perModel = new Map<bigint, bigint>();
  const given = new Map<bigint, string>();
  for (const raw of entries) {
    const entry = raw.trim();
    const eq = entry.indexOf("=");
    const idText = eq < 0 ? "" : entry.slice(0, eq).trim();
    if (!/^\d+$/.test(idText)) throw new Error(`--min-fees: ${JSON.stringify(entry)} is not <modelId>=<amount> (e.g. 2=0.01; amounts: ${AMOUNT_SYNTAX})`);
    const amount = parseAmount(entry.slice(eq + 1));
    if ("problem" in amount) throw new Error(`--min-fees: the amount in ${JSON.stringify(entry)} is ${amount.problem === "not an amount" ? `not an amount (${AMOUNT_SYNTAX})` : `wrong: ${amount.problem}`}`);
    const modelId = BigInt(idText);
    const before = given.get(modelId);
    if (before !== undefined) throw new Error(`--min-fees: model ${modelId} is given twice (${JSON.stringify(before)} and ${JSON.stringify(entry)})`);
    if (!served.includes(modelId)) {
      throw new Error(`--min-fees: ${JSON.stringify(entry)} names model ${modelId}, which this node does not serve (it serves ${served.length === 0 ? "none" : served.join(", ")})`);
    }
    given.set(modelId, entry);
    perModel.set(modelId, amount.wei);
  }
  return perModel;
}

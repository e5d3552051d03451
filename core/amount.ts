import { parseEther } from "viem";

/**
 * The one way every Refute command reads an amount of money: ETH as `1.5`, `0.01eth` or
 * `0.01 ether`; wei as `1000wei` or `1000 wei` (units in any case). Used by the daemons'
 * configuration, the CLI and the deploy script alike.
 */
export const AMOUNT_SYNTAX = "ETH as 1.5, 0.01eth or 0.01 ether, or wei as 1000wei";

const ETHER = /^(\d+(?:\.\d+)?)\s*(?:eth|ether)?$/i;
const WEI = /^(\d+)\s*wei$/i;

/** Wei, or why `text` is not an amount ("not an amount", "more than 18 decimals"). */
export function parseAmount(text: string): { wei: bigint } | { problem: string } {
  const s = text.trim();
  const wei = WEI.exec(s);
  if (wei) return { wei: BigInt(wei[1]) };
  const eth = ETHER.exec(s);
  if (!eth) return { problem: "not an amount" };
  if ((eth[1].split(".")[1] ?? "").length > 18) return { problem: "more than 18 decimals" };
  return { wei: parseEther(eth[1]) };
}

/** True when `text` names its unit (eth, ether or wei), as opposed to a bare number. */
export function hasUnit(text: string): boolean {
  return /(eth|ether|wei)$/i.test(text.trim());
}

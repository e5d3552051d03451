import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import type { Abi, Hex } from "viem";
import { PACKAGE_ROOT } from "../packageRoot";

/**
 * Compiled Hardhat artifacts read at run time: the one place that knows where `hardhat compile`
 * puts a contract's ABI and bytecode. The ABI exporter (scripts/export-abis.ts) and the deployer
 * (core/chain/deploy.ts) both read contracts through it.
 */

/** The repository root (where hardhat.config.ts lives), or the installed package's. */
export const REPO_ROOT = PACKAGE_ROOT;
/** Where `hardhat compile` writes artifacts. */
export const ARTIFACTS_DIR = path.join(REPO_ROOT, "artifacts");

export interface ContractArtifact {
  readonly contractName: string;
  /** The Solidity source, e.g. `contracts/examples/DigitClassifier.sol`. */
  readonly sourceName: string;
  readonly abi: Abi;
  readonly bytecode: Hex;
  /** The artifact file it was read from. */
  readonly file: string;
}

/** A contract artifact that is missing, ambiguous or malformed; the message says which and where. */
export class ArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactError";
  }
}

/**
 * The artifact of contract `name` under `<artifactsDir>/contracts/**`. Throws {@link ArtifactError}
 * when there is none (not compiled), more than one (two sources declare the name) or it is malformed.
 */
export function readArtifact(name: string, artifactsDir = ARTIFACTS_DIR): ContractArtifact {
  const root = path.join(artifactsDir, "contracts");
  if (!existsSync(root)) throw new ArtifactError(`no compiled contracts in ${root}: run \`npx hardhat compile\``);
  const found = findFiles(root, `${name}.json`).filter((f) => path.dirname(f).endsWith(".sol"));
  if (found.length === 0) throw new ArtifactError(`no artifact for contract ${name} under ${root}: run \`npx hardhat compile\``);
  if (found.length > 1) throw new ArtifactError(`contract name ${name} is ambiguous, artifacts: ${found.join(", ")}`);
  const file = found[0];
  let json: { contractName?: unknown; sourceName?: unknown; abi?: unknown; bytecode?: unknown };
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ArtifactError(`artifact ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (json.contractName !== name) throw new ArtifactError(`artifact ${file} is for contract ${String(json.contractName)}, not ${name}`);
  if (!Array.isArray(json.abi)) throw new ArtifactError(`artifact ${file} has no abi array`);
  if (typeof json.bytecode !== "string" || !/^0x[0-9a-fA-F]*$/.test(json.bytecode)) throw new ArtifactError(`artifact ${file} has no hex bytecode`);
  if (typeof json.sourceName !== "string") throw new ArtifactError(`artifact ${file} has no sourceName`);
  return { contractName: name, sourceName: json.sourceName, abi: json.abi as Abi, bytecode: json.bytecode as Hex, file };
}

function findFiles(dir: string, fileName: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...findFiles(full, fileName));
    else if (entry === fileName) out.push(full);
  }
  return out.sort();
}

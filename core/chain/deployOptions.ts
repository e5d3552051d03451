import { hasUnit } from "../amount";
import { UsageError, parseEthAmount, parseUint } from "./cliOptions";
import { DEFAULT_DEPLOY_PROFILE, DEPLOY_PROFILES, type DeployProfile, parameterRuleProblems } from "./deploy";
import { type DeploymentParameters, PARAMETER_NAMES } from "./deployment";

/**
 * What a deploy command reads besides the chain: the profile (`--profile NAME`), its overrides
 * (`--param NAME=VALUE`), and what to tell a user who deploys the standard profile on a local chain.
 * `npm run deploy` (scripts/deploy.ts) and `npx hardhat refute:deploy` (tasks/deploy.ts) share it, so
 * both accept and refuse the same values with the same messages.
 */

/** The profiles' names, the default first as declared in {@link DEPLOY_PROFILES}. */
export const PROFILE_NAMES = Object.keys(DEPLOY_PROFILES) as DeployProfile[];

/** The chain id of `npx hardhat node` (and of the in-process Hardhat network). */
export const HARDHAT_CHAIN_ID = 31337;

/** The profiles' values side by side, one parameter a line (for a command's help). */
export function profileTable(): string {
  const width = Math.max(...PARAMETER_NAMES.map((n) => n.length)) + 2;
  const cell = (v: string) => v.padStart(20);
  const head = `  ${"".padEnd(width)}${PROFILE_NAMES.map((p) => cell(p === DEFAULT_DEPLOY_PROFILE ? `${p} (default)` : p)).join("")}`;
  const rows = PARAMETER_NAMES.map((n) => `  ${n.padEnd(width)}${PROFILE_NAMES.map((p) => cell(String(DEPLOY_PROFILES[p].parameters[n]))).join("")}`);
  return [head, ...rows].join("\n");
}

/**
 * The parameters a deployment gets: the profile's, with the overrides; throws UsageError naming an
 * unknown profile or a broken rule between the values (before anything is sent).
 */
export function deployParameters(profile: string | undefined, overrides: Partial<DeploymentParameters>): { profile: DeployProfile; parameters: DeploymentParameters } {
  const name = (profile ?? DEFAULT_DEPLOY_PROFILE) as DeployProfile;
  if (!Object.hasOwn(DEPLOY_PROFILES, name)) throw new UsageError(`--profile must be one of ${PROFILE_NAMES.join(", ")}, got ${JSON.stringify(profile)}`);
  const parameters = { ...DEPLOY_PROFILES[name].parameters, ...overrides };
  const problems = parameterRuleProblems(parameters);
  if (problems.length > 0) throw new UsageError(`the parameters break the contracts' rules (profile ${name}${Object.keys(overrides).length ? " with --param overrides" : ""}): ${problems.join("; ")}`);
  return { profile: name, parameters };
}

/** `NAME=VALUE` overrides as parameters; names and values checked. */
export function parseParamOverrides(values: readonly string[]): Partial<DeploymentParameters> {
  const out: Partial<Record<keyof DeploymentParameters, bigint>> = {};
  for (const v of values) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(v);
    if (!m) throw new UsageError(`--param must be NAME=VALUE, got ${JSON.stringify(v)}`);
    const [, name, value] = m;
    if (!(PARAMETER_NAMES as readonly string[]).includes(name)) throw new UsageError(`--param ${name}: unknown parameter; known: ${PARAMETER_NAMES.join(", ")}`);
    // A bare integer is the parameter's own unit (seconds, gas, basis points, wei); an amount names its unit.
    out[name as keyof DeploymentParameters] = hasUnit(value) ? parseEthAmount(`--param ${name}`, value) : parseUint(`--param ${name}`, value);
  }
  return out;
}

/**
 * The note for a deployment of another profile than `local` on a Hardhat chain (a result final only
 * minutes after it is submitted), or undefined.
 */
export function localProfileNote(chainId: number, profile: DeployProfile, parameters: DeploymentParameters): string | undefined {
  if (chainId !== HARDHAT_CHAIN_ID || profile === "local") return undefined;
  return `note: a result becomes final ${parameters.challengeWindow} s after it is submitted; for local development deploy with --profile local (${DEPLOY_PROFILES.local.parameters.challengeWindow} s)`;
}

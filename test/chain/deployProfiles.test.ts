import { expect } from "chai";
import { UsageError } from "../../core/chain/cliOptions";
import { DEFAULT_DEPLOY_PROFILE, DEPLOY_PROFILES, LOCAL_DEV_PARAMETERS, LOCAL_PARAMETERS, parameterRuleProblems } from "../../core/chain/deploy";
import { PARAMETER_NAMES } from "../../core/chain/deployment";
import { deployCli, deployParameters } from "../../scripts/deploy";
import { expectThrows } from "../helpers/expectThrows";

/**
 * The deployment profiles (core/chain/deploy.ts, `npm run deploy -- --profile NAME`): `standard`, the
 * default, and `local`, short windows for development on one machine. Deploying a profile on a chain
 * is test/e2e/onDemandChain.test.ts; this file needs no chain.
 */
describe("deployment profiles (npm run deploy -- --profile)", () => {
  it("standard is the default and is the parameters deploySystem has always defaulted to", () => {
    expect(DEFAULT_DEPLOY_PROFILE).to.equal("standard");
    expect(DEPLOY_PROFILES.standard.parameters).to.equal(LOCAL_PARAMETERS);
    expect(deployParameters(undefined, {})).to.deep.equal({ profile: "standard", parameters: LOCAL_PARAMETERS });
  });

  it("local has short windows (a result final 30 s after submission) and keeps the contracts' rules", () => {
    expect(DEPLOY_PROFILES.local.parameters).to.equal(LOCAL_DEV_PARAMETERS);
    expect(LOCAL_DEV_PARAMETERS).to.include({ challengeWindow: 30n, deliveryWindow: 60n, reopenWindow: 30n });
    for (const [name, { parameters }] of Object.entries(DEPLOY_PROFILES)) {
      expect(parameterRuleProblems(parameters), name).to.deep.equal([]);
      expect(parameters.unbondingDelay > parameters.challengeWindow + parameters.maxDisputeDuration, name).to.equal(true);
      expect(2n * parameters.clockBudget + 12n <= parameters.maxDisputeDuration, name).to.equal(true);
    }
    expect(deployParameters("local", {}).parameters).to.deep.equal(LOCAL_DEV_PARAMETERS);
  });

  it("--param overrides one value of the profile; a set that breaks a rule or an unknown profile is refused before anything is sent", () => {
    expect(deployParameters("local", { challengeWindow: 5n }).parameters).to.deep.equal({ ...LOCAL_DEV_PARAMETERS, challengeWindow: 5n });
    expectThrows(() => deployParameters("fast", {}), UsageError, /--profile must be one of standard, local, got "fast"/);
    expectThrows(
      () => deployParameters("local", { challengeWindow: 400n }),
      UsageError,
      /profile local with --param overrides.*unbondingDelay \(600\) must exceed challengeWindow \+ maxDisputeDuration \(400 \+ 300\)/,
    );
    expectThrows(() => deployParameters("local", { clockBudget: 200n }), UsageError, /2·clockBudget \+ 12 \(412\) must not exceed maxDisputeDuration \(300\)/);
  });

  it("the help lists every profile with every parameter's value, and how to run a local chain", async () => {
    const help: string[] = [];
    expect(await deployCli(["--help"], { out: (l) => help.push(l), err: (l) => help.push(l) })).to.equal(0);
    const DEPLOY_USAGE = help.join("\n");
    for (const p of Object.keys(DEPLOY_PROFILES)) expect(DEPLOY_USAGE).to.match(new RegExp(`^ +${p} +\\S`, "m"));
    expect(DEPLOY_USAGE).to.match(/standard \(default\) +local$/m);
    for (const n of PARAMETER_NAMES) expect(DEPLOY_USAGE).to.match(new RegExp(`^  ${n} +${LOCAL_PARAMETERS[n]} +${LOCAL_DEV_PARAMETERS[n]}$`, "m"));
    expect(DEPLOY_USAGE).to.include("npx hardhat node --block-interval 1000");
    expect(DEPLOY_USAGE).to.include("--profile local");

    const out: string[] = [];
    const err: string[] = [];
    expect(await deployCli(["--rpc-url", "http://127.0.0.1:1", "--private-key", `0x${"11".repeat(32)}`, "--profile", "quick"], { out: (l) => out.push(l), err: (l) => err.push(l) })).to.equal(2);
    expect(err.join("\n")).to.match(/--profile must be one of standard, local, got "quick"\n\(run with --help for usage\)/);
  });
});

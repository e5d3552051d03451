import { task, types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Deployment } from "../core/chain/deployment";
import type { TaskIo } from "./common";

/**
 * `npx hardhat refute:deploy --network localhost --profile local`: the Refute contracts on the selected
 * network, as `npm run deploy` deploys them (core/chain/deploy.ts, the profiles of
 * core/chain/deployOptions.ts), and the deployment file the SDK, the CLI, nodes and watchers read.
 */

export interface DeployTaskArgs {
  readonly profile?: string;
  /** `NAME=VALUE` overrides, comma-separated. */
  readonly param?: string;
  readonly out: string;
  readonly rpcUrl?: string;
  readonly privateKey?: string;
  readonly noCompile: boolean;
}

task("refute:deploy", "Deploys Refute (registry, staking, market, dispute game, the MNIST model) and writes the deployment file")
  .addOptionalParam("profile", "Parameters to start from: standard (default; windows of minutes, for any chain) or local (a result final 30 s after submission)", undefined, types.string)
  .addOptionalParam("param", "Overrides of the profile, NAME=VALUE[,NAME=VALUE…] (integers in the parameter's unit, or amounts: 0.05eth, 1000wei)", undefined, types.string)
  .addOptionalParam("out", "Where to write the deployment file", "deployment.json", types.string)
  .addOptionalParam("rpcUrl", "A JSON-RPC URL to deploy to instead of --network's", undefined, types.string)
  .addOptionalParam("privateKey", "The deployer's key (default: the network's first account; or set REFUTE_PRIVATE_KEY)", undefined, types.string)
  .addFlag("noCompile", "Do not compile the contracts first")
  .setAction(async (args: DeployTaskArgs, hre) => refuteDeploy(args, hre));

/** The task's action: deploys, writes `--out`, prints its path on stdout; returns the deployment. */
export async function refuteDeploy(args: DeployTaskArgs, hre: HardhatRuntimeEnvironment, io?: TaskIo): Promise<Deployment> {
  const { consoleIo, connectChain, resolvePath, runTask, senderOf } = await import("./common");
  const { deployParameters, localProfileNote, parseParamOverrides } = await import("../core/chain/deployOptions");
  const { deploySystem } = await import("../core/chain/deploy");
  const { writeDeployment } = await import("../core/chain/deployment");
  const { err, out } = io ?? consoleIo;
  return runTask(async () => {
    // Checked before anything is compiled or sent.
    const params = (args.param ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
    const { profile, parameters } = deployParameters(args.profile, parseParamOverrides(params));
    const outFile = resolvePath(args.out);
    if (!args.noCompile) await hre.run("compile", { quiet: true });
    const chain = await connectChain(hre, args);
    const wallet = await senderOf(chain, args);
    err(`deploying to chain ${chain.clients.chain.id} (${chain.name}) from ${wallet.account.address} with the ${profile} profile: challenge window ${parameters.challengeWindow} s`);
    const note = localProfileNote(chain.clients.chain.id, profile, parameters);
    if (note) err(note);
    if (chain.ephemeral) err("note: the in-process Hardhat network ends with this command; to keep the contracts, run `npx hardhat node` and pass --network localhost");
    const deployment = await deploySystem({ publicClient: chain.clients.publicClient, walletClient: wallet, parameters, artifactsDir: hre.config.paths.artifacts, onProgress: err });
    writeDeployment(outFile, deployment);
    err(`wrote ${outFile}: JobMarket ${deployment.contracts.jobMarket}, model ${deployment.model.id}`);
    out(outFile);
    return deployment;
  });
}

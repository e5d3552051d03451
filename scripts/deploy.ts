/**
 * Deploys the Refute system to any EVM chain and writes the deployment file that the SDK, the CLI,
 * nodes and watchers read (core/chain/deploy.ts does the work).
 *
 *   npm run deploy -- --rpc-url http://127.0.0.1:8545 --private-key 0x… --out deployment.json
 *   npm run deploy -- --rpc-url http://127.0.0.1:8545 --private-key 0x… --profile local     # short windows, local development
 *   npm run deploy -- --rpc-url URL --out d.json --param challengeWindow=3600 --param minCollateral=0.05eth
 */
import path from "node:path";
import { type CliIo, PRIVATE_KEY_ENV, cliProgram, privateKeyOption, required, runMain, runProgram } from "../core/chain/cliOptions";
import { DEFAULT_DEPLOY_PROFILE, DEPLOY_PROFILES, deploySystem } from "../core/chain/deploy";
import { PROFILE_NAMES, deployParameters, localProfileNote, parseParamOverrides, profileTable } from "../core/chain/deployOptions";
import { writeDeployment } from "../core/chain/deployment";
import { connectRpc, walletFor } from "../core/chain/rpcClients";

export { deployParameters, parseParamOverrides };

/** What --help prints after the options: the profiles' values and the contracts' rules. */
const DEPLOY_HELP_AFTER = `
Profiles:
${PROFILE_NAMES.map((p) => `  ${p.padEnd(10)}${DEPLOY_PROFILES[p].summary}`).join("\n")}

Parameters (seconds, wei, gas, basis points) of each profile:
${profileTable()}

The contracts require unbondingDelay > challengeWindow + maxDisputeDuration and
2·clockBudget + 12 ≤ maxDisputeDuration.

Local development: run a chain with \`npm run chain\` (\`npx hardhat node --block-interval 1000\`:
a block every second besides one per transaction; the daemons and the SDK also work on a plain
\`npx hardhat node\`, which mines only when a transaction arrives), then
  npm run deploy -- --rpc-url http://127.0.0.1:8545 --private-key <a key hardhat node prints> --profile local`;

interface DeployOptions {
  readonly rpcUrl?: string;
  readonly privateKey?: string;
  readonly out: string;
  readonly profile?: string;
  readonly param?: readonly string[];
}

/** Runs the command; resolves to the exit status (0 done, 1 failed, 2 bad command line). */
export async function deployCli(argv: readonly string[], io: CliIo): Promise<number> {
  return runProgram(
    () =>
      cliProgram("npm run deploy --", io)
        .description("Deploys ModelRegistry, Staking, JobMarket and DisputeGame, binds them, registers the MNIST reference model (models/mnist-mlp) and deploys the DigitClassifier example dapp on it.")
        .option("--rpc-url <url>", "JSON-RPC endpoint of the chain (required)")
        .option("--private-key <0x…>", `deployer's private key (or set ${PRIVATE_KEY_ENV})`)
        .option("--out <file>", "where to write the deployment", "deployment.json")
        .option("--profile <name>", `the parameters to start from: ${PROFILE_NAMES.join(" or ")} (below)`, DEFAULT_DEPLOY_PROFILE)
        .option("--param <NAME=VALUE>", "override one parameter of the profile; repeatable. Integers (seconds, gas, basis points, wei), or amounts with their unit: 0.05eth, 0.05 ether, 1000wei", (v: string, all: readonly string[] = []) => [...all, v])
        .addHelpText("after", DEPLOY_HELP_AFTER)
        .action((o: DeployOptions) => deploy(o, io)),
    argv,
    io,
  );
}

async function deploy(options: DeployOptions, io: CliIo): Promise<void> {
  const rpc = required("--rpc-url", options.rpcUrl);
  const key = privateKeyOption("--private-key", options.privateKey, PRIVATE_KEY_ENV);
  const { profile, parameters } = deployParameters(options.profile, parseParamOverrides(options.param ?? []));
  const outFile = path.resolve(options.out);
  const clients = await connectRpc(rpc, { pollingIntervalMs: 500 });
  const walletClient = walletFor(clients, key);
  io.err(`deploying to chain ${clients.chain.id} at ${rpc} from ${walletClient.account.address} with the ${profile} profile: challenge window ${parameters.challengeWindow} s`);
  const note = localProfileNote(clients.chain.id, profile, parameters);
  if (note !== undefined) io.err(note);
  const deployment = await deploySystem({ publicClient: clients.publicClient, walletClient, parameters, onProgress: io.err });
  writeDeployment(outFile, deployment);
  io.err(`wrote ${outFile}`);
  io.out(outFile);
}

if (require.main === module) runMain(deployCli);

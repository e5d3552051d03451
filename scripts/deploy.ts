/**
 * Deploys the Refute system to any EVM chain and writes the deployment file that the SDK, the CLI,
 * nodes and watchers read (core/chain/deploy.ts does the work).
 *
 *   npm run deploy -- --rpc http://127.0.0.1:8545 --key 0x… --out deployment.json
 *   npm run deploy -- --rpc URL --out d.json --param challengeWindow=3600 --param minCollateral=0.05eth
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { PRIVATE_KEY_ENV, UsageError, parseEthAmount, parseUint, privateKeyOption, required } from "../core/chain/cliOptions";
import { LOCAL_PARAMETERS, deploySystem } from "../core/chain/deploy";
import { type DeploymentParameters, PARAMETER_NAMES, writeDeployment } from "../core/chain/deployment";
import { connectRpc, walletFor } from "../core/chain/rpcClients";

export const DEPLOY_USAGE = `Usage: npm run deploy -- --rpc URL [--key 0x…] [--out FILE] [--param NAME=VALUE]…

Deploys ModelRegistry, Staking, JobMarket and DisputeGame, binds them, registers the MNIST
reference model (models/mnist-mlp) and deploys the DigitClassifier example dapp on it.

  --rpc URL            JSON-RPC endpoint of the chain (required)
  --key 0x…            deployer's private key (or set ${PRIVATE_KEY_ENV})
  --out FILE           where to write the deployment (default deployment.json)
  --param NAME=VALUE   override a parameter; repeatable. Integers (seconds, gas, basis points,
                       wei), or ETH amounts as 0.05eth. Defaults (a local chain):
${PARAMETER_NAMES.map((n) => `                         ${n}=${LOCAL_PARAMETERS[n]}`).join("\n")}
  -h, --help           this text
`;

/** `NAME=VALUE` overrides as parameters; names and values checked. */
export function parseParamOverrides(values: readonly string[]): Partial<DeploymentParameters> {
  const out: Partial<Record<keyof DeploymentParameters, bigint>> = {};
  for (const v of values) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(v);
    if (!m) throw new UsageError(`--param must be NAME=VALUE, got ${JSON.stringify(v)}`);
    const [, name, value] = m;
    if (!(PARAMETER_NAMES as readonly string[]).includes(name)) throw new UsageError(`--param ${name}: unknown parameter; known: ${PARAMETER_NAMES.join(", ")}`);
    out[name as keyof DeploymentParameters] = value.endsWith("eth") ? parseEthAmount(`--param ${name}`, value.slice(0, -3)) : parseUint(`--param ${name}`, value);
  }
  return out;
}

/** Runs the command; returns the exit status (0 done, 1 failed, 2 bad command line). */
export async function deployCli(argv: readonly string[], io: { out(line: string): void; err(line: string): void }): Promise<number> {
  let options;
  try {
    options = parseArgs({
      args: [...argv],
      options: { rpc: { type: "string" }, key: { type: "string" }, out: { type: "string" }, param: { type: "string", multiple: true }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    io.err(`${(e as Error).message}\nRun with --help for usage.`);
    return 2;
  }
  if (options.help) {
    io.out(DEPLOY_USAGE);
    return 0;
  }
  let rpc: string, key: `0x${string}`, parameters: Partial<DeploymentParameters>;
  try {
    rpc = required("--rpc", options.rpc);
    key = privateKeyOption("--key", options.key, PRIVATE_KEY_ENV);
    parameters = parseParamOverrides(options.param ?? []);
  } catch (e) {
    io.err(`${(e as Error).message}\nRun with --help for usage.`);
    return 2;
  }
  const outFile = path.resolve(options.out ?? "deployment.json");
  try {
    const clients = await connectRpc(rpc, { pollingIntervalMs: 500 });
    const walletClient = walletFor(clients, key);
    io.err(`deploying to chain ${clients.chain.id} at ${rpc} from ${walletClient.account.address}`);
    const deployment = await deploySystem({ publicClient: clients.publicClient, walletClient, parameters, onProgress: io.err });
    writeDeployment(outFile, deployment);
    io.err(`wrote ${outFile}`);
    io.out(outFile);
    return 0;
  } catch (e) {
    io.err((e as Error).message);
    return 1;
  }
}

if (require.main === module) {
  deployCli(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l) }).then((code) => process.exit(code));
}

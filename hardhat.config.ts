import path from "node:path";
import { HardhatUserConfig, subtask, task, types } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_NODE } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox";
import "./tasks"; // refute:deploy, refute:post, refute:wait, refute:deploy-consumer, refute:call (tasks/)

/** The one Solidity version of the project, compiled offline by the npm `solc` package. */
const SOLC_VERSION = "0.8.30";

// Hardhat would download the compiler; this machine reaches only the npm registry,
// so the build comes from the `solc` package's bundled soljson.js instead.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper(args);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  return {
    compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version(),
  };
});

// `npx hardhat node --block-interval 1000`: the local chain for development mines a block every second
// as well as one for each transaction, so its clock moves like a real chain's (docs/operations.md,
// "A local chain"). Only this command line sets it: the in-process network the tests run on, and a
// plain `hardhat node` (the demo, the end-to-end tests), keep mining only on transactions.
task(TASK_NODE)
  .addOptionalParam("blockInterval", "Also mine a block every this many milliseconds (local development; default: only on transactions)", undefined, types.int)
  .setAction(async (args: { blockInterval?: number }, hre, runSuper) => {
    if (args.blockInterval !== undefined) {
      if (!Number.isSafeInteger(args.blockInterval) || args.blockInterval < 1) throw new Error(`--block-interval must be a positive number of milliseconds, got ${args.blockInterval}`);
      await hre.network.provider.send("evm_setIntervalMining", [args.blockInterval]);
      console.log(`Mining a block every ${args.blockInterval} ms, and one for each transaction.`);
    }
    return runSuper(args);
  });

const config: HardhatUserConfig = {
  solidity: {
    compilers: [{ version: SOLC_VERSION, settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "cancun" } }],
    // DisputeGame optimised for size enough to stay under the 24,576-byte code limit (EIP-170): 22.9 kB at
    // 1,000 runs, 25.9 kB at 10,000.
    overrides: { "contracts/DisputeGame.sol": { version: SOLC_VERSION, settings: { optimizer: { enabled: true, runs: 1000 }, evmVersion: "cancun" } } },
  },
  paths: { tests: "test" },
  mocha: { timeout: 600_000 },
  gasReporter: { enabled: process.env.REPORT_GAS === "1" },
};

export default config;

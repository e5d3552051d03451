import { jobMarketAbi, stakingAbi } from "../core/abi";
import { type ChainActor, send } from "../core/chain/actor";
import { type RegisteredModel, resolveServedModels } from "../core/chain/registeredModels";
import { folderRoot } from "../core/modelFolders";
import { ConfigError, field } from "../core/service/config";
import { COMMON_CONFIG, modelConfig, runDaemon } from "../core/service/daemon";
import type { Logger } from "../core/service/logger";
import { Earnings } from "./earnings";
import { parseMinFees } from "./feePolicy";
import { NodeOperator } from "./nodeOperator";
import { type NodeModel, describeCheat, nodeModelOf, parseCheatMode } from "./resultComputer";

/**
 * `npm run node -- --rpc-url … --private-key … --deployment deployment.json`: the node operator
 * daemon (docs/operations.md). Every option also reads from REFUTE_<NAME> or a --config JSON file.
 */

const schema = {
  ...COMMON_CONFIG,
  ...modelConfig("serve"),
  stake: field.ether().optional().describe("Top the free stake up to this many ETH at start"),
  executionProviders: field.list(field.string()).default(["cpu"]).describe("onnxruntime execution providers, in order of preference"),
  cheat: field.string().default("none").describe("FOR DEMOS AND TESTS: none, wrong-output, wrong-layer:<l> or lazy"),
  minFee: field.ether().default(0n).describe("Take only jobs whose fee is at least this many ETH (every model without a --min-fees entry)"),
  minFees: field
    .list(field.string())
    .optional()
    .describe("Per-model minimum fees overriding --min-fee, modelId=amount (e.g. 2=0.01,3=0.5eth); each id must be a model the node serves"),
  share: field.string({ pattern: /^\d+\/\d+$/ }).optional().describe("Take only jobs with (jobId + earlier attempts) % n = k, given as k/n (several nodes sharing a load; a new job has no earlier attempt, a reopened one moves to the next node)"),
};

void runDaemon({
  service: "refute-node",
  usage: "refute-node: serves inference jobs, submits results with their trace commitments, defends its results in disputes",
  command: "npm run node --",
  schema,
  async start(daemonActor, config, metrics, log) {
    const cheat = parseCheatMode(config.cheat);
    if (cheat.kind !== "none") {
      log.warn("!!! THIS NODE CHEATS ON PURPOSE: it submits false results and will be slashed. For demos and tests only. !!!", { cheat: describeCheat(cheat) });
    }
    const share = config.share?.split("/").map(Number);
    if (share && !(share[1] > 0 && share[0] < share[1])) throw new ConfigError([{ key: "share", message: `must be k/n with 0 ≤ k < n, got ${config.share}` }]);
    const models = await Promise.all(
      (await resolveServedModels(daemonActor, { dirs: config.models, ids: config.modelIds, cacheDir: config.modelCache })).map(async (served) => {
        logServed(log, served);
        return nodeModelOf(served.modelId, served, { executionProviders: config.executionProviders });
      }),
    );
    const minFees = asConfigProblem("minFees", () => parseMinFees(config.minFees ?? [], models.map((m) => m.modelId)));
    log.info("minimum fees", { minFee: config.minFee, minFees: Object.fromEntries([...minFees].map(([id, wei]) => [String(id), wei])) });
    // Every transaction from here on goes through `earnings.actor`, whose receipts it counts (the stake too).
    const earnings = new Earnings(daemonActor, metrics);
    await earnings.start();
    const actor = earnings.actor;
    if (config.stake !== undefined) {
      const { staking } = actor.deployment.contracts;
      const [free] = await actor.publicClient.readContract({ address: staking, abi: stakingAbi, functionName: "accountOf", args: [actor.walletClient.account.address] });
      if (free < config.stake) {
        await send(actor, { address: staking, abi: stakingAbi, functionName: "stake", value: config.stake - free });
        log.info("staked", { wei: config.stake - free, free: config.stake });
      }
    }
    await warnIfStakeTooSmall(actor, models, log);
    return new NodeOperator(actor, { models, cheat, share: share && { index: share[0], of: share[1] }, minFee: config.minFee, minFees, earnings }, metrics);
  },
});

/**
 * Warns when the free stake cannot lock the smallest collateral of any model served: the node would
 * skip every job (each skip is logged too). The smallest is the market's (JobMarket.minCollateralOf):
 * its floor or the model's own, whichever is larger.
 */
async function warnIfStakeTooSmall(actor: ChainActor, models: readonly NodeModel[], log: Logger): Promise<void> {
  const { staking, jobMarket } = actor.deployment.contracts;
  const [free] = await actor.publicClient.readContract({ address: staking, abi: stakingAbi, functionName: "accountOf", args: [actor.walletClient.account.address] });
  for (const { modelId } of models) {
    const smallest = await actor.publicClient.readContract({ address: jobMarket, abi: jobMarketAbi, functionName: "minCollateralOf", args: [modelId] });
    if (free < smallest) log.warn("free stake cannot cover the smallest collateral of a served model: every job of it will be skipped (stake with --stake)", { modelId, free, smallestCollateral: smallest });
  }
}

/** The "serving model" line: the id, where the files came from, their kind and root, the model's size. */
function logServed(log: Logger, served: RegisteredModel): void {
  const { modelId, source, kind, files } = served;
  log.info("serving model", { modelId, source, kind, dir: files.dir, root: folderRoot(served), parameters: files.descriptor.parameterCount });
}

/** `read`'s value; its error as bad configuration of `key` (exit status 2, like every configuration problem). */
function asConfigProblem<T>(key: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new ConfigError([{ key, message: (e as Error).message.replace(/^--[a-z-]+: /, "") }]);
  }
}

import { disputeGameAbi, stakingAbi } from "../core/abi";
import { type ChainActor, send } from "../core/chain/actor";
import { resolveServedModels } from "../core/chain/registeredModels";
import { modelShape } from "../core/model";
import { OrtTraceRunner } from "../core/onnx/ortTraceRunner";
import { field } from "../core/service/config";
import { COMMON_CONFIG, modelConfig, runDaemon } from "../core/service/daemon";
import type { Logger } from "../core/service/logger";
import { NodeOperator } from "./nodeOperator";
import { type ServedModel, describeCheat, parseCheatMode } from "./resultComputer";

/**
 * `npm run node -- --rpc-url … --private-key … --deployment deployment.json`: the node operator
 * daemon (docs/operations.md). Every option also reads from REFUTE_<NAME> or a --config JSON file.
 */

const schema = {
  ...COMMON_CONFIG,
  ...modelConfig("serve"),
  stake: field.ether().optional().describe("top the free stake up to this many ETH at start"),
  executionProviders: field.list(field.string()).default(["cpu"]).describe("onnxruntime execution providers, in order of preference"),
  cheat: field.string().default("none").describe("FOR DEMOS AND TESTS: none, wrong-output, wrong-layer:<l> or lazy"),
  share: field.string({ pattern: /^\d+\/\d+$/ }).optional().describe("take only jobs with (jobId + earlier attempts) % n = k, given as k/n (several nodes sharing a load; a new job has no earlier attempt, a reopened one moves to the next node)"),
};

void runDaemon({
  service: "refute-node",
  usage: "refute-node: serves inference jobs, submits results with their trace commitments, defends its results in disputes",
  command: "npm run node --",
  schema,
  async start(actor, config, metrics, log) {
    const cheat = parseCheatMode(config.cheat);
    if (cheat.kind !== "none") {
      log.warn("!!! THIS NODE CHEATS ON PURPOSE: it submits false results and will be slashed. For demos and tests only. !!!", { cheat: describeCheat(cheat) });
    }
    const share = config.share?.split("/").map(Number);
    if (share && !(share[1] > 0 && share[0] < share[1])) throw new Error(`share must be k/n with 0 ≤ k < n, got ${config.share}`);
    const models = await Promise.all(
      (await resolveServedModels(actor, { dirs: config.models, ids: config.modelIds, cacheDir: config.modelCache })).map(async ({ modelId, files, source }) => {
        log.info("serving model", { modelId, source, dir: files.dir, root: files.root, parameters: files.descriptor.parameterCount });
        return { modelId, model: files.model, commitment: files.commitment, runner: await OrtTraceRunner.load(files.onnx, { executionProviders: [...config.executionProviders] }) };
      }),
    );
    if (config.stake !== undefined) {
      const { staking } = actor.deployment.contracts;
      const [free] = await actor.publicClient.readContract({ address: staking, abi: stakingAbi, functionName: "accountOf", args: [actor.walletClient.account.address] });
      if (free < config.stake) {
        await send(actor, { address: staking, abi: stakingAbi, functionName: "stake", value: config.stake - free });
        log.info("staked", { wei: config.stake - free, free: config.stake });
      }
    }
    await warnIfStakeTooSmall(actor, models, log);
    return new NodeOperator(actor, { models, cheat, share: share && { index: share[0], of: share[1] } }, metrics);
  },
});

/**
 * Warns when the free stake cannot lock the smallest collateral of any model served: the node would
 * skip every job (each skip is logged too). The smallest is the market's floor or the model's own
 * (DisputeGame.minCollateralFor), whichever is larger.
 */
async function warnIfStakeTooSmall(actor: ChainActor, models: readonly ServedModel[], log: Logger): Promise<void> {
  const { staking, disputeGame } = actor.deployment.contracts;
  const [free] = await actor.publicClient.readContract({ address: staking, abi: stakingAbi, functionName: "accountOf", args: [actor.walletClient.account.address] });
  for (const { modelId, model } of models) {
    const shape = modelShape(model);
    const forModel = await actor.publicClient.readContract({ address: disputeGame, abi: disputeGameAbi, functionName: "minCollateralFor", args: [BigInt(shape.layerCount), BigInt(shape.maxWidth)] });
    const floor = actor.deployment.parameters.minCollateral;
    const smallest = forModel > floor ? forModel : floor;
    if (free < smallest) log.warn("free stake cannot cover the smallest collateral of a served model: every job of it will be skipped (stake with --stake)", { modelId, free, smallestCollateral: smallest });
  }
}

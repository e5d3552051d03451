import { keccak256, toBytes } from "viem";
import { resolveServedModels } from "../core/chain/registeredModels";
import { field } from "../core/service/config";
import { COMMON_CONFIG, modelConfig, runDaemon } from "../core/service/daemon";
import { folderRoot } from "../core/modelFolders";
import { Watcher, watchedModelOf } from "./watcher";

/**
 * `npm run watcher -- --rpc-url … --private-key … --deployment deployment.json`: the watcher daemon
 * (docs/operations.md). It prints the sampling rate that deters cheating for the jobs it sees.
 */

const schema = {
  ...COMMON_CONFIG,
  ...modelConfig("re-execute"),
  samplingRate: field.number({ min: 0, max: 1 }).default(1).describe("p: the share of submitted results re-executed"),
  samplingSeed: field.string().optional().describe("Secret seed of the sampling draws (default: derived from the private key)"),
  computeCost: field.ether().default(5n * 10n ** 14n).describe("C, ETH: what a node saves by skipping one inference (for the deterrence report)"),
  collusion: field.number({ min: 0, max: 0.99 }).default(0).describe("r: share of watchers assumed to collude with nodes"),
};

void runDaemon({
  service: "refute-watcher",
  usage: "refute-watcher: re-executes a sample of submitted results, disputes wrong ones, plays the games, collects rewards",
  command: "npm run watcher --",
  schema,
  async start(actor, config, metrics, log) {
    const models = (await resolveServedModels(actor, { dirs: config.models, ids: config.modelIds, cacheDir: config.modelCache })).map((served) => {
      const { modelId, source, kind, files } = served;
      log.info("watching model", { modelId, source, kind, dir: files.dir, root: folderRoot(served) });
      return watchedModelOf(modelId, served);
    });
    const watcher = new Watcher(
      actor,
      {
        models,
        samplingRate: config.samplingRate,
        samplingSeed: config.samplingSeed ?? keccak256(toBytes(`${config.privateKey}/sampling`)),
        computeCost: config.computeCost,
        collusion: config.collusion,
      },
      metrics,
    );
    const { minCollateral } = actor.deployment.parameters;
    log.info("sampling economics: cheating does not pay while p·(1−r)·(R+S) > C", {
      r: config.collusion,
      C: config.computeCost,
      forFee: 0n,
      forCollateral: minCollateral,
      ...watcher.deterrence(0n, minCollateral),
    });
    return watcher;
  },
});

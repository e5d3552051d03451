import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { type Address, type EIP1193Provider, createPublicClient, createWalletClient, custom } from "viem";
import { hardhat } from "viem/chains";
import type { RefutePublicClient, RefuteWalletClient } from "../../core/chain/rpcClients";
import { OrtGraphRunner } from "../../core/graph/ortGraphRunner";
import { sizeOf } from "../../core/graph/program";
import { GraphTraceProvider } from "../../core/graph/traceProvider";
import { type GraphGameActor, deployGraphGame } from "../../core/graph/game/gameClient";
import { WORST_CASE_HEADER, type WorstCaseReport, overLimitLine, playWorstCases, worstCaseMoves, worstCaseRows } from "../../core/graph/game/worstCase";
import { initKeccak } from "../../core/keccak";
import { loadMnist } from "../../core/mnist";
import { importGraphModel } from "../../core/modelImport/graph/importGraphModel";
import { quantiseInput } from "../../core/quantise";
import { Rng } from "../../core/rng";
import { BIG_CONV_NET, bigConvNet, parameterCount } from "../lib/bigConvNet";
import { table } from "./timing";

/**
 * The worst-case dispute of each reference graph model per op kind (core/graph/game/worstCase.ts),
 * played on Hardhat's in-process chain through the viem client of the graph game: the imported CNN
 * (models/mnist-cnn, 200 calibration digits), the imported MobileNet-style model
 * (models/mobilenet-style) and the VGG-like network of over 10M parameters (scripts/lib/bigConvNet.ts,
 * random int8 input, its trace from onnxruntime). Quick: the CNN only. Any transaction above 500k gas
 * is flagged, not hidden.
 */

const CALIBRATION = 200;
const MODELS = path.join(__dirname, "..", "..", "models");

/** The games played on one reference model (core/graph/game/worstCase.ts) and the model's size. */
export type GraphDisputeModelRun = WorstCaseReport & {
  readonly model: string;
  readonly parameters: number;
  readonly leafCount: number;
  readonly setupSeconds: number;
};

interface Model {
  readonly name: string;
  readonly honest: GraphTraceProvider;
  readonly setupSeconds: number;
}

function clientsOf(provider: EIP1193Provider, account: Address): { publicClient: RefutePublicClient; walletClient: RefuteWalletClient } {
  return {
    publicClient: createPublicClient({ chain: hardhat, transport: custom(provider), pollingInterval: 10 }) as unknown as RefutePublicClient,
    walletClient: createWalletClient({ chain: hardhat, transport: custom(provider), account, pollingInterval: 10 }) as unknown as RefuteWalletClient,
  };
}

async function importedModel(name: string, file: string, digits: ReturnType<typeof loadMnist>): Promise<Model | undefined> {
  if (!existsSync(file)) return undefined;
  const t0 = Date.now();
  const imported = await importGraphModel(readFileSync(file), { calibration: digits.train.slice(0, CALIBRATION).map((d) => d.pixels) });
  const honest = GraphTraceProvider.fromInput(imported.program, quantiseInput(digits.test[0].pixels, imported.scales[0]));
  return { name, honest, setupSeconds: (Date.now() - t0) / 1000 };
}

async function bigModel(): Promise<Model> {
  const t0 = Date.now();
  const program = bigConvNet();
  const input = new Rng(7).int8Array(sizeOf(program.inputShape));
  const runner = await OrtGraphRunner.create(program);
  try {
    const honest = GraphTraceProvider.fromTrace(program, await runner.run(input));
    return { name: `VGG-like ${BIG_CONV_NET.stages.flat().length} conv (random int8)`, honest, setupSeconds: (Date.now() - t0) / 1000 };
  } finally {
    await runner.release();
  }
}


export async function benchGraphDisputes(options: { quick: boolean }): Promise<{ table: string; results: GraphDisputeModelRun[] }> {
  await initKeccak();
  await hre.run("compile", { quiet: true });
  const provider = hre.network.provider as unknown as EIP1193Provider;
  const [deployer, opener, asserter, challenger] = (await createWalletClient({ chain: hardhat, transport: custom(provider) }).getAddresses()) as Address[];
  const d = clientsOf(provider, deployer);
  const contracts = await deployGraphGame(d.publicClient, d.walletClient);
  const actor = (account: Address): GraphGameActor => ({ ...clientsOf(provider, account), game: contracts.game });

  const digits = loadMnist();
  const loaders: (() => Promise<Model | undefined>)[] = [
    () => importedModel("mnist-cnn (LeNet, imported)", path.join(MODELS, "mnist-cnn", "float.onnx"), digits),
    ...(options.quick ? [] : [() => importedModel("mobilenet-style (imported)", path.join(MODELS, "mobilenet-style", "float.onnx"), digits), bigModel]),
  ];
  const results: GraphDisputeModelRun[] = [];
  for (const [n, load] of loaders.entries()) {
    const m = await load();
    if (!m) continue;
    const report = await playWorstCases(m.honest, { opener: actor(opener), asserter: actor(asserter), challenger: actor(challenger) }, { quick: options.quick, keyPrefix: `graph bench ${n}` });
    results.push({ ...report, model: m.name, parameters: parameterCount(m.honest.program), leafCount: m.honest.leafCount, setupSeconds: m.setupSeconds });
  }
  return { results, table: graphDisputeTables(results) };
}

/** A table per model: op kind, where the lie is, transactions, total gas, largest transaction; flags above 500k. */
export function graphDisputeTables(runs: readonly GraphDisputeModelRun[]): string {
  const parts: string[] = [];
  for (const r of runs) {
    parts.push(
      `**${r.model}** (${r.parameters.toLocaleString("en-US")} parameters, ${r.leafCount} trace leaves; ${r.games.length} games, setup ${r.setupSeconds.toFixed(1)} s, games ${r.games.reduce((a, g) => a + g.seconds, 0).toFixed(1)} s)\n\n` +
        table(WORST_CASE_HEADER, worstCaseRows(r)),
    );
    parts.push(overLimitLine(r));
  }
  return parts.join("\n\n");
}

//   npx hardhat run scripts/bench/graphDisputeBench.ts                      # full
//   GRAPH_BENCH_QUICK=1 npx hardhat run scripts/bench/graphDisputeBench.ts  # the CNN only
if (require.main === module) {
  const quick = process.env.GRAPH_BENCH_QUICK === "1" || process.argv.includes("--quick");
  const started = Date.now();
  benchGraphDisputes({ quick })
    .then((r) => {
      console.log(`## Graph programs: the worst-case dispute per op kind (Hardhat network)\n\n${r.table}\n`);
      for (const run of r.results) console.log(`${run.model}, the worst game of each row move by move:\n\n${worstCaseMoves(run)}\n`);
      console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
    })
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    });
}

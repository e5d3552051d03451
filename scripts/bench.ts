/**
 * `npm run bench`: measures Refute and prints markdown tables; `--quick` for a smoke run.
 * Results also go to bench-results/bench.json with the machine, versions and date.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { benchKeccak, benchMerkleLibraries, benchTraceOverhead } from "./bench/commitmentBench";
import { anchorsTable } from "./bench/anchors";
import { benchDisputes, coverTable, movesTable, scaleTable } from "./bench/disputeBench";
import { cliProgram, runScript } from "../core/chain/cliOptions";
import { LOCAL_PARAMETERS } from "../core/chain/deploy";
import { benchNodeThroughput } from "./bench/nodeBench";
import { benchHappyPathGas } from "./bench/gasBench";
import { benchGraphCommitment } from "./bench/graphCommitment";
import { benchGraphDisputes } from "./bench/graphDisputeBench";
import { worstCaseMoves } from "../core/graph/game/worstCase";

async function main(quick: boolean): Promise<void> {
  const options = { quick };
  const started = Date.now();
  console.log(`# Refute benchmarks${quick ? " (quick)" : ""}\n`);
  const results: Record<string, unknown> = {};
  const section = async <R>(title: string, run: () => Promise<{ table: string; results: R }>): Promise<R> => {
    const { table, results: r } = await run();
    console.log(`## ${title}\n\n${table}\n`);
    results[title] = r;
    return r;
  };
  await section("keccak256", () => benchKeccak(options));
  await section("Merkle tree libraries", () => benchMerkleLibraries(options));
  const overhead = await section("Node: inference and trace commitment (onnxruntime CPU, default threads, batch 1)", () => benchTraceOverhead(options));
  await section("Graph programs: trace commitment on top of onnxruntime (issue 13)", async () => {
    const { table, results: rows, profile } = await benchGraphCommitment(options);
    return { results: rows, table: `${table}\n\nWhere the trace root's time goes:\n\n${profile}` };
  });
  await section("Node: jobs per second one operator sustains (MNIST, Hardhat network)", () => benchNodeThroughput(options));
  await section("Gas: one MNIST job, happy path (Hardhat network)", () => benchHappyPathGas());
  const disputes = await section("Disputes: the worst case per model, played automatically (Hardhat network)", async () => {
    const { table, results: runs } = await benchDisputes(options);
    return { results: runs, table: `${table}\n\nThe MNIST model's longest dispute, transaction by transaction:\n\n${movesTable(runs[0])}` };
  });
  await section("Who pays for a game: bonds and rewards against each side's gas in the longest game (Hardhat network)", async () => ({
    results: disputes.map((r) => ({ model: r.name, ...r.cover })),
    table: coverTable(disputes, LOCAL_PARAMETERS.coverGasPrice),
  }));
  await section("Graph programs: the worst-case dispute per op kind (Hardhat network)", async () => {
    const { table, results: runs } = await benchGraphDisputes(options);
    const moves = runs.map((r) => `${r.model}, the worst game of each row move by move:\n\n${worstCaseMoves(r)}`).join("\n\n");
    return { results: runs, table: `${table}\n\n${moves}` };
  });
  if (!options.quick) await section("Scale: the largest model served and disputed end to end", async () => ({ results: disputes.filter((r) => r.serve), table: scaleTable(disputes) }));
  await section("Against the anchors", async () => anchorsTable(overhead[0], disputes[0]));
  const outDir = path.join(__dirname, "..", "bench-results");
  mkdirSync(outDir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    quick,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.arch()}` },
    versions: {
      node: process.version,
      onnxruntime: require("onnxruntime-node/package.json").version,
      hardhat: require("hardhat/package.json").version,
      solc: require("solc/package.json").version,
      viem: require("viem/package.json").version,
    },
    seconds: (Date.now() - started) / 1000,
    results,
  };
  writeFileSync(path.join(outDir, quick ? "bench-quick.json" : "bench.json"), `${JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
  console.log(`(${report.seconds.toFixed(1)} s; results in bench-results/)`);
}

runScript((io) =>
  cliProgram("npm run bench --", io)
    .description("Measures Refute and prints markdown tables; results also go to bench-results/.")
    .option("--quick", "a smoke run: fewer repetitions and sizes")
    .action((o: { quick?: boolean }) => main(o.quick === true)),
);

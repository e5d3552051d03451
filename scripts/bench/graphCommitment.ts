/**
 * The commitment overhead of graph programs (issue 13: "trace root on top of onnxruntime, at most
 * 10 %"): for the convolutional MNIST model, the MobileNet-style model and a VGG-like network of
 * 14.7M parameters, onnxruntime's time for one inference of the integer graph as a node runs it
 * (core/graph/ortGraphRunner.ts: every tensor of the trace a graph output, batch 1, default
 * threads) against the time to commit that trace (commitGraphTrace on those outputs), medians of
 * interleaved runs; then where the trace root's time goes. The two MNIST models are imported from
 * models/ (256 training digits to calibrate) and run on a held-out digit; the VGG-like network
 * (scripts/lib/bigConvNet.ts, random int8 weights) on a random int8 image.
 *
 *   npx ts-node scripts/bench/graphCommitment.ts            # full
 *   npx ts-node scripts/bench/graphCommitment.ts --quick    # fewer runs
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { commitGraphTrace, tensorTree } from "../../core/graph/commitments";
import type { GraphTrace } from "../../core/graph/execute";
import { OrtGraphRunner, traceFromOutputs } from "../../core/graph/ortGraphRunner";
import { type GraphProgram, sizeOf } from "../../core/graph/program";
import { initKeccak, keccak256 } from "../../core/keccak";
import { MerkleTree, WORD_BYTES, leavesFor } from "../../core/merkle";
import { PAGE_WORDS, PagedTree } from "../../core/pagedTree";
import { loadMnist } from "../../core/mnist";
import { importGraphModel } from "../../core/modelImport/graph/importGraphModel";
import { PrefixTree } from "../../core/prefixTree";
import { quantiseInput } from "../../core/quantise";
import { Rng } from "../../core/rng";
import { BIG_CONV_NET, bigConvNet, parameterCount } from "../lib/bigConvNet";
import { fmt, median, medianMs, medianMsSync, table, timeMs } from "./timing";

const MODELS = path.join(__dirname, "..", "..", "models");

export interface GraphCommitmentBenchOptions {
  readonly quick: boolean;
}

export interface GraphCommitmentRow {
  readonly model: string;
  readonly parameters: number;
  /** Committed stages of one trace (the input, every op's accumulator or sum and its value; views left out). */
  readonly committedTensors: number;
  /** Their elements' bytes (int8: 1, int32: 4). */
  readonly committedBytes: number;
  /** 32-byte leaves over all of them (each tensor padded to whole leaves). */
  readonly leaves: number;
  readonly inferenceMs: number;
  readonly traceRootMs: number;
  /** traceRootMs / inferenceMs. */
  readonly overhead: number;
  /** Shares of the int8 values (input left out) at 127 and at 0: the requantisation is realistic when neither is near 1. */
  readonly saturated: number;
  readonly zeros: number;
  /** The process's peak resident set once this model is done (cumulative). */
  readonly peakRssMiB: number;
}

interface Case {
  readonly name: string;
  readonly program: GraphProgram;
  readonly input: Int8Array;
}

/** The trace of one input from onnxruntime's outputs (one tensor per trace entry, batch 1). */

async function importedCase(name: string, file: string, digits: ReturnType<typeof loadMnist>): Promise<Case | undefined> {
  if (!existsSync(file)) return undefined;
  const imported = await importGraphModel(readFileSync(file), { calibration: digits.train.slice(0, 256).map((d) => d.pixels) });
  return { name, program: imported.program, input: quantiseInput(digits.test[0].pixels, imported.scales[0]) };
}

export async function benchGraphCommitment(options: GraphCommitmentBenchOptions): Promise<{ table: string; results: GraphCommitmentRow[]; profile: string; profiles: TraceRootProfile[] }> {
  await initKeccak();
  const digits = loadMnist();
  const big = bigConvNet();
  const cases = [
    await importedCase("mnist-cnn (LeNet, imported)", path.join(MODELS, "mnist-cnn", "float.onnx"), digits),
    await importedCase("mobilenet-style (imported)", path.join(MODELS, "mobilenet-style", "float.onnx"), digits),
    { name: `VGG-like ${BIG_CONV_NET.stages.flat().length} conv (random int8)`, program: big, input: new Rng(7).int8Array(sizeOf(big.inputShape)) },
  ].filter((c): c is Case => c !== undefined);
  const runs = options.quick ? 5 : 21;
  const rows: GraphCommitmentRow[] = [];
  const profiles: TraceRootProfile[] = [];
  for (const c of cases) {
    const runner = await OrtGraphRunner.create(c.program);
    try {
      const layout = runner.layout;
      const run = async () => traceFromOutputs(layout, await runner.runBatch(c.input, 1));
      const first = await run(); // warm-up
      commitGraphTrace(first);
      const plain: number[] = [];
      const committed: number[] = [];
      // Interleaved, so that drift on a busy machine hits both alike.
      for (let i = 0; i < runs; i++) {
        const { ms, value: trace } = await timeMs(run);
        plain.push(ms);
        committed.push(await medianMs(1, () => commitGraphTrace(trace)));
      }
      const kept = layout.map((e, i) => ({ e, t: first.tensors[i] })).filter(({ e }) => e.stage.committed);
      // The int8 values after the input: how many the requantisation pins at 127 or 0.
      let at127 = 0;
      let at0 = 0;
      let count = 0;
      kept.forEach(({ e, t }) => {
        if (e.value === 0 || !(t instanceof Int8Array)) return;
        for (const x of t) {
          if (x === 127) at127++;
          if (x === 0) at0++;
        }
        count += t.length;
      });
      const inferenceMs = median(plain);
      const traceRootMs = median(committed);
      rows.push({
        model: c.name,
        parameters: parameterCount(c.program),
        committedTensors: kept.length,
        committedBytes: kept.reduce((n, { t }) => n + t.byteLength, 0),
        leaves: kept.reduce((n, { t }) => n + leavesFor(t.byteLength), 0),
        inferenceMs,
        traceRootMs,
        overhead: traceRootMs / inferenceMs,
        saturated: at127 / count,
        zeros: at0 / count,
        peakRssMiB: process.resourceUsage().maxRSS / 1024,
      });
      profiles.push(profileTraceRoot(c.name, first, options.quick ? 3 : 7));
    } finally {
      await runner.release();
    }
  }
  return {
    results: rows,
    profiles,
    profile: profileTable(profiles),
    table: table(
      ["model", "parameters", "committed tensors", "committed trace bytes", "leaves", "onnxruntime, ms", "trace root, ms", "overhead", "int8 values at 127 / at 0", "peak RSS, MiB"],
      rows.map((r) => [
        r.model,
        r.parameters.toLocaleString("en-US"),
        r.committedTensors,
        r.committedBytes.toLocaleString("en-US"),
        r.leaves.toLocaleString("en-US"),
        fmt(r.inferenceMs),
        fmt(r.traceRootMs),
        `${fmt(100 * r.overhead, 1)} %`,
        `${fmt(100 * r.saturated, 1)} % / ${fmt(100 * r.zeros, 1)} %`,
        fmt(r.peakRssMiB, 0),
      ]),
    ),
  };
}

export interface TraceRootProfile {
  readonly model: string;
  /** commitGraphTrace, whole. */
  readonly totalMs: number;
  /** Every committed tensor's tree (tensorTree: the input's binary, the values' paged): word bytes and hashing. */
  readonly treesMs: number;
  /** The same trees from their word bytes: hashing alone. */
  readonly hashingMs: number;
  /** The prefix tree over the tensors' roots. */
  readonly prefixMs: number;
  /** keccak256 calls the trees make: a page (256 bytes) or an inner node (64 bytes) each. */
  readonly hashes: number;
  /** 32-byte words of all committed tensors. */
  readonly words: number;
  /**
   * keccak256 over each committed tensor's words as one message (the sponge, 136 bytes a permutation):
   * the least any keccak layout of these tensors could cost, whatever its tree.
   */
  readonly spongeMs: number;
  /** SHA-256 (node:crypto) over the same messages: the floor with the hash the EVM has as a precompile. */
  readonly sha256Ms: number;
}

/**
 * Where commitGraphTrace's time goes on one trace: the committed tensors' trees (turning tensors into
 * word bytes, then hashing), the prefix tree over their roots, and the floors of one message per
 * tensor, keccak256 and SHA-256.
 */
export function profileTraceRoot(model: string, trace: GraphTrace, runs: number): TraceRootProfile {
  const committed = trace.layout.flatMap((entry, i) => (entry.stage.committed ? [{ tensor: trace.tensors[i], paged: entry.value > 0 }] : []));
  const build = ({ tensor, paged }: (typeof committed)[number]) => tensorTree(tensor, paged);
  const trees = committed.map(build);
  const words = trees.map((t) => {
    const bytes = new Uint8Array(t.leafCount * WORD_BYTES);
    for (let i = 0; i < t.leafCount; i++) bytes.set(t.leaf(i), i * WORD_BYTES);
    return bytes;
  });
  const roots = trees.map((t) => t.root);
  const hashes = trees.reduce((sum, t) => sum + (t instanceof PagedTree ? Math.ceil(t.leafCount / PAGE_WORDS) + innerNodes(Math.ceil(t.leafCount / PAGE_WORDS)) : innerNodes(t.leafCount)), 0);
  return {
    model,
    totalMs: medianMsSync(runs, () => commitGraphTrace(trace)),
    treesMs: medianMsSync(runs, () => committed.forEach(build)),
    hashingMs: medianMsSync(runs, () => words.forEach((w, i) => (committed[i].paged ? PagedTree.fromLeaves(w) : MerkleTree.fromLeaves(w)))),
    prefixMs: medianMsSync(runs, () => new PrefixTree([...roots, roots[roots.length - 1]]).root(roots.length)),
    hashes,
    words: trees.reduce((sum, t) => sum + t.leafCount, 0),
    spongeMs: medianMsSync(runs, () => words.forEach((w) => keccak256(w))),
    sha256Ms: medianMsSync(runs, () => words.forEach((w) => createHash("sha256").update(w).digest())),
  };
}

export function profileTable(profiles: readonly TraceRootProfile[]): string {
  return table(
    ["model", "trace root, ms", "tensor trees, ms", "of which hashing, ms", "prefix tree, ms", "words", "keccak256 calls", "floor: keccak256, one message a tensor, ms", "SHA-256, one message a tensor, ms"],
    profiles.map((p) => [
      p.model,
      fmt(p.totalMs),
      fmt(p.treesMs),
      fmt(p.hashingMs),
      fmt(p.prefixMs, 3),
      p.words.toLocaleString("en-US"),
      p.hashes.toLocaleString("en-US"),
      fmt(p.spongeMs, 3),
      fmt(p.sha256Ms, 3),
    ]),
  );
}

/** Inner nodes a tree over `leafCount` leaves hashes (the padding's subtrees are precomputed). */
function innerNodes(leafCount: number): number {
  let hashes = 0;
  for (let count = leafCount; count > 1; count = Math.ceil(count / 2)) hashes += Math.ceil(count / 2);
  return hashes;
}

if (require.main === module) {
  const quick = process.argv.includes("--quick");
  benchGraphCommitment({ quick })
    .then((r) => {
      const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}, load ${os.loadavg()[0].toFixed(2)}, Node ${process.version}, onnxruntime-node ${require("onnxruntime-node/package.json").version}`;
      console.log(`## Graph programs: trace root on top of onnxruntime (CPU, default threads, batch 1; ${machine})\n\n${r.table}\n\nWhere the trace root's time goes:\n\n${r.profile}\n`);
    })
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    });
}

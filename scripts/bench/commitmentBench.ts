import { readFileSync } from "node:fs";
import path from "node:path";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { MerkleTree as MerkleTreeJs } from "merkletreejs";
import { bytesEqual } from "../../core/bytes";
import { commitModel, commitTrace } from "../../core/commitments";
import { initKeccak, keccak256 } from "../../core/keccak";
import { MerkleTree, WORD_BYTES } from "../../core/merkle";
import { buildIntegerOnnx } from "../../core/onnx/integerGraph";
import { OrtTraceRunner } from "../../core/onnx/ortTraceRunner";
import { Rng } from "../../core/rng";
import { syntheticInputs, syntheticModel } from "../lib/syntheticModel";
import { fmt, medianMs, table, timeMs } from "./timing";

const MNIST_ONNX = path.join(__dirname, "..", "..", "models", "mnist-mlp", "integer.onnx");

export interface CommitmentBenchOptions {
  readonly quick: boolean;
}

/** keccak backends on 64-byte inputs (one inner node), in hashes per second. */
export async function benchKeccak(options: CommitmentBenchOptions): Promise<{ table: string; results: Record<string, number> }> {
  await initKeccak();
  const n = options.quick ? 20_000 : 300_000;
  const input = new Uint8Array(64).map((_, i) => i);
  const wasm = await medianMs(3, () => {
    for (let i = 0; i < n; i++) keccak256(input);
  });
  const noble = await medianMs(3, () => {
    for (let i = 0; i < n / 5; i++) keccak_256(input);
  });
  const results = { hashWasmPerSec: n / (wasm / 1000), noblePerSec: n / 5 / (noble / 1000) };
  return {
    results,
    table: table(["keccak256 backend", "64-byte hashes / s"], [
      ["hash-wasm (used)", fmt(results.hashWasmPerSec / 1e6, 3) + " M"],
      ["@noble/hashes (fallback)", fmt(results.noblePerSec / 1e6, 3) + " M"],
    ]),
  };
}

/** Our positional tree against merkletreejs configured for the same tree (raw leaves, unsorted pairs). */
export async function benchMerkleLibraries(options: CommitmentBenchOptions): Promise<{ table: string; results: Record<string, number> }> {
  await initKeccak();
  const leafCount = options.quick ? 1 << 10 : 1 << 16;
  const leaves = new Rng(1).int8Array(leafCount * WORD_BYTES);
  const bytes = new Uint8Array(leaves.buffer);
  const ours = await timeMs(() => MerkleTree.fromLeaves(bytes));
  const buffers = Array.from({ length: leafCount }, (_, i) => Buffer.from(bytes.subarray(i * WORD_BYTES, (i + 1) * WORD_BYTES)));
  const theirs = await timeMs(() => new MerkleTreeJs(buffers, (data: Buffer) => Buffer.from(keccak256(data)), { sortPairs: false, hashLeaves: false }));
  if (!bytesEqual(theirs.value.getRoot(), ours.value.root)) throw new Error("merkletreejs and core/merkle disagree on the root");
  const results = { leafCount, oursMs: ours.ms, merkletreejsMs: theirs.ms };
  return {
    results,
    table: table(["positional tree", "leaves", "build (ms)", "leaves / s"], [
      ["core/merkle.ts (used)", leafCount, fmt(ours.ms), fmt(leafCount / (ours.ms / 1000) / 1e3, 0) + " k"],
      ["merkletreejs 0.6 (same hash, same root)", leafCount, fmt(theirs.ms), fmt(leafCount / (theirs.ms / 1000) / 1e3, 0) + " k"],
    ]),
  };
}

export interface OverheadRow {
  model: string;
  parameters: number;
  loadMs: number;
  modelCommitMs: number;
  inferenceMs: number;
  inferenceWithTraceMs: number;
  overhead: number;
}

/**
 * The node's costs: onnxruntime inference alone against inference plus the trace commitment (batch 1,
 * median of interleaved runs), as inferences per second and as a ratio, and the one-off costs per
 * parameter of loading (parsing and checking the canonical graph, opening a session) and of the model
 * root.
 */
export async function benchTraceOverhead(options: CommitmentBenchOptions): Promise<{ table: string; results: OverheadRow[] }> {
  await initKeccak();
  const rng = new Rng(4096);
  const widths = options.quick ? [512] : [1024, 4096];
  const cases: { name: string; onnx: Uint8Array }[] = [
    { name: "mnist-mlp 784-128-64-10", onnx: readFileSync(MNIST_ONNX) },
    ...widths.map((w) => ({ name: `wide MLP 4 × ${w}`, onnx: buildIntegerOnnx(syntheticModel(rng, { sizes: [w, w, w, w, w], style: "scaled", reluRate: 1 })) })),
  ];
  const runs = options.quick ? 5 : 41;
  const rows: OverheadRow[] = [];
  for (const c of cases) {
    const { ms: loadMs, value: runner } = await timeMs(() => OrtTraceRunner.load(c.onnx));
    const { ms: modelCommitMs } = await timeMs(() => commitModel(runner.model));
    const input = syntheticInputs(rng, runner.model.inputSize, 1);
    await runner.run(input); // warm-up
    // Interleave the two measurements so drift on a busy machine hits both alike.
    const plain: number[] = [];
    const committed: number[] = [];
    for (let i = 0; i < runs; i++) {
      plain.push(await medianMs(1, () => runner.run(input)));
      committed.push(await medianMs(1, async () => commitTrace(await runner.run(input))));
    }
    await runner.release();
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const inferenceMs = median(plain);
    const inferenceWithTraceMs = median(committed);
    rows.push({
      model: c.name,
      parameters: runner.model.layers.reduce((n, l) => n + l.weights.length + l.bias.length, 0),
      loadMs,
      modelCommitMs,
      inferenceMs,
      inferenceWithTraceMs,
      overhead: inferenceWithTraceMs / inferenceMs - 1,
    });
  }
  const perParam = (ms: number, n: number) => `${fmt(ms, 1)} (${fmt((ms * 1e6) / n, 1)} ns/param)`;
  return {
    results: rows,
    table: table(
      ["model", "parameters", "load + check, ms", "model root, ms", "inferences/s (onnxruntime)", "inferences/s (+ trace root)", "time ratio", "trace overhead"],
      rows.map((r) => [
        r.model,
        r.parameters.toLocaleString("en-US"),
        perParam(r.loadMs, r.parameters),
        perParam(r.modelCommitMs, r.parameters),
        fmt(1000 / r.inferenceMs, 1),
        fmt(1000 / r.inferenceWithTraceMs, 1),
        fmt(r.inferenceWithTraceMs / r.inferenceMs, 3),
        `${fmt(100 * r.overhead, 1)} %`,
      ]),
    ),
  };
}

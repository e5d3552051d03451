import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { readFileSync } from "node:fs";
import { executeProgram } from "../../core/graph/execute";
import { executorDisagreements } from "../../core/graph/inspectGraphFolder";
import { loadMnist } from "../../core/mnist";
import { importGraphModel } from "../../core/modelImport/graph/importGraphModel";
import { quantiseInput } from "../../core/quantise";
import { programToJson } from "../../core/graph/json";
import { OrtGraphRunner } from "../../core/graph/ortGraphRunner";
import { type GraphProgram, sizeOf } from "../../core/graph/program";
import { traceName } from "../../core/graph/stages";
import { validateProgram } from "../../core/graph/validate";
import { Rng, describeProgram, randomInputs, randomProgram } from "./randomPrograms";

/**
 * onnxruntime and the reference executor on seeded random graph programs: every tensor of
 * every trace (each stage of each value, views included), every input of the batch, must
 * agree bit for bit; and the same on the convolutional reference model's held-out digits.
 * GRAPH_DIFF_SEED, GRAPH_DIFF_PROGRAMS and GRAPH_DIFF_DIGITS override the seed and the counts.
 */
const SEED = Number(process.env.GRAPH_DIFF_SEED ?? 0x13c0de);
const PROGRAMS = Number(process.env.GRAPH_DIFF_PROGRAMS ?? 1000);
/** Held-out digits of the CNN compared (of 2,000: GRAPH_DIFF_DIGITS=2000 runs them all, about 35 s). */
const DIGITS = Number(process.env.GRAPH_DIFF_DIGITS ?? 500);

/** Features the random programs must reach, so that a change in the generator cannot quietly stop testing them. */
function features(program: GraphProgram): string[] {
  const found: string[] = [];
  const shapes = validateProgram(program);
  for (const op of program.ops) {
    found.push(op.kind);
    if (op.kind === "conv") {
      const [, Cg, kH, kW] = program.constants[op.weight].shape;
      const C = Cg * op.groups;
      if (op.groups === C && C > 1) found.push("conv depthwise");
      if (op.groups > 1 && op.groups < C) found.push("conv grouped");
      if (op.dilations.some((d) => d > 1)) found.push("conv dilated");
      if (op.strides[0] > kH || op.strides[1] > kW) found.push("conv stride > kernel");
      if (op.pads[0] !== op.pads[2] || op.pads[1] !== op.pads[3]) found.push("conv asymmetric pads");
      if (op.multiplier.length > 1) found.push("conv per-channel requantisation");
    }
    if ((op.kind === "maxPool" || op.kind === "avgPool") && op.pads.some((p) => p > 0)) found.push(`${op.kind} padded`);
    if (op.kind === "add" && op.inputs[0] !== op.inputs[1]) found.push("add of two values (residual)");
    if (op.kind === "mul") {
      const [a, b] = op.inputs.map((v) => shapes[v]);
      if (sizeOf(a) !== sizeOf(b)) found.push("mul broadcast");
    }
    if (op.kind === "slice" && op.steps.some((s) => s < 0)) found.push("slice negative step");
  }
  return found;
}

describe("graph programs: onnxruntime and the reference executor agree bit for bit", () => {
  it(`on ${PROGRAMS} seeded random programs (seed ${SEED}), every stage of every value`, async () => {
    const rng = new Rng(SEED);
    const started = Date.now();
    const seen = new Map<string, number>();
    let compared = 0;
    let values = 0;
    let inputs = 0;
    for (let p = 0; p < PROGRAMS; p++) {
      const program = randomProgram(rng);
      const batch = rng.int(4, 8);
      const batchInputs = randomInputs(rng, program, batch);
      const label = `seed ${SEED} (0x${SEED.toString(16)}) program ${p}`;
      const fail = (message: string): never => {
        const file = path.join(tmpdir(), `refute-graph-diff-${SEED}-${p}.json`);
        writeFileSync(file, JSON.stringify({ seed: SEED, program: p, inputs: Array.from(batchInputs), batch, graph: programToJson(program) }));
        return expect.fail(`${label}: ${message}\n${describeProgram(program)}\n  (program and inputs written to ${file})`);
      };
      let got;
      const runner = await OrtGraphRunner.create(program).catch((e: Error) => fail(`onnxruntime refused the graph: ${e.message}`));
      try {
        got = await runner.runBatch(batchInputs, batch).catch((e: Error) => fail(`onnxruntime failed: ${e.message}`));
      } finally {
        await runner.release();
      }
      const n0 = sizeOf(program.inputShape);
      for (let k = 0; k < batch; k++) {
        const reference = executeProgram(program, batchInputs.subarray(k * n0, (k + 1) * n0));
        reference.layout.forEach((entry, t) => {
          const n = sizeOf(entry.stage.shape);
          const ours = reference.tensors[t];
          const theirs = got[t].subarray(k * n, (k + 1) * n);
          if (theirs.length !== n) fail(`${traceName(entry)}: onnxruntime gave ${theirs.length} elements for input ${k}, expected ${n}`);
          for (let i = 0; i < n; i++) {
            if (theirs[i] !== ours[i]) fail(`input ${k}, ${traceName(entry)} (${entry.stage.kind} ${entry.stage.name}) element ${i}: onnxruntime ${theirs[i]}, reference ${ours[i]}`);
          }
          compared += n;
          if (entry.final && entry.value > 0) values++;
        });
        inputs++;
      }
      for (const f of features(program)) seen.set(f, (seen.get(f) ?? 0) + 1);
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`      ${PROGRAMS} programs, ${inputs} inputs, ${values} values, ${compared} elements compared, 0 mismatches, ${seconds.toFixed(1)} s (seed 0x${SEED.toString(16)})`);
    console.log(`      ${[...seen].sort(([a], [b]) => a.localeCompare(b)).map(([f, n]) => `${f} ${n}`).join(", ")}`);
    const must = ["dense", "conv", "maxPool", "avgPool", "globalAvgPool", "add", "mul", "clamp", "table", "flatten", "reshape", "transpose", "concat", "slice"];
    const mustFeatures = ["conv depthwise", "conv grouped", "conv dilated", "conv stride > kernel", "conv asymmetric pads", "conv per-channel requantisation", "maxPool padded", "avgPool padded", "add of two values (residual)", "mul broadcast", "slice negative step"];
    if (PROGRAMS >= 300) for (const f of [...must, ...mustFeatures]) expect(seen.get(f) ?? 0, `ops with ${f}`).to.be.at.least(5);
  });

  it(`on the convolutional MNIST model (models/mnist-cnn, imported) over ${DIGITS} of its held-out digits, every stage of every value`, async function () {
    this.timeout(120_000);
    const mnist = loadMnist();
    const [train, test] = [mnist.train, mnist.test.slice(0, DIGITS)];
    const { program, scales } = await importGraphModel(readFileSync(path.join(__dirname, "../../models/mnist-cnn/float.onnx")), { calibration: train.slice(0, 200).map((d) => d.pixels) });
    const n = sizeOf(program.inputShape);
    const inputs = new Int8Array(test.length * n);
    test.forEach((d, k) => inputs.set(quantiseInput(d.pixels, scales[0]), k * n));
    const started = Date.now();
    const problems = await executorDisagreements(program, inputs, test.length);
    console.log(`      the CNN on ${test.length} held-out digits: ${problems.length} disagreeing tensors, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(problems).to.deep.equal([]);
  });
});

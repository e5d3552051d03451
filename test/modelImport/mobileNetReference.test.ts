import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { executorDisagreements } from "../../core/graph/inspectGraphFolder";
import type { ConvOp, Op } from "../../core/graph/program";
import { type MnistSplit, loadMnist } from "../../core/mnist";
import { type ImportedGraphModel, importGraphModel } from "../../core/modelImport/graph/importGraphModel";
import { attributeValue, decodeModel } from "../../core/onnx/onnxProto";
import { MOBILENET_CONFIG, MOBILENET_DIR, MOBILENET_QUICK_CONFIG, type MobileNetBuild, type MobileNetReport, buildMobileNet } from "../../scripts/build-mobilenet";
import { predictGraph } from "../../scripts/lib/training/evaluate";
import { quantiseDigits } from "../../scripts/lib/mnistEvaluation";

/**
 * The MobileNet-style reference model (scripts/build-mobilenet.ts, models/mobilenet-style): the
 * script reproduces its bytes, it is written as PyTorch's exporter writes such a network, it imports
 * into an integer program with every structure it was built to exercise, and onnxruntime and the
 * TypeScript reference executor agree on every committed tensor of held-out digits.
 *
 * The full training takes minutes, so the suite trains the quick configuration twice; the committed
 * file is checked against the script's default configuration through model.json, and retrained
 * byte for byte with MOBILENET_FULL=1.
 */
describe("the MobileNet-style reference model (scripts/build-mobilenet.ts)", function () {
  this.timeout(120_000);
  let split: MnistSplit;
  let dirs: string[];
  let quick: MobileNetBuild;
  const committed = readFileSync(path.join(MOBILENET_DIR, "float.onnx"));
  const report = JSON.parse(readFileSync(path.join(MOBILENET_DIR, "model.json"), "utf8")) as MobileNetReport;

  before(() => {
    split = loadMnist();
    // The progress lines' held-out evaluations on 100 digits: the model does not depend on them.
    const small = { train: split.train, test: split.test.slice(0, 100) };
    dirs = [0, 1].map(() => mkdtempSync(path.join(os.tmpdir(), "refute-mobilenet-")));
    quick = buildMobileNet(dirs[0], MOBILENET_QUICK_CONFIG, () => {}, small);
    buildMobileNet(dirs[1], MOBILENET_QUICK_CONFIG, () => {}, small);
  });
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  describe("the script", () => {
    it("reproduces its output byte for byte (the quick configuration, twice)", () => {
      const [a, b] = dirs.map((d) => readFileSync(path.join(d, "float.onnx")));
      expect(a.equals(b)).to.equal(true);
      expect(a.equals(Buffer.from(quick.floatOnnx))).to.equal(true);
      const [ra, rb] = dirs.map((d) => withoutTimes(JSON.parse(readFileSync(path.join(d, "model.json"), "utf8"))));
      expect(ra).to.deep.equal(rb);
    });

    it("wrote the committed float.onnx with its default configuration (model.json: configuration, size, SHA-256; ≤ 200 kB)", () => {
      expect(json(report.config)).to.deep.equal(json(MOBILENET_CONFIG));
      expect(report.floatOnnx).to.deep.equal({ bytes: committed.length, sha256: createHash("sha256").update(committed).digest("hex") });
      expect(committed.length).to.be.at.most(200_000);
      console.log(`      models/mobilenet-style: ${report.parameters} parameters, ${committed.length} bytes, float held-out accuracy ${pct(report.floatAccuracy)} after ${report.epochs.length} epochs (${report.trainingSeconds} s)`);
    });

    (process.env.MOBILENET_FULL ? it : it.skip)("reproduces the committed float.onnx byte for byte (MOBILENET_FULL=1: the full training, minutes)", function () {
      this.timeout(30 * 60_000);
      const dir = mkdtempSync(path.join(os.tmpdir(), "refute-mobilenet-full-"));
      try {
        const full = buildMobileNet(dir, MOBILENET_CONFIG, (line) => console.log(`      ${line}`), split);
        expect(Buffer.from(full.floatOnnx).equals(committed)).to.equal(true);
        expect(withoutTimes(JSON.parse(readFileSync(path.join(dir, "model.json"), "utf8")))).to.deep.equal(withoutTimes(report));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("exports what the trainer computes: onnxruntime's logits on the file are the trainer's within 1e-4", async () => {
      const digits = split.test.slice(0, 16);
      const ours = predictGraph(
        quick.graph,
        digits.map((d) => d.pixels),
      );
      const session = await ort.InferenceSession.create(quick.floatOnnx, { logSeverityLevel: 3 });
      let diff = 0;
      try {
        const batch = new Float32Array(digits.length * 784);
        digits.forEach((d, k) => batch.set(d.pixels, k * 784));
        const theirs = (await session.run({ input: new ort.Tensor("float32", batch, [digits.length, 1, 28, 28]) })).output.data as Float32Array;
        ours.forEach((z, k) => z.forEach((v, j) => (diff = Math.max(diff, Math.abs(v - theirs[k * 10 + j])))));
      } finally {
        await session.release();
      }
      expect(diff).to.be.at.most(1e-4);
    });

    it("writes the network as PyTorch's exporter does: Conv + BatchNormalization, depthwise groups, HardSwish as the op and spelled out, HardSigmoid gates, Flatten + Gemm", () => {
      const nodes = decodeModel(committed).graph!.node ?? [];
      const ops = (type: string) => nodes.filter((n) => n.opType === type).map((n) => n.name);
      expect(ops("BatchNormalization")).to.have.length(ops("Conv").length - 4); // the SE blocks' 1×1 convs have biases and no BatchNorm
      expect(nodes.filter((n) => n.opType === "Conv" && attributeValue(n, "group", 1) > 1).map((n) => n.name)).to.deep.equal(["/block1.dw.conv/Conv", "/block2.dw.conv/Conv"]);
      expect(ops("HardSwish")).to.deep.equal(["/block2.expand.act/HardSwish", "/block2.dw.act/HardSwish"]);
      expect(nodes.filter((n) => n.name!.startsWith("/stem.act/")).map((n) => n.opType)).to.deep.equal(["Add", "Clip", "Mul", "Div"]);
      expect(ops("HardSigmoid")).to.deep.equal(["/block1.se.gate/HardSigmoid", "/block2.se.gate/HardSigmoid"]);
      expect(ops("GlobalAveragePool")).to.deep.equal(["/block1.se.pool/GlobalAveragePool", "/block2.se.pool/GlobalAveragePool", "/head.pool/GlobalAveragePool"]);
      expect(ops("Add").filter((n) => !n!.endsWith("act/Add"))).to.deep.equal(["/block1/Add"]);
      expect([...ops("Flatten"), ...ops("Gemm")]).to.deep.equal(["/head.flatten/Flatten", "/classifier/Gemm"]);
    });
  });

  describe("imported (importGraphModel, 256 training digits to calibrate, the 2,000 held-out digits to evaluate)", () => {
    let imported: ImportedGraphModel;
    before(async () => {
      imported = await importGraphModel(committed, {
        calibration: split.train.slice(0, 256).map((d) => d.pixels),
        evaluation: { inputs: split.test.map((d) => d.pixels), labels: split.test.map((d) => d.label) },
      });
    });

    it("is a program with depthwise convolutions, squeeze-and-excitation, HardSwish tables, a residual Add and global average pooling", () => {
      const { ops } = imported.program;
      // prettier-ignore
      expect(ops.map((o) => o.kind)).to.deep.equal([
        "conv", "table",                                                    // stem: conv + BN, HardSwish (spelled)
        "conv", "globalAvgPool", "conv", "conv", "table", "mul", "conv", "add", // block1: depthwise + ReLU, SE, project, residual
        "conv", "table", "conv", "table", "globalAvgPool", "conv", "conv", "table", "mul", "conv", // block2: expand, depthwise, SE, project
        "conv", "table", "globalAvgPool", "flatten", "dense",               // head
      ]);
      const at = (v: number) => ops[v - 1];
      const depthwise = ops.filter((o): o is ConvOp => o.kind === "conv" && o.groups > 1);
      expect(depthwise.map((o) => [o.groups, o.strides[0]])).to.deep.equal([[16, 1], [48, 2]]);
      // Each SE: mul(x, table(conv(conv(globalAvgPool(x))))), the gate broadcast over x.
      const se = ops.map((o, k) => ({ o, v: k + 1 })).filter(({ o }) => o.kind === "mul");
      expect(se).to.have.length(2);
      for (const { o } of se) {
        const [x, gate] = o.inputs;
        const chain = [at(gate), at(at(gate).inputs[0]), at(at(at(gate).inputs[0]).inputs[0]), at(at(at(at(gate).inputs[0]).inputs[0]).inputs[0])] as Op[];
        expect(chain.map((c) => c.kind)).to.deep.equal(["table", "conv", "conv", "globalAvgPool"]);
        expect(chain[3].inputs[0]).to.equal(x);
      }
      // The residual Add (value 10) reads the stem's HardSwish (value 2), across the whole block.
      const add = ops.findIndex((o) => o.kind === "add") + 1;
      expect(at(add).inputs[0]).to.equal(2);
      expect(at(2).kind).to.equal("table");
      expect(imported.warnings).to.deep.equal([]);
    });

    it("keeps the float model's held-out accuracy (integer within 1 point of float)", () => {
      const { accuracy, agreement } = imported.report;
      console.log(`      held-out accuracy (2,000 digits): float ${pct(accuracy!.float)}, integer ${pct(accuracy!.integer)}; argmax agreement ${pct(agreement)}`);
      expect(accuracy!.float).to.be.closeTo(report.floatAccuracy, 0.0015); // onnxruntime on the folded graph vs the trainer: a near tie may differ
      expect(accuracy!.integer).to.be.at.least(accuracy!.float - 0.01);
    });

    it("runs bit for bit alike in onnxruntime (the integer ONNX graph) and the reference executor on every committed tensor of 300 held-out digits", async () => {
      const digits = split.test.slice(0, 300);
      const problems = await executorDisagreements(imported.program, quantiseDigits(digits, imported.scales[0]), digits.length);
      expect(problems).to.deep.equal([]);
    });
  });
});

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

function json<T>(x: T): T {
  return JSON.parse(JSON.stringify(x));
}

/** model.json without what changes from run to run: times. */
function withoutTimes(r: MobileNetReport): unknown {
  return { ...json(r), trainingSeconds: undefined, epochs: r.epochs.map((e) => ({ ...e, seconds: undefined })) };
}

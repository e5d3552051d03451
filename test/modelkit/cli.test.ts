import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { heldOutDigit } from "../../client/mnistDigit";
import { initKeccak } from "../../core/keccak";
import { loadMnist } from "../../core/mnist";
import { quantiseInput } from "../../core/quantise";
import { writeNpy } from "../../core/modelImport/npy";
import { decodeModel, encodeModel } from "../../core/onnx/onnxProto";
import { runModelCli } from "../../modelkit/cli";
import { writeMnistSamples } from "../../scripts/mnist-samples";
import { trainIris } from "../../scripts/train-iris";
import { runInProcess } from "../helpers/inProcessCli";

const run = (...argv: string[]) => runInProcess(runModelCli, argv);

/**
 * `npm run model` on the command line: the import of a real exported model (iris, from
 * scripts/train-iris.ts), every bad input a model owner may bring with the one line it gets, and
 * inspect's exit status. The chain commands (register, verify) run in test/e2e/bringYourOwnModel.test.ts
 * (a Dense folder) and test/modelkit/graphRegistration.test.ts (a graph folder).
 */
describe("npm run model (modelkit/cli.ts)", () => {
  let dir: string;
  const f = (name: string) => path.join(dir, name);
  before(async () => {
    await initKeccak();
    dir = mkdtempSync(path.join(os.tmpdir(), "refute-model-cli-"));
    trainIris(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("imports a float model into a folder, prints the report, and refuses to overwrite it without --force", async () => {
    const args = ["import", f("float.onnx"), "--calibration", f("calibration.csv"), "--held-out", f("held-out.csv"), "--labels", f("held-out-labels.csv"), "--out", f("iris")];
    const first = await run(...args);
    expect(first.status, first.err).to.equal(0);
    expect(first.out).to.match(/^quantisation report \(evaluated on 30 held-out samples\)/).and.match(/integer accuracy {2}\d+\.\d\d %/);
    expect(first.err).to.equal(`wrote ${f("iris")}`);
    const again = await run(...args);
    expect(again.status).to.equal(2);
    expect(again.err).to.include(`${f("iris")} already holds a model (descriptor.json); pass --force to overwrite it`);
    expect((await run(...args, "--force")).status).to.equal(0);
    const inspected = await run("inspect", f("iris"));
    expect(inspected.status).to.equal(0);
    expect(inspected.out).to.include("files agree");
  });

  it("imports the convolutional MNIST model (models/mnist-cnn) into a graph folder: integer accuracy within 0.5 points of float, and inspect runs both executors on it", async function () {
    this.timeout(120_000);
    writeMnistSamples(f("mnist"));
    const samples = (name: string) => path.join(f("mnist"), name);
    const cnn = path.join(__dirname, "../../models/mnist-cnn/float.onnx");
    const imported = await run("import", cnn, "--calibration", samples("calibration.npy"), "--held-out", samples("held-out.npy"), "--labels", samples("held-out-labels.json"), "--out", f("cnn"));
    expect(imported.status, imported.err).to.equal(0);
    expect(imported.err).to.equal(`wrote ${f("cnn")} (a graph program: program.json)`);
    const accuracy = (what: string) => Number(new RegExp(`${what} accuracy +(\\d+\\.\\d+) %`).exec(imported.out)?.[1]);
    console.log(`      CNN held-out accuracy: float ${accuracy("float")} %, integer ${accuracy("integer")} %`);
    expect(accuracy("integer")).to.be.at.least(98).and.at.least(accuracy("float") - 0.5);
    expect(imported.out).to.match(/1 +conv +\/conv1\/Conv \+ \/bn1\/BatchNormalization \+ \/relu1\/Relu +\[8,28,28\]/);
    const root = /model root (0x[0-9a-f]{64})/.exec(imported.out)?.[1];
    expect(JSON.parse(readFileSync(f("cnn/descriptor.json"), "utf8"))).to.include({ format: "refute-graph-1", root, parameterCount: 29738 });

    // A held-out digit for the CNN is quantised at the graph folder's input scale (what the demo posts).
    const scale = JSON.parse(readFileSync(f("cnn/descriptor.json"), "utf8")).meta.inputScale;
    const digit = heldOutDigit(5, 0, f("cnn"));
    expect(digit.input).to.deep.equal(quantiseInput(loadMnist().test[digit.testIndex].pixels, scale));

    const inspected = await run("inspect", f("cnn"));
    expect(inspected.status, inspected.err).to.equal(0);
    expect(inspected.out).to.include(`model root   ${root}`).and.match(/files agree: .* onnxruntime and the reference executor agree on every committed tensor of 8 random inputs/);
    const edited = JSON.parse(readFileSync(f("cnn/program.json"), "utf8"));
    edited.ops[0].shift[0] += 1;
    writeFileSync(f("cnn/program.json"), JSON.stringify(edited));
    const tampered = await run("inspect", f("cnn"));
    expect(tampered.status).to.equal(1);
    expect(tampered.err, tampered.err).to.match(/program\.json commits to 0x[0-9a-f]{64}, descriptor\.json says 0x/);
  });

  it("gives each bad input one clear line and a non-zero status", async () => {
    writeFileSync(f("short.json"), "[[5.1, 3.5, 1.4]]");
    writeFileSync(f("nan.csv"), "5.1,3.5,1.4,0.2\n4.9,NaN,1.4,0.2\n");
    writeFileSync(f("not-onnx.onnx"), "this is not a protobuf");
    writeFileSync(f("labels-bad.json"), "[0, 7]");
    writeFileSync(f("two.csv"), "5.1,3.5,1.4,0.2\n4.9,3.0,1.4,0.2\n");
    writeFileSync(f("wrong-shape.npy"), writeNpy([2, 5], new Float32Array(10)));
    const model = decodeModel(readFileSync(f("float.onnx")));
    model.graph!.node![1].opType = "Sigmoid";
    writeFileSync(f("sigmoid.onnx"), encodeModel(model.graph!, "test"));
    mkdirSync(f("empty-folder"), { recursive: true });

    const cases: [string, string[], number, RegExp][] = [
      ["a row of the wrong length", ["import", f("float.onnx"), "--calibration", f("short.json"), "--out", f("o1")], 1, /short\.json: row 0 has 3 values, the model expects 4$/],
      ["a non-finite value", ["import", f("float.onnx"), "--calibration", f("nan.csv"), "--out", f("o2")], 1, /nan\.csv: row 1 has NaN at position 1: every value must be a finite number$/],
      ["a shape that does not match (.npy of rows of 5)", ["import", f("float.onnx"), "--calibration", f("wrong-shape.npy"), "--out", f("o3")], 1, /wrong-shape\.npy: row 0 has 5 values, the model expects 4$/],
      ["a file that is not ONNX", ["import", f("not-onnx.onnx"), "--calibration", f("two.csv"), "--out", f("o4")], 1, /^error: .*not-onnx\.onnx: malformed ONNX file: /],
      ["an unsupported op", ["import", f("sigmoid.onnx"), "--calibration", f("two.csv"), "--out", f("o5")], 1, /^error: .*sigmoid\.onnx: node fc1\/add: op Sigmoid is not supported \(supported: Conv, BatchNormalization, .*, Gemm, MatMul, Flatten, .*\)$/],
      ["a label out of range", ["import", f("float.onnx"), "--calibration", f("two.csv"), "--labels", f("labels-bad.json"), "--out", f("o6")], 1, /labels-bad\.json: label 1 is 7; labels are class indices 0\.\.2$/],
      ["a missing float model", ["import", f("nowhere.onnx"), "--calibration", f("two.csv"), "--out", f("o7")], 1, /^error: cannot read the float model .*nowhere\.onnx: ENOENT$/],
      ["no --calibration", ["import", f("float.onnx"), "--out", f("o8")], 2, /required option '--calibration <file>' not specified/],
      ["a misspelt option", ["import", f("float.onnx"), "--calibration", f("two.csv"), "--held-ot", f("two.csv"), "--out", f("o9")], 2, /unknown option '--held-ot'\n\(Did you mean --held-out\?\)/],
      ["an unknown command", ["imprt"], 2, /unknown command 'imprt'\n\(Did you mean import\?\)/],
      ["a folder with no model", ["inspect", f("empty-folder")], 1, /cannot read integer\.onnx: ENOENT/],
    ];
    const table: string[] = [];
    for (const [what, argv, status, message] of cases) {
      const r = await run(...argv);
      const shown = `${r.err}\n${r.out}`.trim();
      expect(r.status, `${what}: ${shown}`).to.equal(status);
      expect(shown, what).to.match(message);
      table.push(`      ${what.padEnd(48)} → ${shown.split("\n").find((l) => message.test(l) || l.startsWith("error"))?.replaceAll(dir, "…")}`);
    }
    console.log(table.join("\n"));
  });
});

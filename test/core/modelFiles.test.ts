import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { initKeccak } from "../../core/keccak";
import { MNIST_MODEL_DIR, ModelFilesError, inputScaleOf, loadModelDir } from "../../core/modelFiles";
import { readIntegerModel } from "../../core/onnx/integerGraph";
import { OnnxFormatError, onnx } from "../../core/onnx/onnxProto";
import { expectThrows } from "../helpers/expectThrows";

/**
 * loadModelDir: a node or watcher given several `--models` folders must be told which one is
 * broken, so every refusal names the folder (its absolute path), the file and the original cause.
 */
describe("loadModelDir", () => {
  let root: string;
  const integer = readFileSync(path.join(MNIST_MODEL_DIR, "integer.onnx"));
  const descriptor = readFileSync(path.join(MNIST_MODEL_DIR, "descriptor.json"), "utf8");

  /** A copy of the MNIST model folder under `name`, with `integer.onnx` and `descriptor.json` replaced when given. */
  function folder(name: string, files: { integer?: Uint8Array; descriptor?: string } = {}): string {
    const dir = path.join(root, name);
    mkdirSync(dir);
    writeFileSync(path.join(dir, "integer.onnx"), files.integer ?? integer);
    writeFileSync(path.join(dir, "descriptor.json"), files.descriptor ?? descriptor);
    return dir;
  }

  /** The refusal of loadModelDir(dir): a ModelFilesError; checks its message exactly and returns it. */
  function refusal(dir: string, message: string): ModelFilesError {
    const e = expectThrows(() => loadModelDir(dir), ModelFilesError) as ModelFilesError;
    expect(e.message).to.equal(message);
    expect(e.message.startsWith(`model folder ${dir}: `), "names the folder first").to.equal(true);
    return e;
  }

  before(async () => {
    await initKeccak();
    root = mkdtempSync(path.join(os.tmpdir(), "refute-model-files-"));
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it("loads an intact copy of the MNIST folder", () => {
    const files = loadModelDir(folder("intact"));
    expect(files.dir).to.equal(path.join(root, "intact"));
    expect(files.root).to.equal(JSON.parse(descriptor).modelRoot.toLowerCase());
    expect(inputScaleOf(files)).to.equal(JSON.parse(descriptor).meta.inputScale);
  });

  it("a tampered integer.onnx among several folders: the refusal names the broken folder, with readIntegerModel's own message kept", () => {
    // Before: the bare OnnxFormatError ("malformed ONNX file: …", "integer model: the graph is not
    // the canonical graph …"), with no folder, so with several --models the operator could not tell which.
    const flipped = Uint8Array.from(integer);
    flipped[flipped.length - 5] ^= 1; // inside the trailing opset import: the protobuf no longer decodes
    const model = onnx.ModelProto.decode(integer);
    model.graph!.node!.find((n) => n.opType === "Div")!.opType = "Mul";
    const divToMul = onnx.ModelProto.encode(model).finish();
    const dirs = [folder("good-a"), folder("flipped", { integer: flipped }), folder("good-b"), folder("div-to-mul", { integer: divToMul })];
    const broken = new Map<string, Uint8Array>([
      [dirs[1], flipped],
      [dirs[3], divToMul],
    ]);
    for (const dir of dirs) {
      const bytes = broken.get(dir);
      if (!bytes) {
        expect(loadModelDir(dir).dir).to.equal(dir);
        continue;
      }
      const cause = expectThrows(() => readIntegerModel(bytes), OnnxFormatError);
      const e = refusal(dir, `model folder ${dir}: integer.onnx is refused: ${cause.message}`);
      expect(e.cause).to.be.instanceOf(OnnxFormatError);
      expect((e.cause as Error).message).to.equal(cause.message);
      for (const other of dirs.filter((d) => d !== dir)) expect(e.message, "names only its own folder").to.not.contain(`${other}:`);
    }
    expect(expectThrows(() => readIntegerModel(flipped), OnnxFormatError).message).to.match(/^malformed ONNX file: /);
    expect(expectThrows(() => readIntegerModel(divToMul), OnnxFormatError).message).to.match(/^integer model: the graph is not the canonical graph of its constants/);
  });

  it("a float ONNX file saved as integer.onnx: names the folder and says to quantise it first", () => {
    const dir = folder("float-as-integer", { integer: readFileSync(path.join(MNIST_MODEL_DIR, "float.onnx")) });
    refusal(
      dir,
      `model folder ${dir}: integer.onnx is refused: this looks like a float ONNX model, not Refute's integer graph (producer "refute-trainer", input "input" is float32): ` +
        "import and quantise it first: readFloatModel (core/onnx/floatModel.ts), then quantise with calibration inputs (core/quantise.ts), " +
        "then buildIntegerOnnx (core/onnx/integerGraph.ts) writes integer.onnx, as scripts/build-reference-model.ts does for models/mnist-mlp",
    );
  });

  it("every other refusal names the folder too: a missing file, a descriptor that is not JSON or not an object, another model root, no input scale", () => {
    const missing = path.join(root, "missing");
    mkdirSync(missing);
    const e = refusal(missing, `model folder ${missing}: cannot read integer.onnx: ENOENT: no such file or directory, open '${path.join(missing, "integer.onnx")}'`);
    expect((e.cause as NodeJS.ErrnoException).code).to.equal("ENOENT");

    const notJson = folder("not-json", { descriptor: "{ modelRoot: 1" });
    const jsonCause = (() => {
      try {
        JSON.parse("{ modelRoot: 1");
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error("unreachable");
    })();
    refusal(notJson, `model folder ${notJson}: descriptor.json is not JSON: ${jsonCause}`);

    const nullDescriptor = folder("null-descriptor", { descriptor: "null" });
    refusal(nullDescriptor, `model folder ${nullDescriptor}: descriptor.json is not a JSON object`);

    const otherRoot = `0x${"ab".repeat(32)}`;
    const wrongRoot = folder("wrong-root", { descriptor: JSON.stringify({ ...JSON.parse(descriptor), modelRoot: otherRoot }) });
    refusal(wrongRoot, `model folder ${wrongRoot}: descriptor.json names model root ${otherRoot}, but integer.onnx commits to ${JSON.parse(descriptor).modelRoot.toLowerCase()}`);

    const noScale = folder("no-input-scale", { descriptor: JSON.stringify({ ...JSON.parse(descriptor), meta: {} }) });
    const files = loadModelDir(noScale);
    const scaleError = expectThrows(() => inputScaleOf(files), ModelFilesError);
    expect(scaleError.message).to.equal(`model folder ${noScale}: descriptor.json has no positive meta.inputScale`);
  });

  it("a relative path is named by its absolute path", () => {
    const dir = folder("relative", { integer: new Uint8Array(0) });
    const relative = path.relative(process.cwd(), dir);
    expect(path.isAbsolute(relative)).to.equal(false);
    const e = expectThrows(() => loadModelDir(relative), ModelFilesError);
    expect(e.message).to.equal(`model folder ${dir}: integer.onnx is refused: malformed ONNX file: it has no graph`);
  });
});

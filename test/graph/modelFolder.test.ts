import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { commitGraphModel } from "../../core/graph/commitments";
import { executeProgram } from "../../core/graph/execute";
import { GraphModelFolderError, readGraphModelFolder, writeGraphModelFolder } from "../../core/graph/modelFolder";
import { OrtGraphRunner } from "../../core/graph/ortGraphRunner";
import type { GraphProgram, Op } from "../../core/graph/program";
import { MAX_VIEW_HOPS } from "../../core/graph/disputeLimits";
import { GraphValidationError } from "../../core/graph/validate";
import { initKeccak } from "../../core/keccak";
import { Rng, randomInputs, randomProgram } from "./randomPrograms";

/**
 * Graph model folders (core/graph/modelFolder.ts): a program written and read back is the same
 * program with the same root, the onnxruntime graph built from it runs it, and a folder whose
 * program and descriptor disagree is refused naming the folder and the difference.
 */
describe("graph model folders (program.json + descriptor.json)", () => {
  let tmp: string;
  before(async () => {
    await initKeccak();
    tmp = mkdtempSync(path.join(os.tmpdir(), "refute-graph-folder-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("writes and reads back random programs: same constants, ops and root; the built graph runs them", async () => {
    const rng = new Rng(0xf01de);
    for (let k = 0; k < 12; k++) {
      const program = randomProgram(rng);
      const dir = path.join(tmp, `m${k}`);
      const written = writeGraphModelFolder(dir, program, { meta: { k } });
      const read = readGraphModelFolder(dir);
      expect(read.descriptor).to.deep.equal(written);
      expect(read.program.ops).to.deep.equal(JSON.parse(JSON.stringify(program.ops)));
      read.program.constants.forEach((c, i) => expect(Array.from(c.data), `constant ${i}`).to.deep.equal(Array.from(program.constants[i].data)));
      expect(Buffer.from(read.commitment.root).toString("hex")).to.equal(Buffer.from(commitGraphModel(program).root).toString("hex"));
      if (k < 3) {
        const x = randomInputs(rng, program, 1);
        const runner = await OrtGraphRunner.create(read.program);
        const tensors = await runner.runBatch(x, 1);
        const reference = executeProgram(program, x);
        expect(Array.from(tensors[tensors.length - 1])).to.deep.equal(Array.from(reference.tensors[reference.tensors.length - 1]));
      }
    }
  });

  it("refuses a program edited after its descriptor, another format, an invalid program, a wrong shape and a missing file", () => {
    const program: GraphProgram = {
      inputShape: [3],
      constants: [
        { dtype: "int8", shape: [2, 3], data: Int8Array.from([1, -2, 3, -4, 5, -6]) },
        { dtype: "int32", shape: [2], data: Int32Array.from([100, -100]) },
      ],
      ops: [{ kind: "dense", inputs: [0], weight: 0, bias: 1, multiplier: [1 << 30], shift: [31], clampLo: -128, clampHi: 127 }],
    };
    const dir = path.join(tmp, "edited");
    writeGraphModelFolder(dir, program);
    expect(readGraphModelFolder(dir).descriptor.parameterCount).to.equal(8);
    const refusal = (name: string, edit: (json: Record<string, any>) => void, pattern: RegExp) => {
      const target = path.join(dir, name);
      const before = readFileSync(target, "utf8");
      const json = JSON.parse(before);
      edit(json);
      writeFileSync(target, JSON.stringify(json));
      expect(() => readGraphModelFolder(dir), name).to.throw(GraphModelFolderError, pattern);
      writeFileSync(target, before);
      expect(() => readGraphModelFolder(dir)).not.to.throw();
    };
    refusal("program.json", (j) => (j.constants[0].base64 = Buffer.from(Int8Array.from([1, -2, 3, -4, 5, -5]).buffer).toString("base64")), /^graph model folder .*edited: program.json commits to 0x[0-9a-f]{64}, descriptor.json says 0x/);
    refusal("program.json", (j) => (j.ops[0].clampLo = -127), /program.json commits to/);
    refusal("program.json", (j) => (j.format = "refute-graph-0"), /program.json has format "refute-graph-0", not "refute-graph-1"/);
    refusal("program.json", (j) => (j.ops[0].inputs = [5]), /program.json is refused: /);
    refusal("program.json", (j) => (j.constants[1].base64 = "AAA="), /constant 1: expected dtype int8 or int32 with whole elements, got "int32" of 2 bytes/);
    refusal("descriptor.json", (j) => (j.outputShape = [3]), /descriptor.json's outputShape is \[3\], the program's is \[2\]/);
    rmSync(path.join(dir, "descriptor.json"));
    expect(() => readGraphModelFolder(dir)).to.throw(GraphModelFolderError, /cannot read descriptor.json/);
  });

  it(`refuses, on writing and on reading, a program the game cannot dispute: a chain of more than ${MAX_VIEW_HOPS} views`, () => {
    const chain = (views: number): GraphProgram => ({
      inputShape: [4, 2],
      constants: [],
      ops: [{ kind: "clamp", inputs: [0], lo: -9, hi: 9 }, ...Array.from({ length: views }, (_, k) => ({ kind: "transpose", inputs: [k + 1], perm: [1, 0] }) as Op)],
    });
    const dir = path.join(tmp, "views");
    writeGraphModelFolder(dir, chain(MAX_VIEW_HOPS));
    expect(readGraphModelFolder(dir).program.ops).to.have.length(MAX_VIEW_HOPS + 1);
    const refused = `value ${MAX_VIEW_HOPS + 2} (transpose): is reached through a chain of ${MAX_VIEW_HOPS + 1} layout ops; a dispute step follows at most ${MAX_VIEW_HOPS}`;
    expect(() => writeGraphModelFolder(path.join(tmp, "longer"), chain(MAX_VIEW_HOPS + 1))).to.throw(GraphValidationError, refused);
    // A folder edited to a longer chain is refused before its root is compared.
    const file = path.join(dir, "program.json");
    const json = JSON.parse(readFileSync(file, "utf8"));
    json.ops.push({ kind: "transpose", inputs: [MAX_VIEW_HOPS + 1], perm: [1, 0] });
    writeFileSync(file, JSON.stringify(json));
    expect(() => readGraphModelFolder(dir)).to.throw(GraphModelFolderError, `program.json is refused: ${refused}`);
  });
});

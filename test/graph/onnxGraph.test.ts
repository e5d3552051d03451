import { expect } from "chai";
import { GRAPH_INPUT_NAME, buildGraphOnnx } from "../../core/graph/onnxGraph";
import { traceLayout, traceName } from "../../core/graph/stages";
import { DataType, onnx } from "../../core/onnx/onnxProto";
import { Rng, randomProgram } from "./randomPrograms";

/**
 * The shape of the ONNX form (docs/graph-semantics.md §6), apart from its numbers (those are
 * the differential test's): deterministic bytes, one graph output per trace tensor with its
 * dtype and batched shape, and only the integer kernels that test/graph/ortKernels.test.ts
 * checks — never Clip, Min or Max (wrong on int64 in onnxruntime 1.30, docs/integer-semantics.md §6).
 */
const CHECKED_KERNELS = new Set(["ConvInteger", "MatMulInteger", "Add", "Sub", "Mul", "Mod", "Div", "Less", "Greater", "Where", "Cast", "MaxPool", "ReduceSum", "Gather", "Flatten", "Reshape", "Transpose", "Concat", "Slice"]);

describe("graph programs: the ONNX form", () => {
  it("is deterministic, exposes every trace tensor as an output and uses only the checked kernels (200 random programs)", () => {
    const rng = new Rng(0x0442);
    const used = new Set<string>();
    const wrong: string[] = [];
    for (let p = 0; p < 200; p++) {
      const program = randomProgram(rng);
      const bytes = buildGraphOnnx(program);
      if (!Buffer.from(buildGraphOnnx(program)).equals(Buffer.from(bytes))) wrong.push(`program ${p}: bytes differ between two builds`);
      const graph = onnx.ModelProto.decode(bytes).graph!;
      const outputs = (graph.output ?? []).map((o) => `${o.name}:${o.type!.tensorType!.elemType}:[${o.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || d.dimValue)}]`);
      const want = traceLayout(program)
        .filter((e) => e.value > 0)
        .map((e) => `${traceName(e)}:${e.stage.dtype === "int8" ? DataType.INT8 : DataType.INT32}:[batch,${e.stage.shape}]`);
      if (outputs.join() !== want.join()) wrong.push(`program ${p}: outputs ${outputs} ≠ ${want}`);
      if ((graph.input ?? []).map((i) => i.name).join() !== GRAPH_INPUT_NAME) wrong.push(`program ${p}: inputs ${(graph.input ?? []).map((i) => i.name)}`);
      const names = new Set<string>();
      for (const n of graph.node ?? []) {
        used.add(n.opType!);
        if (!CHECKED_KERNELS.has(n.opType!)) wrong.push(`program ${p}: node ${n.name} uses ${n.opType}`);
        if (names.has(n.name!)) wrong.push(`program ${p}: node name ${n.name} twice`);
        names.add(n.name!);
      }
    }
    expect(wrong).to.deep.equal([]);
    expect([...used].sort()).to.deep.equal([...CHECKED_KERNELS].sort());
  });
});

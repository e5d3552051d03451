import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { toHex } from "../bytes";
import { commitModel } from "../commitments";
import { INT32_MAX, accumulatorBound } from "../intSemantics";
import type { IntegerModel } from "../model";
import { describeModel } from "../modelDescriptor";
import { type FloatModel, readFloatModel } from "../onnx/floatModel";
import { INTEGER_MODEL_PRODUCER, readIntegerModel } from "../onnx/integerGraph";
import { decodeModel } from "../onnx/onnxProto";

/**
 * What a model is, read from a model folder or a single ONNX file, and, for a folder, every way its
 * files disagree with each other (`npm run model -- inspect`). Unlike loadModelDir, which refuses a
 * folder at its first problem, this reads everything it can and lists all problems.
 */

export interface InspectedLayer {
  readonly op: "dense";
  readonly nIn: number;
  readonly nOut: number;
  readonly relu: boolean;
  readonly parameters: number;
  /** Integer layers only: the requantisation, clamp and accumulator bound. */
  readonly integer?: {
    readonly multiplier: number;
    readonly shift: number;
    readonly clampLo: number;
    readonly clampHi: number;
    readonly maxAbsBias: number;
    /** max|bias| + nIn · 128²: the largest |accumulator| any input can reach. */
    readonly accumulatorBound: number;
  };
}

export interface Inspection {
  readonly path: string;
  readonly kind: "folder" | "integer model" | "float model";
  readonly inputSize?: number;
  readonly layers: readonly InspectedLayer[];
  readonly parameters: number;
  readonly modelRoot?: `0x${string}`;
  readonly inputScale?: number;
  readonly outputScale?: number;
  /** Every disagreement found; empty when the files agree. */
  readonly problems: readonly string[];
}

/** Inspects a model folder, an integer.onnx or a float ONNX file. */
export function inspectPath(target: string): Inspection {
  const abs = path.resolve(target);
  if (!existsSync(abs)) throw new Error(`${abs} does not exist`);
  if (statSync(abs).isDirectory()) return inspectFolder(abs);
  const bytes = readFileSync(abs);
  return isIntegerGraph(bytes) ? integerInspection(abs, "integer model", readIntegerModel(bytes), []) : floatInspection(abs, readFloatModel(bytes));
}

function isIntegerGraph(bytes: Uint8Array): boolean {
  return decodeModel(bytes).producerName === INTEGER_MODEL_PRODUCER;
}

function integerInspection(p: string, kind: Inspection["kind"], model: IntegerModel, problems: string[], scales: { inputScale?: number; outputScale?: number } = {}): Inspection {
  const layers = model.layers.map((l): InspectedLayer => {
    const maxAbsBias = l.bias.reduce((m, b) => Math.max(m, Math.abs(b)), 0);
    return {
      op: l.op,
      nIn: l.nIn,
      nOut: l.nOut,
      relu: l.clampLo === 0,
      parameters: l.weights.length + l.bias.length,
      integer: { multiplier: l.multiplier, shift: l.shift, clampLo: l.clampLo, clampHi: l.clampHi, maxAbsBias, accumulatorBound: accumulatorBound(l.nIn, maxAbsBias) },
    };
  });
  return { path: p, kind, inputSize: model.inputSize, layers, parameters: sum(layers), modelRoot: toHex(commitModel(model).root), ...scales, problems };
}

function floatInspection(p: string, float: FloatModel): Inspection {
  const layers = float.layers.map((l): InspectedLayer => ({ op: "dense", nIn: l.nIn, nOut: l.nOut, relu: l.relu, parameters: l.weights.length + l.bias.length }));
  return { path: p, kind: "float model", inputSize: float.inputSize, layers, parameters: sum(layers), problems: [] };
}

const sum = (layers: readonly InspectedLayer[]) => layers.reduce((n, l) => n + l.parameters, 0);

function inspectFolder(dir: string): Inspection {
  const problems: string[] = [];
  const read = (name: string): Buffer | undefined => {
    try {
      return readFileSync(path.join(dir, name));
    } catch (e) {
      problems.push(`cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return undefined;
    }
  };
  const onnx = read("integer.onnx");
  const text = read("descriptor.json");
  let model: IntegerModel | undefined;
  if (onnx) {
    try {
      model = readIntegerModel(onnx);
    } catch (e) {
      problems.push(`integer.onnx is refused: ${(e as Error).message}`);
    }
  }
  let descriptor: Record<string, unknown> | undefined;
  if (text) {
    try {
      const parsed: unknown = JSON.parse(text.toString("utf8"));
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) problems.push("descriptor.json is not a JSON object");
      else descriptor = parsed as Record<string, unknown>;
    } catch (e) {
      problems.push(`descriptor.json is not JSON: ${(e as Error).message}`);
    }
  }
  const meta = (descriptor?.meta ?? {}) as Record<string, unknown>;
  const scale = (key: "inputScale" | "outputScale") => (typeof meta[key] === "number" && (meta[key] as number) > 0 ? (meta[key] as number) : undefined);
  if (descriptor && scale("inputScale") === undefined) problems.push(`descriptor.json has no positive meta.inputScale (got ${JSON.stringify(meta.inputScale)}): nobody can quantise an input for the model`);
  if (model && descriptor) problems.push(...descriptorDisagreements(descriptor, model));
  if (model && existsSync(path.join(dir, "float.onnx"))) {
    try {
      const float = readFloatModel(readFileSync(path.join(dir, "float.onnx")));
      const fShapes = float.layers.map((l) => `${l.nIn}→${l.nOut}`).join(", ");
      const iShapes = model.layers.map((l) => `${l.nIn}→${l.nOut}`).join(", ");
      if (fShapes !== iShapes) problems.push(`float.onnx has layers ${fShapes}, integer.onnx ${iShapes}`);
    } catch (e) {
      problems.push(`float.onnx is refused: ${(e as Error).message}`);
    }
  }
  if (!model) return { path: dir, kind: "folder", layers: [], parameters: 0, problems };
  return integerInspection(dir, "folder", model, problems, { inputScale: scale("inputScale"), outputScale: scale("outputScale") });
}

/** Each field of the descriptor that differs from what describeModel derives from the graph. */
function descriptorDisagreements(descriptor: Record<string, unknown>, model: IntegerModel): string[] {
  const want = describeModel(String(descriptor.name ?? ""), model, commitModel(model)) as unknown as Record<string, unknown>;
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => (typeof a === "string" && typeof b === "string" ? a.toLowerCase() === b.toLowerCase() : a === b);
  for (const key of ["inputSize", "outputSize", "layerCount", "parameterCount", "modelRoot"]) {
    if (!same(descriptor[key], want[key])) out.push(`descriptor.json ${key} is ${JSON.stringify(descriptor[key])}, integer.onnx gives ${JSON.stringify(want[key])}`);
  }
  const got = Array.isArray(descriptor.layers) ? (descriptor.layers as Record<string, unknown>[]) : [];
  const layers = want.layers as Record<string, unknown>[];
  if (got.length !== layers.length) out.push(`descriptor.json lists ${got.length} layers, integer.onnx has ${layers.length}`);
  layers.forEach((w, i) => {
    const g = got[i];
    if (!g) return;
    for (const [key, value] of Object.entries(w)) {
      if (!same(g[key], value)) out.push(`descriptor.json layer ${i + 1} ${key} is ${JSON.stringify(g[key])}, integer.onnx gives ${JSON.stringify(value)}`);
    }
  });
  return out;
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

/** The inspection as the lines a terminal prints. */
export function formatInspection(i: Inspection): string[] {
  const lines = [`${i.path} (${i.kind})`];
  if (i.inputSize !== undefined) lines.push(`  input size   ${i.inputSize}`);
  lines.push(`  parameters   ${i.parameters}`);
  if (i.modelRoot) lines.push(`  model root   ${i.modelRoot}`);
  if (i.inputScale !== undefined) lines.push(`  input scale  ${i.inputScale} (q = clamp(round(x / scale), −128, 127))`);
  if (i.outputScale !== undefined) lines.push(`  output scale ${i.outputScale}`);
  for (const [k, l] of i.layers.entries()) {
    const head = `  layer ${k + 1}: ${l.op} ${l.nIn}→${l.nOut}${l.relu ? " + relu" : ""}, ${l.parameters} parameters`;
    if (!l.integer) {
      lines.push(head);
      continue;
    }
    const q = l.integer;
    lines.push(
      head,
      `    requantise × ${q.multiplier} / 2^${q.shift} (= ${(q.multiplier / 2 ** q.shift).toPrecision(6)}), clamp [${q.clampLo}, ${q.clampHi}]`,
      `    accumulator bound ${q.accumulatorBound} of ${INT32_MAX} (${pct(q.accumulatorBound / INT32_MAX)} used; headroom ${INT32_MAX - q.accumulatorBound}; max |bias| ${q.maxAbsBias})`,
    );
  }
  if (i.kind === "folder") lines.push(i.problems.length === 0 ? "  files agree: integer.onnx, descriptor.json and float.onnx describe one model" : `  ${i.problems.length} problem(s):`);
  for (const p of i.problems) lines.push(`    - ${p}`);
  return lines;
}

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
 * folder at its first problem (and caches what it read), this reads everything it can and lists all
 * problems.
 */

export interface InspectedLayer {
  readonly op: "dense";
  readonly nIn: number;
  readonly nOut: number;
  readonly relu: boolean;
  /** Weights and biases. */
  readonly parameters: number;
  /** Integer layers only: the requantisation, clamp and accumulator bound. */
  readonly integer?: {
    readonly multiplier: number;
    readonly shift: number;
    readonly clampLo: number;
    readonly clampHi: number;
    readonly maxAbsBias: number;
    /** max|bias| + nIn · 128²: the largest |accumulator| any input can reach; it must stay ≤ INT32_MAX. */
    readonly accumulatorBound: number;
  };
}

export interface Inspection {
  readonly path: string;
  /** Folders: which of integer.onnx, descriptor.json and float.onnx are there. */
  readonly files?: readonly string[];
  /** A model folder (its integer.onnx is what is shown), a lone integer graph, or a lone float ONNX model. */
  readonly kind: "folder" | "integer model" | "float model";
  /** Folders: descriptor.json's name. */
  readonly name?: string;
  readonly inputSize?: number;
  /** Float models and folders with a descriptor: the input's shape after the batch. */
  readonly inputShape?: readonly number[];
  readonly layers: readonly InspectedLayer[];
  readonly parameters: number;
  /** Integer models only. */
  readonly modelRoot?: `0x${string}`;
  /** Folders: descriptor.json meta.inputScale and meta.outputScale, when positive numbers. */
  readonly inputScale?: number;
  readonly outputScale?: number;
  /** Every disagreement found in a folder, one line each; empty when the files agree (always, for a single file). */
  readonly problems: readonly string[];
}

/**
 * Inspects a model folder, an integer.onnx (recognised by the canonical graph's producer name) or
 * a float ONNX file. A single file that cannot be read as what it is throws (OnnxFormatError,
 * UnsupportedModelError, ModelValidationError); a folder never throws for its contents but lists
 * each problem in `problems`.
 */
export function inspectPath(target: string): Inspection {
  const abs = path.resolve(target);
  if (!existsSync(abs)) throw new Error(`${abs} does not exist`);
  if (statSync(abs).isDirectory()) return inspectFolder(abs);
  const bytes = readFileSync(abs);
  if (decodeModel(bytes).producerName === INTEGER_MODEL_PRODUCER) return { path: abs, kind: "integer model", ...integerFacts(readIntegerModel(bytes)), problems: [] };
  return { path: abs, kind: "float model", ...floatFacts(readFloatModel(bytes)), problems: [] };
}

type Facts = Pick<Inspection, "inputSize" | "inputShape" | "layers" | "parameters" | "modelRoot">;

function integerFacts(model: IntegerModel): Facts {
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
  return { inputSize: model.inputSize, layers, parameters: sum(layers), modelRoot: toHex(commitModel(model).root) };
}

function floatFacts(float: FloatModel): Facts {
  const layers = float.layers.map((l): InspectedLayer => ({ op: "dense", nIn: l.nIn, nOut: l.nOut, relu: l.relu, parameters: l.weights.length + l.bias.length }));
  return { inputSize: float.inputSize, inputShape: float.inputShape, layers, parameters: sum(layers) };
}

const sum = (layers: readonly InspectedLayer[]) => layers.reduce((n, l) => n + l.parameters, 0);
const shapes = (layers: readonly { nIn: number; nOut: number; relu: boolean }[]) => layers.map((l) => `${l.nIn}→${l.nOut}${l.relu ? " relu" : ""}`).join(", ");

/** A folder's model files, in the order they are shown. */
const FOLDER_FILES = ["integer.onnx", "descriptor.json", "float.onnx"];

function inspectFolder(dir: string): Inspection {
  const problems: string[] = [];
  const read = (name: string, optional = false): Buffer | undefined => {
    if (optional && !existsSync(path.join(dir, name))) return undefined;
    try {
      return readFileSync(path.join(dir, name));
    } catch (e) {
      problems.push(`cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return undefined;
    }
  };
  const parse = <T>(name: string, bytes: Buffer | undefined, reader: (b: Buffer) => T): T | undefined => {
    if (!bytes) return undefined;
    try {
      return reader(bytes);
    } catch (e) {
      problems.push(`${name} is refused: ${(e as Error).message.split("\n")[0]}`);
      return undefined;
    }
  };

  const model = parse("integer.onnx", read("integer.onnx"), readIntegerModel);
  const descriptor = parse("descriptor.json", read("descriptor.json"), readDescriptor);
  const float = parse("float.onnx", read("float.onnx", true), readFloatModel);

  const meta = descriptor && isObject(descriptor.meta) ? descriptor.meta : {};
  const scale = (key: "inputScale" | "outputScale") => {
    const v = meta[key];
    return typeof v === "number" && v > 0 ? v : undefined;
  };
  const inputShape = asShape(meta.inputShape);
  if (descriptor) {
    if (scale("inputScale") === undefined) problems.push(`descriptor.json has no positive meta.inputScale (got ${show(meta.inputScale)}): nobody can quantise an input for the model`);
    if (meta.inputShape !== undefined && !inputShape) problems.push(`descriptor.json meta.inputShape is ${show(meta.inputShape)}, not a list of positive sizes`);
  }
  if (model && descriptor) problems.push(...descriptorDisagreements(descriptor, model));
  if (model && inputShape && product(inputShape) !== model.inputSize) {
    problems.push(`descriptor.json meta.inputShape [${inputShape.join(", ")}] holds ${product(inputShape)} values, integer.onnx takes ${model.inputSize}`);
  }
  // What is shown: the integer model if it reads, else the float one, else nothing.
  const facts = model ? integerFacts(model) : float ? floatFacts(float) : { layers: [], parameters: 0 };
  if (model && float && shapes(float.layers) !== shapes(facts.layers)) problems.push(`float.onnx has layers ${shapes(float.layers)}; integer.onnx has ${shapes(facts.layers)}`);
  return {
    path: dir,
    kind: "folder",
    files: FOLDER_FILES.filter((f) => existsSync(path.join(dir, f))),
    ...(typeof descriptor?.name === "string" ? { name: descriptor.name } : {}),
    ...facts,
    ...(inputShape ? { inputShape } : {}),
    inputScale: scale("inputScale"),
    outputScale: scale("outputScale"),
    problems,
  };
}

function readDescriptor(bytes: Buffer): Record<string, unknown> {
  const parsed: unknown = JSON.parse(bytes.toString("utf8"));
  if (!isObject(parsed)) throw new Error("not a JSON object");
  return parsed;
}

/** `v` if it is a list of positive integer sizes. */
function asShape(v: unknown): number[] | undefined {
  return Array.isArray(v) && v.every((d: unknown) => typeof d === "number" && Number.isSafeInteger(d) && d > 0) ? (v as number[]) : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));

/**
 * Each field of the descriptor that differs from what describeModel derives from the graph (sizes,
 * parameter count, model root, and every field of every layer, its roots included); hex compares
 * without regard to case.
 */
function descriptorDisagreements(descriptor: Record<string, unknown>, model: IntegerModel): string[] {
  const { name: _name, meta: _meta, layers: wantLayers, ...want } = describeModel("", model, commitModel(model));
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => (typeof a === "string" && typeof b === "string" ? a.toLowerCase() === b.toLowerCase() : a === b);
  const differ = (where: string, got: unknown, expected: unknown) => {
    if (!same(got, expected)) out.push(`descriptor.json ${where} is ${show(got)}, integer.onnx gives ${JSON.stringify(expected)}`);
  };
  for (const [key, value] of Object.entries(want)) differ(key, descriptor[key], value);
  const got: readonly unknown[] = Array.isArray(descriptor.layers) ? descriptor.layers : [];
  if (got.length !== wantLayers.length) out.push(`descriptor.json lists ${got.length} layers, integer.onnx has ${wantLayers.length}`);
  wantLayers.forEach((w, i) => {
    const g = got[i];
    if (g === undefined) return;
    if (!isObject(g)) return out.push(`descriptor.json layer ${i + 1} is ${show(g)}, not an object`);
    for (const [key, value] of Object.entries(w)) differ(`layer ${i + 1} ${key}`, g[key], value);
  });
  return out;
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const listed = (names: readonly string[]) => (names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`);

/**
 * The inspection as the lines a terminal prints: what the model is, each layer with its
 * quantisation constants and accumulator-bound margin, and for a folder whether its files agree
 * (or each problem).
 */
export function formatInspection(i: Inspection): string[] {
  const lines = [`${i.path} (${i.kind === "folder" ? "model folder" : i.kind})`];
  if (i.name !== undefined) lines.push(`  name         ${i.name}`);
  if (i.inputSize !== undefined) lines.push(`  input        ${i.inputSize} values${i.inputShape ? ` (shape [${i.inputShape.join(", ")}])` : ""}`);
  lines.push(`  parameters   ${i.parameters}`);
  if (i.modelRoot) lines.push(`  model root   ${i.modelRoot}`);
  if (i.inputScale !== undefined) lines.push(`  input scale  ${i.inputScale} (q = clamp(round(x / scale), −128, 127))`);
  if (i.outputScale !== undefined) lines.push(`  output scale ${i.outputScale}`);
  for (const [k, l] of i.layers.entries()) {
    lines.push(`  layer ${k + 1}: ${l.op} ${l.nIn}→${l.nOut}${l.relu ? " + relu" : ""}, ${l.parameters} parameters`);
    const q = l.integer;
    if (!q) continue;
    lines.push(
      `    requantise × ${q.multiplier} / 2^${q.shift} (= ${(q.multiplier / 2 ** q.shift).toPrecision(6)}), clamp [${q.clampLo}, ${q.clampHi}]`,
      `    accumulator bound ${q.accumulatorBound} of ${INT32_MAX} (${pct(q.accumulatorBound / INT32_MAX)} used; headroom ${INT32_MAX - q.accumulatorBound}; max |bias| ${q.maxAbsBias})`,
    );
  }
  if (i.kind === "folder") lines.push(i.problems.length === 0 ? `  files agree: ${listed(i.files ?? [])} describe one model` : `  ${i.problems.length} problem(s):`);
  for (const p of i.problems) lines.push(`    - ${p}`);
  return lines;
}

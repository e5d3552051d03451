import { toHex } from "../../core/bytes";
import { type ModelCommitment, commitModel } from "../../core/commitments";
import { chunkCount } from "../../core/denseStep";
import { type SumLie, lieAt, propagatingLie, withPadding, withSums } from "../../core/dispute/lies";
import type { DisputeTrace } from "../../core/dispute/planner";
import { type IntegerModel, type ModelShape, modelShape } from "../../core/model";
import { Rng } from "../../core/rng";
import { TraceProvider } from "../../core/traceProvider";
import { syntheticModel } from "../../scripts/lib/syntheticModel";

/**
 * Tiny registered models for the dispute solvency invariant (test/contracts/solvency.disputes.invariant.test.ts):
 * every layer has at most 32 inputs and 32 outputs, so a game on them is short (no node descent, one chunk of
 * partial sums: challenge, [revealRoots,] pickRoots, pickNode, stateAccumulator, step), and every result a node
 * may submit, honest or not, computed once with the dispute kit (core/traceProvider.ts, core/dispute/lies.ts).
 */

type Hex = `0x${string}`;

/** What a node submits on one input and answers from in its games. */
export interface Claim {
  /** "honest", "output lie …", "hidden lie …", "padding lie …". */
  readonly name: string;
  /** The trace the node committed to (the one its games are played from, sums aside). */
  readonly trace: DisputeTrace;
  /** The same as a TraceProvider, where the claim is one (not the padding lie): what sum lies are built on. */
  readonly provider?: TraceProvider;
  readonly output: Int8Array;
  readonly outputHex: Hex;
  readonly outputRoot: Hex;
  readonly traceRoot: Hex;
  readonly inputProof: Hex[];
  readonly outputProof: Hex[];
  /** The output differs from the honest one (a watcher disputes it). */
  readonly wrongOutput: boolean;
  /** The trace is the honest one. */
  readonly honest: boolean;
}

export interface TinyInput {
  readonly input: Int8Array;
  readonly inputHex: Hex;
  readonly inputRoot: Hex;
  readonly honest: TraceProvider;
  /** claims[0] is the honest result; the others are lies. */
  readonly claims: readonly Claim[];
}

export interface TinyModel {
  readonly name: string;
  readonly model: IntegerModel;
  readonly commitment: ModelCommitment;
  readonly shape: ModelShape;
  readonly inputs: readonly TinyInput[];
}

/** How a lying node answers the sums of the element it lied about (core/dispute/lies.ts withSums). */
export type Defence = SumLie | "silent";

function claimOf(name: string, trace: DisputeTrace, output: Int8Array, honest: TraceProvider, provider?: TraceProvider): Claim {
  const L = trace.layerCount;
  const out = honest.output;
  return {
    name,
    trace,
    provider,
    output,
    outputHex: toHex(new Uint8Array(output.buffer, output.byteOffset, output.length)),
    outputRoot: toHex(trace.activationRoot(L).value),
    traceRoot: toHex(trace.traceRoot),
    inputProof: trace.activationRoot(0).proof.map(toHex),
    outputProof: trace.activationRoot(L).proof.map(toHex),
    wrongOutput: output.some((y, i) => y !== out[i]),
    honest: toHex(trace.traceRoot) === toHex(honest.traceRoot),
  };
}

/** A model of `sizes` (every size ≤ 32), a few inputs, and for each the honest result and a few lies. */
export function tinyModel(name: string, seed: number, sizes: readonly number[], inputCount: number): TinyModel {
  if (sizes.some((n) => n < 1 || n > 32)) throw new RangeError("a tiny model has layers of at most 32 inputs and outputs");
  const rng = new Rng(seed);
  const model = syntheticModel(rng, { sizes, style: "scaled" });
  const commitment = commitModel(model);
  const L = model.layers.length;
  const inputs: TinyInput[] = [];
  for (let k = 0; k < inputCount; k++) {
    const input = rng.int8Array(model.inputSize);
    const honest = TraceProvider.fromInput(model, commitment, input);
    const claims: Claim[] = [claimOf("honest", honest, honest.output, honest, honest)];
    const provider = (trace: Int8Array[]) => TraceProvider.fromTrace(model, commitment, trace);
    // Lies about an element of the output (consistent up to the output).
    for (const j of [rng.int(0, model.layers[L - 1].nOut - 1), rng.int(0, model.layers[L - 1].nOut - 1)]) {
      const p = provider(lieAt(model, honest.trace, L, j, true));
      if (!claims.some((c) => c.traceRoot === toHex(p.traceRoot))) claims.push(claimOf(`output lie y${L}[${j}]`, p, p.output, honest, p));
    }
    if (L >= 2) {
      // A lie in a hidden layer that reaches the output, one that does not (if any), and non-zero padding.
      const reaching = propagatingLie(model, honest.trace, 1, rng.shuffle([...honest.trace[1].keys()]));
      if (reaching) {
        const p = provider(reaching.trace);
        claims.push(claimOf(`hidden lie a1[${reaching.j}] reaching the output`, p, p.output, honest, p));
      }
      for (let j = 0; j < honest.trace[1].length; j++) {
        const p = provider(lieAt(model, honest.trace, 1, j, true));
        if (p.output.every((y, i) => y === honest.output[i])) {
          claims.push(claimOf(`hidden lie a1[${j}] absorbed`, p, p.output, honest, p));
          break;
        }
      }
      if (honest.trace[1].length % 32 !== 0) {
        const padded = withPadding(honest, 1, rng.int(1, 255));
        claims.push(claimOf("padding lie a1", padded, honest.output, honest));
      }
    }
    inputs.push({
      input,
      inputHex: toHex(new Uint8Array(input.buffer, input.byteOffset, input.length)),
      inputRoot: toHex(honest.activationRoot(0).value),
      honest,
      claims,
    });
  }
  for (const layer of model.layers) if (chunkCount(layer.nIn) !== 1) throw new RangeError("one chunk of partial sums per element");
  return { name, model, commitment, shape: modelShape(model), inputs };
}

/** The trace a node answers from in a game, given how it defends its claim. */
export function answeringTrace(claim: Claim, defence: Defence): DisputeTrace {
  if (defence === "silent" || !claim.provider || claim.honest) return claim.trace;
  return withSums(claim.provider, defence);
}

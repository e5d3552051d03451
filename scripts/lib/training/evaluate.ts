import { type TrainedGraph, networkOf } from "./network";
import type { Sample } from "./train";

/** The logits of each input under `graph` (BatchNorm with its running statistics): the trainer's own float forward pass, in batches. */
export function predictGraph(graph: TrainedGraph, inputs: readonly ArrayLike<number>[], batchSize = 100): Float32Array[] {
  const net = networkOf(graph);
  const { c, h, w } = net.inputShape;
  const size = c * h * w;
  const buffer = new Float32Array(batchSize * size);
  const out: Float32Array[] = [];
  for (let start = 0; start < inputs.length; start += batchSize) {
    const batch = inputs.slice(start, start + batchSize);
    batch.forEach((x, n) => {
      if (x.length !== size) throw new Error(`an input has ${x.length} values, the network expects ${size}`);
      buffer.set(x, n * size);
    });
    const logits = net.forward({ data: buffer.subarray(0, batch.length * size), n: batch.length, c, h, w }, false);
    for (let n = 0; n < logits.n; n++) out.push(logits.data.slice(n * logits.c, (n + 1) * logits.c));
  }
  return out;
}

/** The fraction of `samples` that `graph` classifies right (the lowest index wins a tie). */
export function graphAccuracy(graph: TrainedGraph, samples: readonly Sample[]): number {
  const logits = predictGraph(
    graph,
    samples.map((s) => s.x),
  );
  return logits.filter((z, i) => argmax(z) === samples[i].label).length / samples.length;
}

/** The index of the largest value, the lowest of equal ones. */
export function argmax(z: ArrayLike<number>): number {
  let arg = 0;
  for (let k = 1; k < z.length; k++) if (z[k] > z[arg]) arg = k;
  return arg;
}

import type { Tensor } from "./tensor";

/**
 * Softmax cross-entropy of a batch of logits (the first of equal logits is the prediction): writes
 * d(mean loss)/d(logits) into `grad` and returns the summed loss and the number of right answers.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: readonly number[], grad: Float32Array): { loss: number; right: number } {
  const k = logits.c;
  let loss = 0;
  let right = 0;
  const p = new Float64Array(k);
  for (let n = 0; n < logits.n; n++) {
    const z = logits.data.subarray(n * k, (n + 1) * k);
    let arg = 0;
    for (let i = 1; i < k; i++) if (z[i] > z[arg]) arg = i;
    if (arg === labels[n]) right++;
    let sum = 0;
    for (let i = 0; i < k; i++) {
      p[i] = Math.exp(z[i] - z[arg]);
      sum += p[i];
    }
    loss += Math.log(sum) - (z[labels[n]] - z[arg]);
    for (let i = 0; i < k; i++) grad[n * k + i] = (p[i] / sum - (i === labels[n] ? 1 : 0)) / logits.n;
  }
  return { loss, right };
}

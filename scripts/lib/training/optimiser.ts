import type { Param } from "./tensor";

/** The learning rate of step `step` of `total`: linear warm-up to `peak` over `warmup` steps, then cosine to 0. */
export function learningRateAt(peak: number, step: number, total: number, warmup: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  return (peak * (1 + Math.cos((Math.PI * (step - warmup)) / Math.max(total - warmup, 1)))) / 2;
}

/**
 * One step of SGD with momentum and L2 weight decay as PyTorch's: v = μ·v + (g + λ·w), w −= lr·v,
 * λ only on the parameters that decay. The float64 gradient is rounded to float32 with the velocity.
 */
export function sgdStep(params: readonly Param[], lr: number, momentum: number, weightDecay: number): void {
  for (const p of params) {
    const decay = p.decay ? weightDecay : 0;
    for (let i = 0; i < p.value.length; i++) {
      p.velocity[i] = momentum * p.velocity[i] + p.grad[i] + decay * p.value[i];
      p.value[i] -= lr * p.velocity[i];
    }
  }
}

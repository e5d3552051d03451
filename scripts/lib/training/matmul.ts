/**
 * The matrix products of the convolutions (scripts/lib/training/conv.ts). Each output is one
 * float64 sum, from its first term to its last in order (the bias first); the loops are blocked
 * (2 rows × 4 columns, or 4 rows) so that each value loaded is used several times, which does not
 * change any sum's order.
 */

/** out[m][p] = bias[m] + Σ_r a[m][r] · b[r][p], for a [M×K] and b [K×P], rounded to float32. */
export function matmul(a: Float32Array, b: Float32Array, bias: Float32Array | undefined, out: Float32Array, M: number, K: number, P: number): void {
  const M2 = M - (M % 2);
  const P4 = P - (P % 4);
  for (let m = 0; m < M2; m += 2) {
    const a0 = m * K;
    const a1 = a0 + K;
    const b0 = bias ? bias[m] : 0;
    const b1 = bias ? bias[m + 1] : 0;
    for (let p = 0; p < P4; p += 4) {
      let s0 = b0, s1 = b0, s2 = b0, s3 = b0, t0 = b1, t1 = b1, t2 = b1, t3 = b1;
      for (let r = 0; r < K; r++) {
        const u = a[a0 + r];
        const v = a[a1 + r];
        const o = r * P + p;
        const c0 = b[o], c1 = b[o + 1], c2 = b[o + 2], c3 = b[o + 3];
        s0 += u * c0; s1 += u * c1; s2 += u * c2; s3 += u * c3;
        t0 += v * c0; t1 += v * c1; t2 += v * c2; t3 += v * c3;
      }
      const o = m * P + p;
      out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
      out[o + P] = t0; out[o + P + 1] = t1; out[o + P + 2] = t2; out[o + P + 3] = t3;
    }
  }
  // What the blocks left: the last row when M is odd, the last columns when P is not a multiple of 4.
  for (let m = 0; m < M; m++) {
    for (let p = m < M2 ? P4 : 0; p < P; p++) {
      let s = bias ? bias[m] : 0;
      for (let r = 0; r < K; r++) s += a[m * K + r] * b[r * P + p];
      out[m * P + p] = s;
    }
  }
}

/** out[m][r] += Σ_p g[m][p] · b[r][p], for g [M×P] and b [K×P] (a weight gradient). */
export function addMatmulTransposed(g: Float32Array, b: Float32Array, out: Float64Array, M: number, K: number, P: number): void {
  const M4 = M - (M % 4);
  for (let m = 0; m < M4; m += 4) {
    const g0 = m * P, g1 = g0 + P, g2 = g1 + P, g3 = g2 + P;
    for (let r = 0; r < K; r++) {
      const row = r * P;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < P; p++) {
        const c = b[row + p];
        s0 += g[g0 + p] * c; s1 += g[g1 + p] * c; s2 += g[g2 + p] * c; s3 += g[g3 + p] * c;
      }
      out[m * K + r] += s0; out[(m + 1) * K + r] += s1; out[(m + 2) * K + r] += s2; out[(m + 3) * K + r] += s3;
    }
  }
  for (let m = M4; m < M; m++) {
    for (let r = 0; r < K; r++) {
      let s = 0;
      for (let p = 0; p < P; p++) s += g[m * P + p] * b[r * P + p];
      out[m * K + r] += s;
    }
  }
}

/** out[r][p] = Σ_m a[m][r] · g[m][p], for a [M×K] and g [M×P] (the gradient of an im2col matrix). */
export function matmulTransposedLeft(a: Float32Array, g: Float32Array, out: Float64Array, M: number, K: number, P: number): void {
  const P4 = P - (P % 4);
  for (let r = 0; r < K; r++) {
    const row = r * P;
    for (let p = 0; p < P4; p += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let m = 0; m < M; m++) {
        const u = a[m * K + r];
        const o = m * P + p;
        s0 += u * g[o]; s1 += u * g[o + 1]; s2 += u * g[o + 2]; s3 += u * g[o + 3];
      }
      out[row + p] = s0; out[row + p + 1] = s1; out[row + p + 2] = s2; out[row + p + 3] = s3;
    }
    for (let p = P4; p < P; p++) {
      let s = 0;
      for (let m = 0; m < M; m++) s += a[m * K + r] * g[m * P + p];
      out[row + p] = s;
    }
  }
}

import type { Rng } from "../../../core/rng";
import type { Shape } from "./tensor";

/**
 * Augmentation: writes each image of a batch into `out`, one after another, moved by a random
 * whole number of pixels in [−maxShift, maxShift] along each axis (drawn from `rng`, rows then
 * columns, image by image; none drawn when `maxShift` is 0).
 */
export function shiftedBatch(images: readonly ArrayLike<number>[], shape: Shape, maxShift: number, rng: Rng, out: Float32Array): void {
  const size = shape.c * shape.h * shape.w;
  images.forEach((x, n) => {
    const dy = maxShift > 0 ? rng.int(-maxShift, maxShift) : 0;
    const dx = maxShift > 0 ? rng.int(-maxShift, maxShift) : 0;
    shiftInto(x, shape, dy, dx, out, n * size);
  });
}

/** Writes `x` moved by (dy, dx) pixels into `out` at `at`, zeros where nothing moves in. */
function shiftInto(x: ArrayLike<number>, s: Shape, dy: number, dx: number, out: Float32Array, at: number): void {
  for (let c = 0; c < s.c; c++) {
    for (let y = 0; y < s.h; y++) {
      const sy = y - dy;
      const o = at + (c * s.h + y) * s.w;
      if (sy < 0 || sy >= s.h) {
        out.fill(0, o, o + s.w);
        continue;
      }
      const src = (c * s.h + sy) * s.w;
      for (let x0 = 0; x0 < s.w; x0++) {
        const sx = x0 - dx;
        out[o + x0] = sx >= 0 && sx < s.w ? x[src + sx] : 0;
      }
    }
  }
}

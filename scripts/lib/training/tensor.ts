/**
 * What the trainer's nodes pass and keep: tensors, shapes, trained parameters and reusable buffers.
 *
 * Number formats, throughout scripts/lib/training: the model (weights, biases, BatchNorm scales,
 * shifts and running statistics), the momentum buffers and everything that flows through the
 * network (activations, their gradients, im2col matrices, BatchNorm's normalised values) are
 * float32 (Float32Array). Every sum (a dot product, a matrix-product entry, a batch statistic, the
 * loss) is accumulated in a JavaScript number or a Float64Array row, in a fixed order, and rounded to
 * float32 once when it is stored; parameter gradients are float64 sums over the batch until the
 * optimiser folds them into the momentum. JavaScript evaluates `a * b + c` as two rounded double
 * operations (no fused multiply-add), so nothing depends on the CPU: the same configuration on the
 * same samples gives the same weights bit for bit on any machine.
 */

/** A batch, row-major [N, C, H, W]; a vector is [C, 1, 1]. */
export interface Tensor {
  readonly data: Float32Array;
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/** A tensor's shape without the batch. */
export interface Shape {
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/** A trained array: its value, its batch gradient (float64 sums) and its momentum. */
export interface Param {
  readonly value: Float32Array;
  readonly grad: Float64Array;
  readonly velocity: Float32Array;
  /** Whether weight decay applies (Conv and Dense weights; not biases or BatchNorm). */
  readonly decay: boolean;
}

export const param = (value: Float32Array, decay: boolean): Param => ({ value, grad: new Float64Array(value.length), velocity: new Float32Array(value.length), decay });

/** A reusable buffer: the first `length` values of one array, reallocated only to grow. */
export class Scratch<T extends Float32Array | Float64Array | Int32Array> {
  private buf: T | undefined;
  constructor(private readonly make: (n: number) => T) {}
  get(length: number): T {
    if (!this.buf || this.buf.length < length) this.buf = this.make(length);
    return this.buf.subarray(0, length) as T;
  }
}

export const f32 = () => new Scratch((n) => new Float32Array(n));
export const f64 = () => new Scratch((n) => new Float64Array(n));
export const i32 = () => new Scratch((n) => new Int32Array(n));

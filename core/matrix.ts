type Matrix = Int8Array | Float32Array;

/** Transposes a row-major rows×cols matrix into a new array of the same type. */
export function transpose<T extends Matrix>(m: T, rows: number, cols: number): T {
  const t = new (m.constructor as new (n: number) => T)(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

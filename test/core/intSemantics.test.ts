import { expect } from "chai";
import {
  INT32_MAX,
  MULTIPLIER_MAX,
  SHIFT_MAX,
  accumulatorBound,
  accumulatorFitsInt32,
  clamp,
  requantise,
} from "../../core/intSemantics";

describe("integer semantics", () => {
  describe("requantise", () => {
    it("rounds half up: ties go towards +infinity, for positive and negative accumulators", () => {
      // shift 1, multiplier 1: acc / 2
      expect(requantise(5, 1, 1)).to.equal(3n); // 2.5 -> 3
      expect(requantise(-5, 1, 1)).to.equal(-2n); // -2.5 -> -2
      expect(requantise(-7, 1, 2)).to.equal(-2n); // -1.75 -> -2
      expect(requantise(-6, 1, 2)).to.equal(-1n); // -1.5 -> -1
      expect(requantise(-3, 1, 1)).to.equal(-1n); // -1.5 -> -1
      expect(requantise(7, 1, 2)).to.equal(2n); // 1.75 -> 2
      expect(requantise(0, MULTIPLIER_MAX, SHIFT_MAX)).to.equal(0n);
    });

    it("agrees with floor(acc·m/2^s + 1/2) over a dense grid of small values", () => {
      for (let acc = -300; acc <= 300; acc++) {
        for (const [m, s] of [[1, 1], [3, 2], [5, 3], [7, 1], [1, 4]]) {
          expect(requantise(acc, m, s), `acc ${acc} m ${m} s ${s}`).to.equal(BigInt(Math.floor((acc * m) / 2 ** s + 0.5)));
        }
      }
    });

    it("is exact at the extremes of int32 and of the multiplier", () => {
      const m = BigInt(MULTIPLIER_MAX);
      const expected = (a: bigint, s: bigint) => (a * m + (1n << (s - 1n))) / (1n << s) - ((a * m + (1n << (s - 1n))) % (1n << s) < 0n ? 1n : 0n);
      for (const acc of [INT32_MAX, -INT32_MAX, -(2 ** 31)]) {
        for (const s of [1, 31, 62]) expect(requantise(acc, MULTIPLIER_MAX, s)).to.equal(expected(BigInt(acc), BigInt(s)));
      }
    });
  });

  describe("clamp", () => {
    it("clamps into [lo, hi] and passes values inside through", () => {
      expect(clamp(-129n, -128, 127)).to.equal(-128);
      expect(clamp(128n, -128, 127)).to.equal(127);
      expect(clamp(-5n, 0, 127)).to.equal(0); // ReLU
      expect(clamp(2n ** 61n, 0, 127)).to.equal(127);
      expect(clamp(42n, -128, 127)).to.equal(42);
    });
  });

  describe("accumulator bound", () => {
    it("admits a fan-in up to (2^31 − 1 − max|bias|) / 16384 and no more", () => {
      const fanIn = Math.floor(INT32_MAX / 16384); // 131071
      expect(accumulatorFitsInt32(fanIn, INT32_MAX - fanIn * 16384)).to.equal(true);
      expect(accumulatorFitsInt32(fanIn, INT32_MAX - fanIn * 16384 + 1)).to.equal(false);
      expect(accumulatorFitsInt32(fanIn + 1, 0)).to.equal(false);
      expect(accumulatorBound(784, 1000)).to.equal(1000 + 784 * 16384);
    });
  });
});

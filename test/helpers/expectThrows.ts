import { expect } from "chai";

/** Asserts that `f` throws an instance of `cls` whose message matches every pattern; returns the error. */
export function expectThrows(f: () => unknown, cls: new (...args: never[]) => Error, ...patterns: RegExp[]): Error {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error, "should throw").to.be.instanceOf(cls);
  for (const p of patterns) expect((error as Error).message).to.match(p);
  return error as Error;
}

/** The error `p` rejects with; fails the test if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

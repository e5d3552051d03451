import { expect } from "chai";
import { type Hex, encodeErrorResult } from "viem";
import { jobMarketAbi, stakingAbi } from "../../core/abi";
import { RefuteContractError, decodeError, revertDataOf } from "../../core/chain/contractError";

/** An error shaped like a JSON-RPC node's revert (Hardhat, geth): the data under `cause.data.data`. */
function rpcRevert(data: Hex): Error {
  return new Error("call failed", { cause: Object.assign(new Error("execution reverted"), { data: { message: "execution reverted", data } }) });
}

const ERROR_STRING = [{ type: "error", name: "Error", inputs: [{ name: "message", type: "string" }] }] as const;
const PANIC = [{ type: "error", name: "Panic", inputs: [{ name: "code", type: "uint256" }] }] as const;

describe("decodeError (core/chain/contractError.ts)", () => {
  it("decodes a Refute custom error found anywhere in the cause chain, with named arguments", () => {
    const data = encodeErrorResult({ abi: stakingAbi, errorName: "StakingStillUnbonding", args: ["0x00000000000000000000000000000000000000aa", 200n, 100n] });
    const e = decodeError(rpcRevert(data)) as RefuteContractError;
    expect(e).to.be.instanceOf(RefuteContractError);
    expect(e.errorName).to.equal("StakingStillUnbonding");
    expect(e.args).to.deep.equal({ account: "0x00000000000000000000000000000000000000AA", readyAt: 200n, now_: 100n });
    expect(e.message).to.equal("StakingStillUnbonding(account=0x00000000000000000000000000000000000000AA, readyAt=200, now_=100)");
    expect(e.data).to.equal(data);
    expect(revertDataOf(rpcRevert(data))).to.equal(data);
  });

  it("names JobStatus values and decodes viem's `raw` revert data", () => {
    const data = encodeErrorResult({ abi: jobMarketAbi, errorName: "JobMarketWrongStatus", args: [7n, 4, 3] });
    const e = decodeError(Object.assign(new Error("reverted"), { raw: data, functionName: "finalize" }));
    expect(e.message).to.equal("finalize reverted: JobMarketWrongStatus(jobId=7, have=Finalized, need=Submitted)");
    expect((e as RefuteContractError).args).to.deep.equal({ jobId: 7n, have: 4, need: 3 });
  });

  it("reads reason strings and panics", () => {
    expect(decodeError(rpcRevert(encodeErrorResult({ abi: ERROR_STRING, errorName: "Error", args: ["nope"] }))).message).to.equal('Error(message="nope")');
    expect(decodeError(rpcRevert(encodeErrorResult({ abi: PANIC, errorName: "Panic", args: [0x11n] }))).message).to.equal("Panic(code=0x11: arithmetic overflow or underflow)");
  });

  it("names the selector of an error no Refute contract declares", () => {
    const data: Hex = `0xdeadbeef${"00".repeat(32)}`;
    const e = decodeError(rpcRevert(data)) as RefuteContractError;
    expect(e.errorName).to.equal("unknown");
    expect(e.message).to.match(/^unknown custom error 0xdeadbeef \(revert data 0xdeadbeef0{64}\)$/);
    expect(e.declaredBy).to.deep.equal([]);
  });

  it("leaves errors without revert data as they are", () => {
    const plain = new Error("connection refused");
    expect(decodeError(plain)).to.equal(plain);
    expect(decodeError(rpcRevert("0x"))).to.be.not.instanceOf(RefuteContractError);
    expect(decodeError("boom").message).to.equal("boom");
  });
});

import { expect } from "chai";
import type { PublicClient } from "viem";
import { ChainClock } from "../../core/chain/chainTime";

/** A public client that answers getBlock for "latest" and "pending" from the test's values. */
function fakeClient(blocks: { latest: bigint; pending?: bigint | Error }) {
  const asked: string[] = [];
  const client = {
    async getBlock({ blockTag }: { blockTag: "latest" | "pending" }) {
      asked.push(blockTag);
      const v = blockTag === "latest" ? blocks.latest : blocks.pending;
      if (v instanceof Error) throw v;
      if (v === undefined) throw new Error(`no ${blockTag} block`);
      return { timestamp: v };
    },
  };
  return { client: client as unknown as PublicClient, asked, blocks };
}

/** core/chain/chainTime.ts: the time a transaction sent now would see, read from an RPC. */
describe("ChainClock (core/chain/chainTime.ts)", () => {
  it("takes the latest of the latest block + 1, this machine's clock and the pending block", async () => {
    const { client } = fakeClient({ latest: 1_000n, pending: 1_045n });
    expect(await new ChainClock(client, () => 1_031n).read()).to.deep.equal({ now: 1_045n, latest: 1_000n });
    expect(await new ChainClock(client, () => 1_050n).now()).to.equal(1_050n);
    const ahead = fakeClient({ latest: 5_000n, pending: 5_000n });
    expect(await new ChainClock(ahead.client, () => 1_050n).now()).to.equal(5_001n);
  });

  it("asks no more for the pending block for a while once the RPC refused it while answering for the latest", async () => {
    const { client, asked } = fakeClient({ latest: 1_000n, pending: new Error("unsupported block tag: pending") });
    const clock = new ChainClock(client, () => 1_031n);
    expect(await clock.now()).to.equal(1_031n);
    expect(await clock.now()).to.equal(1_031n);
    expect(asked).to.deep.equal(["latest", "pending", "latest"]);
  });

  it("fails when the latest block cannot be read (the caller retries)", async () => {
    const { client } = fakeClient({ latest: 1_000n, pending: 1_001n });
    (client as unknown as { getBlock: () => Promise<never> }).getBlock = async () => {
      throw new Error("connection refused");
    };
    let error: unknown;
    await new ChainClock(client, () => 1_031n).now().catch((e) => (error = e));
    expect((error as Error).message).to.equal("connection refused");
  });
});

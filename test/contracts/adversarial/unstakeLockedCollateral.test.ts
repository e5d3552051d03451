import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { UNBONDING_DELAY } from "../../helpers/marketFixture";
import { COLLATERAL, CONFIG, NODE_STAKE, afterWindow, expectEscrowBalanced, stakedMarket, submittedJob } from "./escrow";

async function nodeWithLockedCollateral() {
  const f = await stakedMarket();
  return { ...f, ...(await submittedJob(f, f.other.address, 50_000)) };
}

describe("Adversarial: a node that unstakes while its collateral is locked", () => {
  describe("Staking.requestUnstake", () => {
    describe("when the amount reaches into the locked collateral", () => {
      it("reverts with StakingInsufficientFreeStake(node, free, amount)", async () => {
        const { market, staking, node } = await loadFixture(nodeWithLockedCollateral);
        const free = NODE_STAKE - COLLATERAL;
        await expect(staking.connect(node).requestUnstake(NODE_STAKE))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(node.address, free, NODE_STAKE);
        await expect(staking.connect(node).requestUnstake(free + 1n))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(node.address, free, free + 1n);
        expect(await staking.accountOf(node.address)).to.deep.equal([free, COLLATERAL, 0n, 0n]);
        await expectEscrowBalanced(market, staking);
      });
    });

    describe("when the node unbonds all its free stake and the result is then disputed", () => {
      it("the collateral is still there to slash, and leaves only after finalisation", async () => {
        const { market, staking, game, node, requester, jobId, job, output } = await loadFixture(nodeWithLockedCollateral);
        const free = NODE_STAKE - COLLATERAL;
        await staking.connect(node).requestUnstake(free);
        // The unbonding delay outlasts the challenge window and the longest dispute.
        expect(UNBONDING_DELAY).to.be.greaterThan(CONFIG.challengeWindow + CONFIG.maxDisputeDuration);
        await game.hold(jobId, job);
        await game.release(jobId, 1);
        await afterWindow(job);
        await expect(staking.connect(node).requestUnstake(COLLATERAL))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(node.address, 0, COLLATERAL);
        await market.finalize(jobId, job, output);
        await expect(staking.connect(node).requestUnstake(COLLATERAL)).to.emit(staking, "UnstakeRequested");
        await time.increase(UNBONDING_DELAY);
        await expect(staking.connect(node).withdrawUnstaked()).to.changeEtherBalances([staking, node], [-NODE_STAKE, NODE_STAKE]);
        expect(await staking.credits(requester.address)).to.equal(0);
        await expectEscrowBalanced(market, staking);
      });
    });
  });
});

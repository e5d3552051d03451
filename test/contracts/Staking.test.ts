import { expect } from "chai";
import { ethers } from "hardhat";
import { impersonateAccount, loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import type { DisputeGameMock, JobMarket, ModelRegistry, RejectingReceiver, Staking } from "../../typechain-types";
import { CONFIG, UNBONDING_DELAY, deployMarket } from "../helpers/marketFixture";

const ETH = ethers.parseEther("1");
const DELAY = BigInt(UNBONDING_DELAY);
const ALICE_STAKE = 3n * ETH;
const ALICE_LOCKED = ETH;
const BOB_STAKE = 2n * ETH;

/** What every Staking fixture hands to the balance check run after each test. */
interface Checked {
  staking: Staking;
  accounts: string[];
  /** Contract accounts the test sends transactions from (impersonated). */
  impersonated?: string[];
}
let current: Checked | undefined;

/** Loads a fixture and remembers its staking contract and accounts for the balance check after the test. */
async function use<T extends Checked>(fixture: () => Promise<T>): Promise<T> {
  const ctx = await loadFixture(fixture);
  // Impersonation is not part of the chain state a fixture's snapshot restores: renew it.
  for (const address of ctx.impersonated ?? []) await impersonateAccount(address);
  current = ctx;
  return ctx;
}

/**
 * The contract holds exactly what it owes: its ETH balance equals the sum over `accounts` of
 * free + locked + unbonding stake plus credits. `accounts` must include everyone the test touched.
 */
async function expectFullyBacked(staking: Staking, accounts: readonly string[]): Promise<void> {
  let owed = 0n;
  for (const account of new Set(accounts)) {
    const [free, locked, unbonding] = await staking.accountOf(account);
    owed += free + locked + unbonding + (await staking.credits(account));
  }
  expect(await ethers.provider.getBalance(staking)).to.equal(owed, "staking balance != free + locked + unbonding + credits");
}

async function accountOf(staking: Staking, account: string) {
  const [free, locked, unbonding, readyAt] = await staking.accountOf(account);
  return { free, locked, unbonding, readyAt };
}

/**
 * A Staking deployed by `deployer`, not bound yet, with a JobMarket on it and a DisputeGameMock bound to
 * both: the pair Staking.bind accepts (issue 10 item 8). `market` and `game` are those two contracts as
 * impersonated signers, so the tests drive lock, unlock, forfeit and slash directly.
 */
async function deployUnbound() {
  const signers = await ethers.getSigners();
  const [deployer, alice, bob, carol, stranger] = signers;
  const staking = (await ethers.deployContract("Staking", [UNBONDING_DELAY], deployer)) as unknown as Staking;
  const receiver = (await ethers.deployContract("RejectingReceiver")) as unknown as RejectingReceiver;
  const registry = (await ethers.deployContract("ModelRegistry")) as unknown as ModelRegistry;
  const marketContract = (await ethers.deployContract("JobMarket", [
    await registry.getAddress(),
    await staking.getAddress(),
    CONFIG,
  ])) as unknown as JobMarket;
  const gameMock = (await ethers.deployContract("DisputeGameMock")) as unknown as DisputeGameMock;
  await gameMock.bind(await marketContract.getAddress(), await staking.getAddress(), await registry.getAddress());
  const impersonated = [await marketContract.getAddress(), await gameMock.getAddress()];
  for (const address of impersonated) await setBalance(address, 100n * ETH);
  const [market, game] = await Promise.all(impersonated.map((a) => ethers.getImpersonatedSigner(a)));
  const accounts = [...signers.map((s) => s.address), await receiver.getAddress(), ...impersonated];
  return { staking, receiver, registry, marketContract, gameMock, deployer, market, game, alice, bob, carol, stranger, accounts, impersonated };
}

/** Bound to the market and the game: `market` may lock, unlock and forfeit; `game` may slash. */
async function deployStaking() {
  const ctx = await deployUnbound();
  await ctx.staking.bind(ctx.market.address, ctx.game.address);
  return ctx;
}

/** Bound as above; alice staked 3 ETH of which the market locked 1 ETH; bob staked 2 ETH, all free. */
async function deployStaked() {
  const ctx = await deployStaking();
  await ctx.staking.connect(ctx.alice).stake({ value: ALICE_STAKE });
  await ctx.staking.connect(ctx.market).lock(ctx.alice.address, ALICE_LOCKED);
  await ctx.staking.connect(ctx.bob).stake({ value: BOB_STAKE });
  return ctx;
}

/** Bound as above, the game called through the DisputeGameMock's own functions; alice staked 3 ETH, 1 ETH locked. */
async function deployWithGameMock() {
  const ctx = await deployStaking();
  await ctx.staking.connect(ctx.alice).stake({ value: ALICE_STAKE });
  await ctx.staking.connect(ctx.market).lock(ctx.alice.address, ALICE_LOCKED);
  return ctx;
}

/** The project's full deployment (registry, staking, JobMarket, DisputeGameMock). */
async function deployFullMarket() {
  const ctx = await deployMarket();
  const signers = await ethers.getSigners();
  return { ...ctx, accounts: [...signers.map((s) => s.address), await ctx.market.getAddress(), await ctx.game.getAddress()] };
}

/** Time of the block that mined `tx`. */
async function minedAt(tx: { wait(): Promise<{ blockNumber: number } | null> }): Promise<bigint> {
  const receipt = await tx.wait();
  return BigInt((await ethers.provider.getBlock(receipt!.blockNumber))!.timestamp);
}

describe("Staking", () => {
  afterEach(async () => {
    if (current) await expectFullyBacked(current.staking, current.accounts);
    current = undefined;
  });

  describe("constructor", () => {
    it("sets unbondingDelay and leaves market and game unbound", async () => {
      const { staking } = await use(deployUnbound);
      expect(await staking.unbondingDelay()).to.equal(DELAY);
      expect(await staking.market()).to.equal(ethers.ZeroAddress);
      expect(await staking.disputeGame()).to.equal(ethers.ZeroAddress);
    });

    it("takes any delay given", async () => {
      const staking = await ethers.deployContract("Staking", [12_345]);
      expect(await staking.unbondingDelay()).to.equal(12_345n);
    });

    describe("when not yet bound", () => {
      it("lets nobody lock, unlock, forfeit or slash", async () => {
        const { staking, market, game, stranger, alice, bob } = await use(deployUnbound);
        await expect(staking.connect(market).lock(alice.address, 0))
          .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
          .withArgs(market.address);
        await expect(staking.connect(stranger).unlock(alice.address, 0))
          .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
          .withArgs(stranger.address);
        await expect(staking.connect(stranger).forfeit(alice.address, 0, bob.address))
          .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
          .withArgs(stranger.address);
        await expect(staking.connect(game).slash(alice.address, 0, bob.address))
          .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
          .withArgs(game.address);
      });
    });
  });

  describe("bind", () => {
    describe("when the deployer binds two non-zero addresses", () => {
      it("emits Bound(market, game) and stores both", async () => {
        const { staking, deployer, market, game } = await use(deployUnbound);
        await expect(staking.connect(deployer).bind(market.address, game.address))
          .to.emit(staking, "Bound")
          .withArgs(market.address, game.address);
        expect(await staking.market()).to.equal(market.address);
        expect(await staking.disputeGame()).to.equal(game.address);
      });
    });

    describe("when the caller is not the deployer", () => {
      it("reverts with StakingUnauthorized(caller), before and after binding", async () => {
        const { staking, deployer, market, game, stranger } = await use(deployUnbound);
        await expect(staking.connect(stranger).bind(stranger.address, stranger.address))
          .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
          .withArgs(stranger.address);
        await expect(staking.connect(market).bind(market.address, game.address))
          .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
          .withArgs(market.address);
        await staking.connect(deployer).bind(market.address, game.address);
        await expect(staking.connect(stranger).bind(stranger.address, stranger.address))
          .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
          .withArgs(stranger.address);
      });
    });

    describe("when already bound", () => {
      it("reverts with StakingAlreadyBound and keeps the first binding", async () => {
        const { staking, deployer, market, game, stranger } = await use(deployStaking);
        await expect(staking.connect(deployer).bind(stranger.address, stranger.address)).to.be.revertedWithCustomError(
          staking,
          "StakingAlreadyBound",
        );
        expect(await staking.market()).to.equal(market.address);
        expect(await staking.disputeGame()).to.equal(game.address);
      });
    });

    describe("when an address is zero", () => {
      it("reverts with StakingZeroAddress for a zero market", async () => {
        const { staking, game } = await use(deployUnbound);
        await expect(staking.bind(ethers.ZeroAddress, game.address)).to.be.revertedWithCustomError(staking, "StakingZeroAddress");
      });

      it("reverts with StakingZeroAddress for a zero game", async () => {
        const { staking, market } = await use(deployUnbound);
        await expect(staking.bind(market.address, ethers.ZeroAddress)).to.be.revertedWithCustomError(staking, "StakingZeroAddress");
        expect(await staking.market()).to.equal(ethers.ZeroAddress);
      });
    });

    describe("issue 10 item 8: when the market or the game is bound to something else", () => {
      it('reverts with StakingBindingMismatch("market staking", have, need) for a market on another staking', async () => {
        const { staking, registry, game } = await use(deployUnbound);
        const otherStaking = await ethers.deployContract("Staking", [UNBONDING_DELAY]);
        const otherMarket = await ethers.deployContract("JobMarket", [await registry.getAddress(), await otherStaking.getAddress(), CONFIG]);
        await expect(staking.bind(await otherMarket.getAddress(), game.address))
          .to.be.revertedWithCustomError(staking, "StakingBindingMismatch")
          .withArgs("market staking", await otherStaking.getAddress(), await staking.getAddress());
        expect(await staking.market()).to.equal(ethers.ZeroAddress);
      });

      it('reverts with StakingBindingMismatch("game staking", have, need) for a game bound to another staking', async () => {
        const { staking, registry, market } = await use(deployUnbound);
        const otherStaking = await ethers.deployContract("Staking", [UNBONDING_DELAY]);
        const wrong = (await ethers.deployContract("DisputeGameMock")) as unknown as DisputeGameMock;
        await wrong.bind(market.address, await otherStaking.getAddress(), await registry.getAddress());
        await expect(staking.bind(market.address, await wrong.getAddress()))
          .to.be.revertedWithCustomError(staking, "StakingBindingMismatch")
          .withArgs("game staking", await otherStaking.getAddress(), await staking.getAddress());
        expect(await staking.disputeGame()).to.equal(ethers.ZeroAddress);
      });

      it('reverts with StakingBindingMismatch("game market", have, need) for a game bound to another market', async () => {
        const { staking, registry, market, game } = await use(deployUnbound);
        const otherMarket = await ethers.deployContract("JobMarket", [await registry.getAddress(), await staking.getAddress(), CONFIG]);
        const wrong = (await ethers.deployContract("DisputeGameMock")) as unknown as DisputeGameMock;
        await wrong.bind(await otherMarket.getAddress(), await staking.getAddress(), await registry.getAddress());
        await expect(staking.bind(market.address, await wrong.getAddress()))
          .to.be.revertedWithCustomError(staking, "StakingBindingMismatch")
          .withArgs("game market", await otherMarket.getAddress(), market.address);
        // The other market (on this staking too) with the game bound to the first: the same mismatch, the other way.
        await expect(staking.bind(await otherMarket.getAddress(), game.address))
          .to.be.revertedWithCustomError(staking, "StakingBindingMismatch")
          .withArgs("game market", market.address, await otherMarket.getAddress());
        expect(await staking.market()).to.equal(ethers.ZeroAddress);
      });

      it("refuses accounts with no code as the market or the game", async () => {
        const { staking, market, game, stranger } = await use(deployUnbound);
        await expect(staking.bind(stranger.address, game.address)).to.be.reverted;
        await expect(staking.bind(market.address, stranger.address)).to.be.reverted;
        expect(await staking.market()).to.equal(ethers.ZeroAddress);
        await expect(staking.bind(market.address, game.address)).to.emit(staking, "Bound").withArgs(market.address, game.address);
      });
    });

    describe("when deployed by deployMarket()", () => {
      it("is bound to the JobMarket and the DisputeGameMock, once", async () => {
        const { staking, market, game, deployer, node, other } = await use(deployFullMarket);
        expect(await staking.market()).to.equal(await market.getAddress());
        expect(await staking.disputeGame()).to.equal(await game.getAddress());
        await expect(staking.connect(deployer).bind(deployer.address, deployer.address)).to.be.revertedWithCustomError(
          staking,
          "StakingAlreadyBound",
        );
        // The game's call reaches the staking contract's checks: nothing of the node is locked.
        await expect(game.slash(node.address, 1n, other.address))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientLockedStake")
          .withArgs(node.address, 0n, 1n);
      });
    });
  });

  describe("stake", () => {
    describe("when some ETH is sent", () => {
      it("emits Staked(account, amount, free), adds to the free stake and takes the ETH", async () => {
        const { staking, alice } = await use(deployStaking);
        const tx = staking.connect(alice).stake({ value: ETH });
        await expect(tx).to.emit(staking, "Staked").withArgs(alice.address, ETH, ETH);
        await expect(tx).to.changeEtherBalances([alice, staking], [-ETH, ETH]);
        expect(await accountOf(staking, alice.address)).to.deep.equal({ free: ETH, locked: 0n, unbonding: 0n, readyAt: 0n });
      });

      it("accumulates: the event reports the new free total", async () => {
        const { staking, alice } = await use(deployStaked);
        await expect(staking.connect(alice).stake({ value: 5n }))
          .to.emit(staking, "Staked")
          .withArgs(alice.address, 5n, ALICE_STAKE - ALICE_LOCKED + 5n);
        expect(await accountOf(staking, alice.address)).to.deep.equal({
          free: ALICE_STAKE - ALICE_LOCKED + 5n,
          locked: ALICE_LOCKED,
          unbonding: 0n,
          readyAt: 0n,
        });
      });

      it("works before binding too", async () => {
        const { staking, alice } = await use(deployUnbound);
        await expect(staking.connect(alice).stake({ value: 1n })).to.emit(staking, "Staked").withArgs(alice.address, 1n, 1n);
      });
    });

    describe("when no ETH is sent", () => {
      it("reverts with StakingZeroAmount", async () => {
        const { staking, alice } = await use(deployStaking);
        await expect(staking.connect(alice).stake({ value: 0 })).to.be.revertedWithCustomError(staking, "StakingZeroAmount");
      });
    });

    describe("when more than uint128 max is sent", () => {
      it("reverts with StakingAmountTooLarge(amount)", async () => {
        const { staking, stranger } = await use(deployStaking);
        const tooMuch = 2n ** 128n;
        await setBalance(stranger.address, tooMuch + 10n * ETH);
        await expect(staking.connect(stranger).stake({ value: tooMuch }))
          .to.be.revertedWithCustomError(staking, "StakingAmountTooLarge")
          .withArgs(tooMuch);
      });
    });
  });

  describe("accountOf", () => {
    it("is all zero for an account that never staked", async () => {
      const { staking, stranger } = await use(deployStaked);
      expect(await staking.accountOf(stranger.address)).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(await staking.credits(stranger.address)).to.equal(0n);
    });
  });

  describe("requestUnstake", () => {
    describe("when the amount is free stake", () => {
      it("emits UnstakeRequested(account, amount, unbonding, readyAt = block time + delay)", async () => {
        const { staking, bob } = await use(deployStaked);
        const at = BigInt(await time.latest()) + 100n;
        await time.setNextBlockTimestamp(at);
        await expect(staking.connect(bob).requestUnstake(ETH))
          .to.emit(staking, "UnstakeRequested")
          .withArgs(bob.address, ETH, ETH, at + DELAY);
        expect(await accountOf(staking, bob.address)).to.deep.equal({
          free: BOB_STAKE - ETH,
          locked: 0n,
          unbonding: ETH,
          readyAt: at + DELAY,
        });
      });

      it("moves no ETH", async () => {
        const { staking, bob } = await use(deployStaked);
        await expect(staking.connect(bob).requestUnstake(BOB_STAKE)).to.changeEtherBalances([bob, staking], [0n, 0n]);
      });

      it("can unbond all the free stake while the locked part stays locked", async () => {
        const { staking, alice } = await use(deployStaked);
        const tx = await staking.connect(alice).requestUnstake(ALICE_STAKE - ALICE_LOCKED);
        const at = await minedAt(tx);
        await expect(tx)
          .to.emit(staking, "UnstakeRequested")
          .withArgs(alice.address, ALICE_STAKE - ALICE_LOCKED, ALICE_STAKE - ALICE_LOCKED, at + DELAY);
        expect(await accountOf(staking, alice.address)).to.deep.equal({
          free: 0n,
          locked: ALICE_LOCKED,
          unbonding: ALICE_STAKE - ALICE_LOCKED,
          readyAt: at + DELAY,
        });
      });
    });

    describe("when a second request follows", () => {
      it("adds to the unbonding amount and restarts the clock for all of it", async () => {
        const { staking, bob } = await use(deployStaked);
        const first = await minedAt(await staking.connect(bob).requestUnstake(ETH));
        const second = first + 1000n;
        await time.setNextBlockTimestamp(second);
        await expect(staking.connect(bob).requestUnstake(ETH / 2n))
          .to.emit(staking, "UnstakeRequested")
          .withArgs(bob.address, ETH / 2n, ETH + ETH / 2n, second + DELAY);
        expect((await accountOf(staking, bob.address)).readyAt).to.equal(second + DELAY);

        // The first request's deadline no longer frees anything.
        await time.setNextBlockTimestamp(first + DELAY);
        await expect(staking.connect(bob).withdrawUnstaked())
          .to.be.revertedWithCustomError(staking, "StakingStillUnbonding")
          .withArgs(bob.address, second + DELAY, first + DELAY);

        await time.setNextBlockTimestamp(second + DELAY);
        const tx = staking.connect(bob).withdrawUnstaked();
        await expect(tx).to.emit(staking, "Unstaked").withArgs(bob.address, ETH + ETH / 2n);
        await expect(tx).to.changeEtherBalances([bob, staking], [ETH + ETH / 2n, -(ETH + ETH / 2n)]);
      });
    });

    describe("when the amount is zero", () => {
      it("reverts with StakingZeroAmount", async () => {
        const { staking, bob } = await use(deployStaked);
        await expect(staking.connect(bob).requestUnstake(0)).to.be.revertedWithCustomError(staking, "StakingZeroAmount");
      });
    });

    describe("when the amount exceeds the free stake", () => {
      it("reverts with StakingInsufficientFreeStake(account, have, need) for an account with no stake", async () => {
        const { staking, stranger } = await use(deployStaked);
        await expect(staking.connect(stranger).requestUnstake(1))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(stranger.address, 0n, 1n);
      });

      it("reverts one wei above the free stake", async () => {
        const { staking, bob } = await use(deployStaked);
        await expect(staking.connect(bob).requestUnstake(BOB_STAKE + 1n))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(bob.address, BOB_STAKE, BOB_STAKE + 1n);
      });

      it("does not let locked stake be unstaked", async () => {
        const { staking, alice } = await use(deployStaked);
        await expect(staking.connect(alice).requestUnstake(ALICE_STAKE))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(alice.address, ALICE_STAKE - ALICE_LOCKED, ALICE_STAKE);
        await staking.connect(alice).requestUnstake(ALICE_STAKE - ALICE_LOCKED);
        await expect(staking.connect(alice).requestUnstake(1))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(alice.address, 0n, 1n);
      });

      it("reverts for an amount that does not fit in uint128", async () => {
        const { staking, bob } = await use(deployStaked);
        const huge = 2n ** 128n + 1n;
        await expect(staking.connect(bob).requestUnstake(huge))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(bob.address, BOB_STAKE, huge);
      });
    });
  });

  describe("withdrawUnstaked", () => {
    describe("when nothing is unbonding", () => {
      it("reverts with StakingNothingUnbonding(account)", async () => {
        const { staking, alice, stranger } = await use(deployStaked);
        await expect(staking.connect(alice).withdrawUnstaked())
          .to.be.revertedWithCustomError(staking, "StakingNothingUnbonding")
          .withArgs(alice.address);
        await expect(staking.connect(stranger).withdrawUnstaked())
          .to.be.revertedWithCustomError(staking, "StakingNothingUnbonding")
          .withArgs(stranger.address);
      });
    });

    describe("when the delay has not passed", () => {
      it("reverts with StakingStillUnbonding(account, readyAt, now) one second before readyAt", async () => {
        const { staking, bob } = await use(deployStaked);
        const readyAt = (await minedAt(await staking.connect(bob).requestUnstake(ETH))) + DELAY;
        await time.setNextBlockTimestamp(readyAt - 1n);
        await expect(staking.connect(bob).withdrawUnstaked())
          .to.be.revertedWithCustomError(staking, "StakingStillUnbonding")
          .withArgs(bob.address, readyAt, readyAt - 1n);
      });

      it("reverts right after the request", async () => {
        const { staking, bob } = await use(deployStaked);
        const at = await minedAt(await staking.connect(bob).requestUnstake(ETH));
        await time.setNextBlockTimestamp(at + 1n);
        await expect(staking.connect(bob).withdrawUnstaked())
          .to.be.revertedWithCustomError(staking, "StakingStillUnbonding")
          .withArgs(bob.address, at + DELAY, at + 1n);
      });
    });

    describe("when the delay has passed", () => {
      it("sends the unbonded ETH at exactly readyAt and emits Unstaked(account, amount)", async () => {
        const { staking, bob } = await use(deployStaked);
        const readyAt = (await minedAt(await staking.connect(bob).requestUnstake(ETH))) + DELAY;
        await time.setNextBlockTimestamp(readyAt);
        const tx = staking.connect(bob).withdrawUnstaked();
        await expect(tx).to.emit(staking, "Unstaked").withArgs(bob.address, ETH);
        await expect(tx).to.changeEtherBalances([bob, staking], [ETH, -ETH]);
        expect(await accountOf(staking, bob.address)).to.deep.equal({ free: BOB_STAKE - ETH, locked: 0n, unbonding: 0n, readyAt: 0n });
      });

      it("sends it long after readyAt too, once", async () => {
        const { staking, alice } = await use(deployStaked);
        await staking.connect(alice).requestUnstake(ALICE_STAKE - ALICE_LOCKED);
        await time.increase(DELAY * 10n);
        await expect(staking.connect(alice).withdrawUnstaked()).to.changeEtherBalances(
          [alice, staking],
          [ALICE_STAKE - ALICE_LOCKED, -(ALICE_STAKE - ALICE_LOCKED)],
        );
        await expect(staking.connect(alice).withdrawUnstaked())
          .to.be.revertedWithCustomError(staking, "StakingNothingUnbonding")
          .withArgs(alice.address);
        expect((await accountOf(staking, alice.address)).locked).to.equal(ALICE_LOCKED);
      });
    });

    describe("when the receiver rejects ETH", () => {
      it("reverts with StakingTransferFailed(to, amount) and keeps the unbonding stake", async () => {
        const { staking, receiver } = await use(deployStaking);
        const stakingAddress = await staking.getAddress();
        const receiverAddress = await receiver.getAddress();
        await receiver.call(stakingAddress, staking.interface.encodeFunctionData("stake"), { value: ETH });
        await receiver.call(stakingAddress, staking.interface.encodeFunctionData("requestUnstake", [ETH]));
        await time.increase(DELAY);
        await expect(receiver.call(stakingAddress, staking.interface.encodeFunctionData("withdrawUnstaked")))
          .to.be.revertedWithCustomError(staking, "StakingTransferFailed")
          .withArgs(receiverAddress, ETH);
        const account = await accountOf(staking, receiverAddress);
        expect(account.unbonding).to.equal(ETH);
        expect(account.free).to.equal(0n);
      });
    });
  });

  describe("withdraw", () => {
    describe("when nothing is credited", () => {
      it("reverts with StakingNothingToWithdraw(account)", async () => {
        const { staking, alice, carol } = await use(deployStaked);
        await expect(staking.connect(carol).withdraw())
          .to.be.revertedWithCustomError(staking, "StakingNothingToWithdraw")
          .withArgs(carol.address);
        // Stake is not a credit.
        await expect(staking.connect(alice).withdraw())
          .to.be.revertedWithCustomError(staking, "StakingNothingToWithdraw")
          .withArgs(alice.address);
      });
    });

    describe("after a forfeit", () => {
      it("sends the recipient exactly the forfeited amount and emits Withdrawn(account, amount)", async () => {
        const { staking, market, alice, carol } = await use(deployStaked);
        await staking.connect(market).forfeit(alice.address, ALICE_LOCKED, carol.address);
        expect(await staking.credits(carol.address)).to.equal(ALICE_LOCKED);
        const tx = staking.connect(carol).withdraw();
        await expect(tx).to.emit(staking, "Withdrawn").withArgs(carol.address, ALICE_LOCKED);
        await expect(tx).to.changeEtherBalances([carol, staking, alice], [ALICE_LOCKED, -ALICE_LOCKED, 0n]);
        expect(await staking.credits(carol.address)).to.equal(0n);
        await expect(staking.connect(carol).withdraw())
          .to.be.revertedWithCustomError(staking, "StakingNothingToWithdraw")
          .withArgs(carol.address);
      });
    });

    describe("after a slash", () => {
      it("sends the recipient exactly the slashed amount", async () => {
        const { staking, game, alice, carol } = await use(deployStaked);
        await staking.connect(game).slash(alice.address, ALICE_LOCKED / 4n, carol.address);
        const tx = staking.connect(carol).withdraw();
        await expect(tx).to.emit(staking, "Withdrawn").withArgs(carol.address, ALICE_LOCKED / 4n);
        await expect(tx).to.changeEtherBalances([carol, staking], [ALICE_LOCKED / 4n, -ALICE_LOCKED / 4n]);
      });
    });

    describe("after several credits", () => {
      it("sends their sum in one withdrawal", async () => {
        const { staking, market, game, alice, bob, carol } = await use(deployStaked);
        await staking.connect(market).lock(bob.address, ETH);
        await staking.connect(market).forfeit(alice.address, 400n, carol.address);
        await staking.connect(game).slash(bob.address, 600n, carol.address);
        await staking.connect(game).slash(alice.address, 1000n, carol.address);
        expect(await staking.credits(carol.address)).to.equal(2000n);
        await expect(staking.connect(carol).withdraw()).to.changeEtherBalances([carol, staking], [2000n, -2000n]);
      });
    });

    describe("when the recipient rejects ETH", () => {
      it("reverts with StakingTransferFailed(to, amount) and keeps the credit", async () => {
        const { staking, market, alice, receiver } = await use(deployStaked);
        const receiverAddress = await receiver.getAddress();
        await staking.connect(market).forfeit(alice.address, ALICE_LOCKED, receiverAddress);
        await expect(receiver.call(await staking.getAddress(), staking.interface.encodeFunctionData("withdraw")))
          .to.be.revertedWithCustomError(staking, "StakingTransferFailed")
          .withArgs(receiverAddress, ALICE_LOCKED);
        expect(await staking.credits(receiverAddress)).to.equal(ALICE_LOCKED);
      });
    });
  });

  describe("lock", () => {
    describe("when the market locks free stake", () => {
      it("emits CollateralLocked(account, amount, locked) and moves free to locked without moving ETH", async () => {
        const { staking, market, alice } = await use(deployStaked);
        const tx = staking.connect(market).lock(alice.address, ETH / 2n);
        await expect(tx)
          .to.emit(staking, "CollateralLocked")
          .withArgs(alice.address, ETH / 2n, ALICE_LOCKED + ETH / 2n);
        await expect(tx).to.changeEtherBalances([staking, alice], [0n, 0n]);
        expect(await accountOf(staking, alice.address)).to.deep.equal({
          free: ALICE_STAKE - ALICE_LOCKED - ETH / 2n,
          locked: ALICE_LOCKED + ETH / 2n,
          unbonding: 0n,
          readyAt: 0n,
        });
      });

      it("can lock all the free stake", async () => {
        const { staking, market, bob } = await use(deployStaked);
        await expect(staking.connect(market).lock(bob.address, BOB_STAKE))
          .to.emit(staking, "CollateralLocked")
          .withArgs(bob.address, BOB_STAKE, BOB_STAKE);
        expect((await accountOf(staking, bob.address)).free).to.equal(0n);
      });
    });

    describe("when the amount exceeds the free stake", () => {
      it("reverts with StakingInsufficientFreeStake(account, have, need)", async () => {
        const { staking, market, alice, stranger } = await use(deployStaked);
        const free = ALICE_STAKE - ALICE_LOCKED;
        await expect(staking.connect(market).lock(alice.address, free + 1n))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(alice.address, free, free + 1n);
        await expect(staking.connect(market).lock(stranger.address, 1n))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(stranger.address, 0n, 1n);
      });

      it("does not lock unbonding stake", async () => {
        const { staking, market, bob } = await use(deployStaked);
        await staking.connect(bob).requestUnstake(BOB_STAKE);
        await expect(staking.connect(market).lock(bob.address, 1n))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(bob.address, 0n, 1n);
      });
    });

    describe("when the caller is not the market", () => {
      it("reverts with StakingUnauthorized(caller), the game, the deployer and the node included", async () => {
        const { staking, game, deployer, alice, stranger } = await use(deployStaked);
        for (const caller of [game, deployer, alice, stranger]) {
          await expect(staking.connect(caller).lock(alice.address, 1n))
            .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
            .withArgs(caller.address);
        }
      });
    });
  });

  describe("unlock", () => {
    describe("when the market unlocks locked collateral", () => {
      it("emits CollateralUnlocked(account, amount, locked) and moves locked back to free", async () => {
        const { staking, market, alice } = await use(deployStaked);
        const tx = staking.connect(market).unlock(alice.address, ALICE_LOCKED / 4n);
        await expect(tx)
          .to.emit(staking, "CollateralUnlocked")
          .withArgs(alice.address, ALICE_LOCKED / 4n, ALICE_LOCKED - ALICE_LOCKED / 4n);
        await expect(tx).to.changeEtherBalances([staking, alice], [0n, 0n]);
        expect(await accountOf(staking, alice.address)).to.deep.equal({
          free: ALICE_STAKE - ALICE_LOCKED + ALICE_LOCKED / 4n,
          locked: ALICE_LOCKED - ALICE_LOCKED / 4n,
          unbonding: 0n,
          readyAt: 0n,
        });
      });

      it("makes the unlocked stake unstakable again", async () => {
        const { staking, market, alice } = await use(deployStaked);
        await expect(staking.connect(market).unlock(alice.address, ALICE_LOCKED))
          .to.emit(staking, "CollateralUnlocked")
          .withArgs(alice.address, ALICE_LOCKED, 0n);
        await expect(staking.connect(alice).requestUnstake(ALICE_STAKE)).to.emit(staking, "UnstakeRequested");
        await time.increase(DELAY);
        await expect(staking.connect(alice).withdrawUnstaked()).to.changeEtherBalances([alice, staking], [ALICE_STAKE, -ALICE_STAKE]);
      });
    });

    describe("when the amount exceeds the locked collateral", () => {
      it("reverts with StakingInsufficientLockedStake(account, have, need)", async () => {
        const { staking, market, alice, bob } = await use(deployStaked);
        await expect(staking.connect(market).unlock(alice.address, ALICE_LOCKED + 1n))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientLockedStake")
          .withArgs(alice.address, ALICE_LOCKED, ALICE_LOCKED + 1n);
        // Free stake is not locked stake.
        await expect(staking.connect(market).unlock(bob.address, 1n))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientLockedStake")
          .withArgs(bob.address, 0n, 1n);
      });
    });

    describe("when the caller is not the market", () => {
      it("reverts with StakingUnauthorized(caller), the game included", async () => {
        const { staking, game, alice, stranger } = await use(deployStaked);
        for (const caller of [game, alice, stranger]) {
          await expect(staking.connect(caller).unlock(alice.address, 1n))
            .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
            .withArgs(caller.address);
        }
      });
    });
  });

  describe("forfeit", () => {
    describe("when the market forfeits locked collateral", () => {
      it("emits CollateralForfeited(account, to, amount), takes it from locked and credits the recipient", async () => {
        const { staking, market, alice, carol } = await use(deployStaked);
        const amount = ALICE_LOCKED / 2n;
        const tx = staking.connect(market).forfeit(alice.address, amount, carol.address);
        await expect(tx).to.emit(staking, "CollateralForfeited").withArgs(alice.address, carol.address, amount);
        await expect(tx).to.changeEtherBalances([staking, alice, carol], [0n, 0n, 0n]);
        expect(await accountOf(staking, alice.address)).to.deep.equal({
          free: ALICE_STAKE - ALICE_LOCKED,
          locked: ALICE_LOCKED - amount,
          unbonding: 0n,
          readyAt: 0n,
        });
        expect(await staking.credits(carol.address)).to.equal(amount);
        expect(await staking.credits(alice.address)).to.equal(0n);
      });

      it("can credit the node itself", async () => {
        const { staking, market, alice } = await use(deployStaked);
        await expect(staking.connect(market).forfeit(alice.address, ALICE_LOCKED, alice.address))
          .to.emit(staking, "CollateralForfeited")
          .withArgs(alice.address, alice.address, ALICE_LOCKED);
        await expect(staking.connect(alice).withdraw()).to.changeEtherBalances([alice, staking], [ALICE_LOCKED, -ALICE_LOCKED]);
      });
    });

    describe("when the amount exceeds the locked collateral", () => {
      it("reverts with StakingInsufficientLockedStake(account, have, need) and leaves the free stake alone", async () => {
        const { staking, market, alice, bob, carol } = await use(deployStaked);
        await expect(staking.connect(market).forfeit(alice.address, ALICE_LOCKED + 1n, carol.address))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientLockedStake")
          .withArgs(alice.address, ALICE_LOCKED, ALICE_LOCKED + 1n);
        await expect(staking.connect(market).forfeit(bob.address, 1n, carol.address))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientLockedStake")
          .withArgs(bob.address, 0n, 1n);
      });
    });

    describe("when the recipient is zero", () => {
      it("reverts with StakingZeroAddress", async () => {
        const { staking, market, alice } = await use(deployStaked);
        await expect(staking.connect(market).forfeit(alice.address, 1n, ethers.ZeroAddress)).to.be.revertedWithCustomError(
          staking,
          "StakingZeroAddress",
        );
      });
    });

    describe("when the caller is not the market", () => {
      it("reverts with StakingUnauthorized(caller), the game included", async () => {
        const { staking, game, alice, carol, stranger } = await use(deployStaked);
        for (const caller of [game, carol, stranger]) {
          await expect(staking.connect(caller).forfeit(alice.address, 1n, caller.address))
            .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
            .withArgs(caller.address);
        }
      });
    });
  });

  describe("slash", () => {
    describe("when the game slashes locked collateral", () => {
      it("emits StakeSlashed(account, to, amount), takes it from locked and credits the recipient", async () => {
        const { staking, game, alice, carol } = await use(deployStaked);
        const tx = staking.connect(game).slash(alice.address, ALICE_LOCKED, carol.address);
        await expect(tx).to.emit(staking, "StakeSlashed").withArgs(alice.address, carol.address, ALICE_LOCKED);
        await expect(tx).to.changeEtherBalances([staking, alice, carol], [0n, 0n, 0n]);
        expect(await accountOf(staking, alice.address)).to.deep.equal({
          free: ALICE_STAKE - ALICE_LOCKED,
          locked: 0n,
          unbonding: 0n,
          readyAt: 0n,
        });
        expect(await staking.credits(carol.address)).to.equal(ALICE_LOCKED);
      });
    });

    describe("when the amount exceeds the locked collateral", () => {
      it("reverts with StakingInsufficientLockedStake(account, have, need): free stake cannot be slashed", async () => {
        const { staking, game, alice, bob, carol } = await use(deployStaked);
        await expect(staking.connect(game).slash(alice.address, ALICE_LOCKED + 1n, carol.address))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientLockedStake")
          .withArgs(alice.address, ALICE_LOCKED, ALICE_LOCKED + 1n);
        await expect(staking.connect(game).slash(bob.address, 1n, carol.address))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientLockedStake")
          .withArgs(bob.address, 0n, 1n);
      });

      it("cannot take unbonding stake either", async () => {
        const { staking, game, bob, carol } = await use(deployStaked);
        await staking.connect(bob).requestUnstake(BOB_STAKE);
        await expect(staking.connect(game).slash(bob.address, 1n, carol.address))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientLockedStake")
          .withArgs(bob.address, 0n, 1n);
      });
    });

    describe("when the recipient is zero", () => {
      it("reverts with StakingZeroAddress", async () => {
        const { staking, game, alice } = await use(deployStaked);
        await expect(staking.connect(game).slash(alice.address, 1n, ethers.ZeroAddress)).to.be.revertedWithCustomError(
          staking,
          "StakingZeroAddress",
        );
      });
    });

    describe("when the caller is not the game", () => {
      it("reverts with StakingUnauthorized(caller), the market included", async () => {
        const { staking, market, deployer, alice, carol } = await use(deployStaked);
        for (const caller of [market, deployer, alice, carol]) {
          await expect(staking.connect(caller).slash(alice.address, 1n, carol.address))
            .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
            .withArgs(caller.address);
        }
      });
    });

    describe("when the game is the DisputeGameMock contract", () => {
      it("slashes through the mock's slash(node, amount, to)", async () => {
        const { staking, gameMock, alice, carol } = await use(deployWithGameMock);
        await expect(gameMock.slash(alice.address, ALICE_LOCKED, carol.address))
          .to.emit(staking, "StakeSlashed")
          .withArgs(alice.address, carol.address, ALICE_LOCKED);
        expect(await staking.credits(carol.address)).to.equal(ALICE_LOCKED);
        await expect(staking.connect(carol).withdraw()).to.changeEtherBalances([carol, staking], [ALICE_LOCKED, -ALICE_LOCKED]);
      });

      it("passes the staking contract's errors through the mock", async () => {
        const { staking, gameMock, alice, carol } = await use(deployWithGameMock);
        await expect(gameMock.slash(alice.address, ALICE_LOCKED + 1n, carol.address))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientLockedStake")
          .withArgs(alice.address, ALICE_LOCKED, ALICE_LOCKED + 1n);
        await expect(gameMock.slash(alice.address, 1n, ethers.ZeroAddress)).to.be.revertedWithCustomError(staking, "StakingZeroAddress");
      });

      it("refuses the market and any EOA", async () => {
        const { staking, market, alice, carol, stranger } = await use(deployWithGameMock);
        for (const caller of [market, stranger]) {
          await expect(staking.connect(caller).slash(alice.address, 1n, carol.address))
            .to.be.revertedWithCustomError(staking, "StakingUnauthorized")
            .withArgs(caller.address);
        }
      });
    });
  });

  describe("accounting", () => {
    it("keeps the balance equal to free + locked + unbonding + credits through a whole lifecycle", async () => {
      const { staking, market, game, alice, bob, carol, receiver, accounts } = await use(deployStaking);
      const check = () => expectFullyBacked(staking, accounts);
      const stakingAddress = await staking.getAddress();
      const receiverAddress = await receiver.getAddress();

      await staking.connect(alice).stake({ value: 5n * ETH });
      await staking.connect(bob).stake({ value: 2n * ETH });
      await receiver.call(stakingAddress, staking.interface.encodeFunctionData("stake"), { value: ETH });
      await check();
      await staking.connect(market).lock(alice.address, 2n * ETH);
      await staking.connect(market).lock(bob.address, ETH);
      await staking.connect(market).lock(receiverAddress, ETH / 2n);
      await check();
      await staking.connect(market).unlock(alice.address, ETH / 2n);
      await staking.connect(market).forfeit(bob.address, ETH / 3n, carol.address);
      await staking.connect(game).slash(alice.address, ETH, carol.address);
      await staking.connect(game).slash(receiverAddress, ETH / 2n, bob.address);
      await check();
      await staking.connect(alice).requestUnstake(ETH);
      await receiver.call(stakingAddress, staking.interface.encodeFunctionData("requestUnstake", [ETH / 2n]));
      await check();
      await time.increase(DELAY);
      await staking.connect(alice).withdrawUnstaked();
      await staking.connect(carol).withdraw();
      await staking.connect(bob).withdraw();
      await expect(receiver.call(stakingAddress, staking.interface.encodeFunctionData("withdrawUnstaked"))).to.be.revertedWithCustomError(
        staking,
        "StakingTransferFailed",
      );
      await check();

      expect(await accountOf(staking, alice.address)).to.deep.equal({ free: 5n * ETH - 2n * ETH + ETH / 2n - ETH, locked: ETH / 2n, unbonding: 0n, readyAt: 0n });
      expect((await accountOf(staking, bob.address)).locked).to.equal(ETH - ETH / 3n);
      expect(await staking.credits(carol.address)).to.equal(0n);
      expect((await accountOf(staking, receiverAddress)).unbonding).to.equal(ETH / 2n);
    });
  });
});

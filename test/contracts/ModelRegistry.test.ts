import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { modelShape } from "../../core/model";
import type { ModelRegistry } from "../../typechain-types";
import { mnistModel } from "../helpers/marketFixture";

const ROOT_A = ethers.id("model A");
const ROOT_B = ethers.id("model B");
const ROOT_C = ethers.id("model C");
const URI_A = "ipfs://model-a";
const URI_B = "https://example.org/model-b";
/** The widest layer input or output declared for model A (its input) and model B (wider than both ends). */
const WIDTH_A = 784;
const WIDTH_B = 32;

/** A fresh registry, nothing registered. */
async function deployRegistry() {
  const [deployer, alice, bob, carol] = await ethers.getSigners();
  const registry = (await ethers.deployContract("ModelRegistry")) as unknown as ModelRegistry;
  const MAX_VECTOR_SIZE = await registry.MAX_VECTOR_SIZE();
  const MAX_LAYERS = await registry.MAX_LAYERS();
  return { registry, deployer, alice, bob, carol, MAX_VECTOR_SIZE, MAX_LAYERS };
}

/**
 * Two models: id 1 (ROOT_A, 784 → 10, 3 layers, width 784) owned by alice, id 2 (ROOT_B, 16 → 4, 1 layer,
 * width 32) owned by bob.
 */
async function deployWithModels() {
  const ctx = await deployRegistry();
  await ctx.registry.connect(ctx.alice).registerModel(ROOT_A, 784, 10, 3, WIDTH_A, URI_A);
  await ctx.registry.connect(ctx.bob).registerModel(ROOT_B, 16, 4, 1, WIDTH_B, URI_B);
  return ctx;
}

describe("ModelRegistry", () => {
  describe("constants", () => {
    it("bounds vectors at 2^16 elements and models at 1024 layers", async () => {
      const { MAX_VECTOR_SIZE, MAX_LAYERS, registry } = await loadFixture(deployRegistry);
      expect(MAX_VECTOR_SIZE).to.equal(1n << 16n);
      expect(MAX_LAYERS).to.equal(1024n);
      expect(await registry.modelCount()).to.equal(0n);
    });
  });

  describe("registerModel", () => {
    describe("when the arguments are valid", () => {
      it("returns id 1 for the first model", async () => {
        const { registry, alice } = await loadFixture(deployRegistry);
        expect(await registry.connect(alice).registerModel.staticCall(ROOT_A, 784, 10, 3, WIDTH_A, URI_A)).to.equal(1n);
      });

      it("emits ModelRegistered with every field", async () => {
        const { registry, alice } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, WIDTH_A, URI_A))
          .to.emit(registry, "ModelRegistered")
          .withArgs(1n, ROOT_A, alice.address, 784, 10, 3, WIDTH_A, URI_A);
      });

      it("stores every field, readable through getModel", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        const m = await registry.getModel(1);
        expect(m.root).to.equal(ROOT_A);
        expect(m.owner).to.equal(alice.address);
        expect(m.inputSize).to.equal(784n);
        expect(m.outputSize).to.equal(10n);
        expect(m.layerCount).to.equal(3n);
        expect(m.retired).to.equal(false);
        expect(m.maxWidth).to.equal(BigInt(WIDTH_A));
        expect(m.uri).to.equal(URI_A);
        expect((await registry.getModel(2)).maxWidth).to.equal(BigInt(WIDTH_B));
      });

      it("answers the shape through modelShape", async () => {
        const { registry } = await loadFixture(deployWithModels);
        const [inputSize, outputSize, layerCount, retired, maxWidth] = await registry.modelShape(1);
        expect([inputSize, outputSize, layerCount, retired, maxWidth]).to.deep.equal([784n, 10n, 3n, false, BigInt(WIDTH_A)]);
        expect(await registry.modelShape(2)).to.deep.equal([16n, 4n, 1n, false, BigInt(WIDTH_B)]);
      });

      it("answers the root of each id through modelRoot", async () => {
        const { registry } = await loadFixture(deployWithModels);
        expect(await registry.modelRoot(1)).to.equal(ROOT_A);
        expect(await registry.modelRoot(2)).to.equal(ROOT_B);
      });

      it("records the registry shape core/model.ts computes for the MNIST model", async () => {
        const { registry, alice } = await loadFixture(deployRegistry);
        const { model, root } = mnistModel();
        const shape = modelShape(model);
        expect(shape.maxWidth).to.equal(Math.max(model.inputSize, ...model.layers.map((l) => l.nOut)));
        await registry.connect(alice).registerModel(root, shape.inputSize, shape.outputSize, shape.layerCount, shape.maxWidth, "mnist");
        expect(await registry.modelShape(1)).to.deep.equal([
          BigInt(shape.inputSize),
          BigInt(shape.outputSize),
          BigInt(shape.layerCount),
          false,
          BigInt(shape.maxWidth),
        ]);
        expect(await registry.modelRoot(1)).to.equal(root);
      });

      it("hands out ids 1, 2, 3, … and counts them in modelCount", async () => {
        const { registry, alice, bob, carol } = await loadFixture(deployWithModels);
        expect(await registry.modelCount()).to.equal(2n);
        const m2 = await registry.getModel(2);
        expect(m2.root).to.equal(ROOT_B);
        expect(m2.owner).to.equal(bob.address);
        expect(m2.uri).to.equal(URI_B);
        expect((await registry.getModel(1)).owner).to.equal(alice.address);
        await expect(registry.connect(carol).registerModel(ROOT_C, 1, 1, 1, 1, ""))
          .to.emit(registry, "ModelRegistered")
          .withArgs(3n, ROOT_C, carol.address, 1, 1, 1, 1, "");
        expect(await registry.modelCount()).to.equal(3n);
        expect(await registry.modelRoot(3)).to.equal(ROOT_C);
      });
    });

    describe("when the root is zero", () => {
      it("reverts with ModelRegistryZeroRoot", async () => {
        const { registry, alice } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ethers.ZeroHash, 784, 10, 3, WIDTH_A, URI_A)).to.be.revertedWithCustomError(
          registry,
          "ModelRegistryZeroRoot",
        );
      });
    });

    describe("when a size is out of range", () => {
      it("reverts with ModelRegistryInvalidSize for input size 0", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 0, 10, 3, WIDTH_A, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidSize")
          .withArgs(0, 10, MAX_VECTOR_SIZE);
      });

      it("reverts with ModelRegistryInvalidSize for output size 0", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 0, 3, WIDTH_A, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidSize")
          .withArgs(784, 0, MAX_VECTOR_SIZE);
      });

      it("reverts with ModelRegistryInvalidSize for input size MAX_VECTOR_SIZE + 1", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, MAX_VECTOR_SIZE + 1n, 10, 3, MAX_VECTOR_SIZE + 1n, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidSize")
          .withArgs(MAX_VECTOR_SIZE + 1n, 10, MAX_VECTOR_SIZE);
      });

      it("reverts with ModelRegistryInvalidSize for output size MAX_VECTOR_SIZE + 1", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, MAX_VECTOR_SIZE + 1n, 3, MAX_VECTOR_SIZE + 1n, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidSize")
          .withArgs(784, MAX_VECTOR_SIZE + 1n, MAX_VECTOR_SIZE);
      });

      it("reverts with ModelRegistryInvalidSize for the largest uint32 input", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 2n ** 32n - 1n, 10, 3, 2n ** 32n - 1n, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidSize")
          .withArgs(2n ** 32n - 1n, 10, MAX_VECTOR_SIZE);
      });
    });

    describe("when the sizes are exactly MAX_VECTOR_SIZE", () => {
      it("registers the model", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, MAX_VECTOR_SIZE, MAX_VECTOR_SIZE, 1, MAX_VECTOR_SIZE, URI_A))
          .to.emit(registry, "ModelRegistered")
          .withArgs(1n, ROOT_A, alice.address, MAX_VECTOR_SIZE, MAX_VECTOR_SIZE, 1, MAX_VECTOR_SIZE, URI_A);
        expect(await registry.modelShape(1)).to.deep.equal([MAX_VECTOR_SIZE, MAX_VECTOR_SIZE, 1n, false, MAX_VECTOR_SIZE]);
      });
    });

    describe("when the layer count is out of range", () => {
      it("reverts with ModelRegistryInvalidLayerCount for 0 layers", async () => {
        const { registry, alice, MAX_LAYERS } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 0, WIDTH_A, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidLayerCount")
          .withArgs(0, MAX_LAYERS);
      });

      it("reverts with ModelRegistryInvalidLayerCount for MAX_LAYERS + 1 layers", async () => {
        const { registry, alice, MAX_LAYERS } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, MAX_LAYERS + 1n, WIDTH_A, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidLayerCount")
          .withArgs(MAX_LAYERS + 1n, MAX_LAYERS);
      });

      it("reverts with ModelRegistryInvalidLayerCount for the largest uint16", async () => {
        const { registry, alice, MAX_LAYERS } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 65_535, WIDTH_A, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidLayerCount")
          .withArgs(65_535, MAX_LAYERS);
      });
    });

    describe("when the layer count is exactly MAX_LAYERS", () => {
      it("registers the model", async () => {
        const { registry, alice, MAX_LAYERS } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, MAX_LAYERS, WIDTH_A, URI_A))
          .to.emit(registry, "ModelRegistered")
          .withArgs(1n, ROOT_A, alice.address, 784, 10, MAX_LAYERS, WIDTH_A, URI_A);
        expect((await registry.getModel(1)).layerCount).to.equal(MAX_LAYERS);
      });
    });

    describe("when the widest layer is out of range", () => {
      it("reverts with ModelRegistryInvalidWidth(maxWidth, inputSize, outputSize, max) below the input size", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        for (const width of [0, 783]) {
          await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, width, URI_A))
            .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidWidth")
            .withArgs(width, 784, 10, MAX_VECTOR_SIZE);
        }
      });

      it("reverts with ModelRegistryInvalidWidth below the output size", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 10, 784, 3, 783, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidWidth")
          .withArgs(783, 10, 784, MAX_VECTOR_SIZE);
      });

      it("reverts with ModelRegistryInvalidWidth above MAX_VECTOR_SIZE, up to the largest uint32", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        for (const width of [MAX_VECTOR_SIZE + 1n, 2n ** 32n - 1n]) {
          await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, width, URI_A))
            .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidWidth")
            .withArgs(width, 784, 10, MAX_VECTOR_SIZE);
        }
        expect(await registry.modelCount()).to.equal(0n);
      });

      it("accepts the larger of the input and output sizes exactly, and MAX_VECTOR_SIZE", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, 784, URI_A);
        await registry.connect(alice).registerModel(ROOT_B, 10, 784, 3, 784, URI_A);
        await registry.connect(alice).registerModel(ROOT_C, 1, 1, 1, MAX_VECTOR_SIZE, URI_A);
        expect((await registry.modelShape(1))[4]).to.equal(784n);
        expect((await registry.modelShape(2))[4]).to.equal(784n);
        expect((await registry.modelShape(3))[4]).to.equal(MAX_VECTOR_SIZE);
      });
    });

    describe("when the root is already registered", () => {
      it("registers it again as a new id owned by the caller, whoever asks; the first entry is unchanged", async () => {
        const { registry, alice, bob, carol } = await loadFixture(deployWithModels);
        await expect(registry.connect(carol).registerModel(ROOT_B, 784, 10, 3, WIDTH_A, "other"))
          .to.emit(registry, "ModelRegistered")
          .withArgs(3n, ROOT_B, carol.address, 784, 10, 3, WIDTH_A, "other");
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, WIDTH_A, URI_A))
          .to.emit(registry, "ModelRegistered")
          .withArgs(4n, ROOT_A, alice.address, 784, 10, 3, WIDTH_A, URI_A);
        expect(await registry.modelCount()).to.equal(4n);
        const first = await registry.getModel(2);
        expect([first.root, first.owner, first.uri]).to.deep.equal([ROOT_B, bob.address, URI_B]);
        expect(await registry.modelShape(2)).to.deep.equal([16n, 4n, 1n, false, BigInt(WIDTH_B)]);
        expect((await registry.getModel(3)).owner).to.equal(carol.address);
        expect(await registry.modelRoot(3)).to.equal(ROOT_B);
        expect(await registry.modelRoot(4)).to.equal(ROOT_A);
      });

      it("registers the root again after the model is retired, as a new active id; the old one stays retired", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await registry.connect(alice).retireModel(1);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, WIDTH_A, URI_A))
          .to.emit(registry, "ModelRegistered")
          .withArgs(3n, ROOT_A, alice.address, 784, 10, 3, WIDTH_A, URI_A);
        expect((await registry.modelShape(1))[3]).to.equal(true);
        expect((await registry.modelShape(3))[3]).to.equal(false);
      });
    });
  });

  describe("issue 10 item 5: a squatter who registers the model's root first", () => {
    /** carol (the squatter) registers ROOT_A first: id 1 with the real shape, id 2 with a wrong one. */
    async function squatted() {
      const ctx = await deployRegistry();
      await ctx.registry.connect(ctx.carol).registerModel(ROOT_A, 784, 10, 3, WIDTH_A, "ipfs://squat");
      await ctx.registry.connect(ctx.carol).registerModel(ROOT_A, 784, 9, 1, WIDTH_A, "ipfs://squat-wrong-shape");
      return ctx;
    }

    it("does not block the owner: alice registers the same root as her own id", async () => {
      const { registry, alice, carol } = await loadFixture(squatted);
      await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, WIDTH_A, URI_A))
        .to.emit(registry, "ModelRegistered")
        .withArgs(3n, ROOT_A, alice.address, 784, 10, 3, WIDTH_A, URI_A);
      const mine = await registry.getModel(3);
      expect([mine.root, mine.owner, mine.uri]).to.deep.equal([ROOT_A, alice.address, URI_A]);
      expect(await registry.modelShape(3)).to.deep.equal([784n, 10n, 3n, false, BigInt(WIDTH_A)]);
      // The squatter's entries stay the squatter's: it owns nothing of alice's.
      expect((await registry.getModel(1)).owner).to.equal(carol.address);
      expect((await registry.getModel(2)).owner).to.equal(carol.address);
    });

    it("leaves each owner able to retire and transfer only its own entry", async () => {
      const { registry, alice, bob, carol } = await loadFixture(squatted);
      await registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, WIDTH_A, URI_A);
      for (const call of [() => registry.connect(carol).retireModel(3), () => registry.connect(carol).transferModelOwnership(3, carol.address)]) {
        await expect(call()).to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner").withArgs(3n, carol.address, alice.address);
      }
      for (const call of [() => registry.connect(alice).retireModel(1), () => registry.connect(alice).transferModelOwnership(1, alice.address)]) {
        await expect(call()).to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner").withArgs(1n, alice.address, carol.address);
      }
      // The squatter retiring its entries under the same root leaves alice's active.
      await registry.connect(carol).retireModel(1);
      await registry.connect(carol).retireModel(2);
      expect((await registry.modelShape(3))[3]).to.equal(false);
      // alice retires and hands over her own; the squatter's entry is not touched.
      await registry.connect(alice).transferModelOwnership(3, bob.address);
      await registry.connect(bob).retireModel(3);
      expect((await registry.getModel(3)).owner).to.equal(bob.address);
      expect((await registry.getModel(1)).owner).to.equal(carol.address);
    });

    it("a wrong-shaped squat does not change the shape of alice's id", async () => {
      const { registry, alice } = await loadFixture(squatted);
      await registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, WIDTH_A, URI_A);
      expect(await registry.modelShape(2)).to.deep.equal([784n, 9n, 1n, false, BigInt(WIDTH_A)]);
      expect(await registry.modelShape(3)).to.deep.equal([784n, 10n, 3n, false, BigInt(WIDTH_A)]);
      expect(await registry.modelRoot(2)).to.equal(await registry.modelRoot(3));
    });
  });

  describe("retireModel", () => {
    describe("when the caller owns the model", () => {
      it("emits ModelRetired and shows the model retired", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).retireModel(1)).to.emit(registry, "ModelRetired").withArgs(1n);
        expect(await registry.modelShape(1)).to.deep.equal([784n, 10n, 3n, true, BigInt(WIDTH_A)]);
        const m = await registry.getModel(1);
        expect(m.retired).to.equal(true);
        expect(m.root).to.equal(ROOT_A);
        expect(m.owner).to.equal(alice.address);
        expect(m.uri).to.equal(URI_A);
      });

      it("leaves the other models alone", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await registry.connect(alice).retireModel(1);
        expect((await registry.modelShape(2))[3]).to.equal(false);
      });

      it("can be repeated (retiring is idempotent)", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await registry.connect(alice).retireModel(1);
        await expect(registry.connect(alice).retireModel(1)).to.emit(registry, "ModelRetired").withArgs(1n);
        expect((await registry.modelShape(1))[3]).to.equal(true);
      });
    });

    describe("when the caller does not own the model", () => {
      it("reverts with ModelRegistryNotOwner(modelId, caller, owner)", async () => {
        const { registry, alice, bob, deployer } = await loadFixture(deployWithModels);
        await expect(registry.connect(bob).retireModel(1))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner")
          .withArgs(1n, bob.address, alice.address);
        await expect(registry.connect(deployer).retireModel(2))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner")
          .withArgs(2n, deployer.address, bob.address);
        expect((await registry.modelShape(1))[3]).to.equal(false);
      });
    });

    describe("when the model does not exist", () => {
      it("reverts with ModelRegistryUnknownModel for id 0 and id count + 1", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).retireModel(0))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(0n);
        await expect(registry.connect(alice).retireModel(3))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(3n);
      });
    });
  });

  describe("transferModelOwnership", () => {
    describe("when the caller owns the model", () => {
      it("emits ModelOwnershipTransferred(modelId, from, to) and stores the new owner", async () => {
        const { registry, alice, carol } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).transferModelOwnership(1, carol.address))
          .to.emit(registry, "ModelOwnershipTransferred")
          .withArgs(1n, alice.address, carol.address);
        const m = await registry.getModel(1);
        expect(m.owner).to.equal(carol.address);
        expect(m.root).to.equal(ROOT_A);
        expect(m.retired).to.equal(false);
      });

      it("lets the new owner retire and transfer, and no longer the old one", async () => {
        const { registry, alice, bob, carol } = await loadFixture(deployWithModels);
        await registry.connect(alice).transferModelOwnership(1, carol.address);
        await expect(registry.connect(alice).retireModel(1))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner")
          .withArgs(1n, alice.address, carol.address);
        await expect(registry.connect(alice).transferModelOwnership(1, alice.address))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner")
          .withArgs(1n, alice.address, carol.address);
        await expect(registry.connect(carol).retireModel(1)).to.emit(registry, "ModelRetired").withArgs(1n);
        await expect(registry.connect(carol).transferModelOwnership(1, bob.address))
          .to.emit(registry, "ModelOwnershipTransferred")
          .withArgs(1n, carol.address, bob.address);
        expect((await registry.getModel(1)).owner).to.equal(bob.address);
      });

      it("allows a transfer to oneself", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).transferModelOwnership(1, alice.address))
          .to.emit(registry, "ModelOwnershipTransferred")
          .withArgs(1n, alice.address, alice.address);
      });
    });

    describe("when the new owner is zero", () => {
      it("reverts with ModelRegistryZeroOwner(modelId)", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).transferModelOwnership(1, ethers.ZeroAddress))
          .to.be.revertedWithCustomError(registry, "ModelRegistryZeroOwner")
          .withArgs(1n);
        expect((await registry.getModel(1)).owner).to.equal(alice.address);
      });
    });

    describe("when the caller does not own the model", () => {
      it("reverts with ModelRegistryNotOwner(modelId, caller, owner)", async () => {
        const { registry, alice, carol } = await loadFixture(deployWithModels);
        await expect(registry.connect(carol).transferModelOwnership(1, carol.address))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner")
          .withArgs(1n, carol.address, alice.address);
        expect((await registry.getModel(1)).owner).to.equal(alice.address);
      });
    });

    describe("when the model does not exist", () => {
      it("reverts with ModelRegistryUnknownModel", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).transferModelOwnership(3, alice.address))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(3n);
      });
    });
  });

  describe("getModel", () => {
    describe("when the id is unknown", () => {
      it("reverts with ModelRegistryUnknownModel on an empty registry", async () => {
        const { registry } = await loadFixture(deployRegistry);
        await expect(registry.getModel(1)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(1n);
      });

      it("reverts with ModelRegistryUnknownModel for id 0 and id count + 1", async () => {
        const { registry } = await loadFixture(deployWithModels);
        await expect(registry.getModel(0)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(0n);
        await expect(registry.getModel(3)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(3n);
        const maxId = 2n ** 64n - 1n;
        await expect(registry.getModel(maxId)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(maxId);
      });
    });
  });

  describe("modelShape", () => {
    describe("when the id is unknown", () => {
      it("reverts with ModelRegistryUnknownModel for id 0 and id count + 1", async () => {
        const { registry } = await loadFixture(deployWithModels);
        await expect(registry.modelShape(0)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(0n);
        await expect(registry.modelShape(3)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(3n);
      });
    });
  });

  describe("modelRoot", () => {
    describe("when the id is unknown", () => {
      it("reverts with ModelRegistryUnknownModel for id 0 and id count + 1", async () => {
        const { registry } = await loadFixture(deployWithModels);
        await expect(registry.modelRoot(0)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(0n);
        await expect(registry.modelRoot(3)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(3n);
      });
    });
  });
});

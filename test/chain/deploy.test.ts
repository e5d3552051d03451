import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { digitClassifierAbi, disputeGameAbi, graphDisputesAbi, jobMarketAbi, modelRegistryAbi, stakingAbi } from "../../core/abi";
import { DeploymentError, LOCAL_PARAMETERS, MNIST_MODEL_URI, deploySystem, resolveParameters } from "../../core/chain/deploy";
import { type Deployment, DeploymentFileError, parseDeployment, readDeployment, serializeDeployment, writeDeployment } from "../../core/chain/deployment";
import { type LocalChain, startLocalChain } from "../../core/chain/localChain";
import { type RpcClients, type RefuteWalletClient, connectRpc, walletFor } from "../../core/chain/rpcClients";
import { deployCli } from "../../scripts/deploy";
import { expectThrows } from "../helpers/expectThrows";
import { mnistModel } from "../helpers/marketFixture";

describe("deploySystem (core/chain/deploy.ts) on a local chain", () => {
  let chain: LocalChain;
  let clients: RpcClients;
  let wallet: RefuteWalletClient;
  let d: Deployment;
  let tmp: string;

  before(async () => {
    chain = await startLocalChain();
    clients = await connectRpc(chain.rpcUrl, { pollingIntervalMs: 50 });
    wallet = walletFor(clients, chain.accounts[0].privateKey);
    d = await deploySystem({ publicClient: clients.publicClient, walletClient: wallet });
    tmp = mkdtempSync(path.join(os.tmpdir(), "refute-deploy-"));
  });
  after(async () => {
    await chain?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const read = (address: `0x${string}`, abi: readonly unknown[], functionName: string, args: unknown[] = []) =>
    clients.publicClient.readContract({ address, abi: abi as never, functionName: functionName as never, args: args as never });

  it("deploys every contract with the parameters and binds them together", async () => {
    const { contracts: c, parameters: p } = d;
    expect(d.chainId).to.equal(31337);
    expect(d.deployer).to.equal(chain.accounts[0].address);
    expect(p).to.deep.equal(LOCAL_PARAMETERS);
    expect(await read(c.staking, stakingAbi, "unbondingDelay")).to.equal(p.unbondingDelay);
    for (const name of ["challengeWindow", "deliveryWindow", "maxDisputeDuration", "reopenWindow", "minCollateral", "maxCallbackGasLimit"] as const) {
      expect(await read(c.jobMarket, jobMarketAbi, name), name).to.equal(p[name]);
    }
    for (const name of ["coverGasPrice", "clockBudget", "challengerRewardBps"] as const) {
      expect(await read(c.disputeGame, disputeGameAbi, name), name).to.equal(p[name]);
      expect(await read(c.graphDisputes, graphDisputesAbi, name), name).to.equal(p[name]);
    }
    expect(await read(c.jobMarket, jobMarketAbi, "registry")).to.equal(c.modelRegistry);
    expect(await read(c.jobMarket, jobMarketAbi, "staking")).to.equal(c.staking);
    expect(await read(c.jobMarket, jobMarketAbi, "disputeGame")).to.equal(c.disputeGame);
    expect(await read(c.staking, stakingAbi, "market")).to.equal(c.jobMarket);
    expect(await read(c.staking, stakingAbi, "disputeGame")).to.equal(c.disputeGame);
    expect(await read(c.disputeGame, disputeGameAbi, "market")).to.equal(c.jobMarket);
    expect(await read(c.jobMarket, jobMarketAbi, "graphGame")).to.equal(c.graphDisputes);
    expect(await read(c.staking, stakingAbi, "graphGame")).to.equal(c.graphDisputes);
    expect(await read(c.graphDisputes, graphDisputesAbi, "market")).to.equal(c.jobMarket);
    expect(await read(c.graphDisputes, graphDisputesAbi, "game")).to.equal(c.graphDisputeGame);
    expect(await read(c.digitClassifier, digitClassifierAbi, "market")).to.equal(c.jobMarket);
    expect(await read(c.digitClassifier, digitClassifierAbi, "modelId")).to.equal(d.model.id);
  });

  it("registers the MNIST reference model with its root and shape", async () => {
    const { model, root } = mnistModel();
    expect(d.model).to.deep.equal({ id: 1n, root, inputSize: 784n, outputSize: 10n, layerCount: BigInt(model.layers.length), maxWidth: 784n, uri: MNIST_MODEL_URI });
    const onChain = (await read(d.contracts.modelRegistry, modelRegistryAbi, "getModel", [d.model.id])) as Record<string, unknown>;
    expect(onChain).to.include({ root, owner: d.deployer, inputSize: 784, outputSize: 10, layerCount: 3, retired: false, maxWidth: 784, uri: MNIST_MODEL_URI });
  });

  it("names the step and the decoded contract error when a contract refuses its parameters", async () => {
    let error: unknown;
    try {
      await deploySystem({ publicClient: clients.publicClient, walletClient: wallet, parameters: { unbondingDelay: 10n } });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(DeploymentError);
    expect((error as Error).message).to.equal('deployment failed at "deploy JobMarket": JobMarketUnbondingTooShort(unbondingDelay=10, need=3901)');
  });

  it("refuses a parameter that does not fit its constructor argument, or an unknown one, before sending anything", () => {
    expectThrows(() => resolveParameters({ challengeWindow: 1n << 40n }), DeploymentError, /challengeWindow must be a bigint in uint40 range \(0\.\.1099511627775\), got 1099511627776/);
    expectThrows(() => resolveParameters({ minCollateral: -1n }), DeploymentError, /minCollateral must be a bigint in uint96 range/);
    expectThrows(() => resolveParameters({ challengeWindw: 1n } as never), DeploymentError, /unknown parameter challengeWindw/);
  });

  describe("the deployment file", () => {
    it("round-trips through JSON, integers as decimal strings", () => {
      const file = path.join(tmp, "deployment.json");
      writeDeployment(file, d);
      const json = JSON.parse(readFileSync(file, "utf8"));
      expect(json.version).to.equal(2);
      expect(json.parameters.minCollateral).to.equal("50000000000000000");
      expect(readDeployment(file)).to.deep.equal(d);
    });

    it("names the missing or malformed field", () => {
      const json = () => JSON.parse(serializeDeployment(d));
      const broken = (edit: (j: Record<string, Record<string, unknown>>) => void) => {
        const j = json();
        edit(j);
        return j;
      };
      expectThrows(() => parseDeployment(broken((j) => delete j.contracts.staking), "d.json"), DeploymentFileError, /^d\.json: contracts\.staking is missing$/);
      expectThrows(() => parseDeployment(broken((j) => (j.contracts.jobMarket = "0x1234")), "d.json"), DeploymentFileError, /contracts\.jobMarket must be a 0x-prefixed 20-byte address .*got "0x1234"/);
      expectThrows(() => parseDeployment(broken((j) => (j.parameters.clockBudget = "12s")), "d.json"), DeploymentFileError, /parameters\.clockBudget must be a non-negative integer \(a decimal string\), got "12s"/);
      expectThrows(() => parseDeployment(broken((j) => (j.model.root = "0xabc")), "d.json"), DeploymentFileError, /model\.root must be a 0x-prefixed 32-byte hex string, got "0xabc"/);
      expectThrows(() => parseDeployment(broken((j) => ((j as Record<string, unknown>).version = 1)), "d.json"), DeploymentFileError, /version must be 2, got 1/);
      expectThrows(() => parseDeployment(broken((j) => delete j.contracts.graphDisputes), "d.json"), DeploymentFileError, /^d\.json: contracts\.graphDisputes is missing$/);
      expectThrows(() => parseDeployment(broken((j) => delete (j as Record<string, unknown>).model), "d.json"), DeploymentFileError, /^d\.json: model is missing$/);
      expectThrows(() => parseDeployment([], "d.json"), DeploymentFileError, /must be a JSON object/);
    });

    it("names the file when it is missing or not JSON", () => {
      const bad = path.join(tmp, "bad.json");
      writeFileSync(bad, "{ not json");
      expectThrows(() => readDeployment(bad), DeploymentFileError, new RegExp(`${bad} is not valid JSON`));
      expectThrows(() => readDeployment(path.join(tmp, "none.json")), DeploymentFileError, /cannot read deployment file .*none\.json/);
    });
  });

  describe("npm run deploy (scripts/deploy.ts)", () => {
    const run = async (argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await deployCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
      return { code, out: out.join("\n"), err: err.join("\n") };
    };

    it("deploys with parameter overrides and writes a file the SDK can read", async () => {
      const file = path.join(tmp, "cli.json");
      const r = await run(["--rpc-url", chain.rpcUrl, "--private-key", chain.accounts[1].privateKey, "--out", file, "--param", "challengeWindow=600", "--param", "minCollateral=0.05eth"]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.equal(file);
      expect(r.err).to.match(/deploy DigitClassifier: 0x/);
      const written = readDeployment(file);
      expect(written.deployer).to.equal(chain.accounts[1].address);
      expect(written.parameters).to.deep.equal({ ...LOCAL_PARAMETERS, challengeWindow: 600n, minCollateral: 50_000_000_000_000_000n });
      expect(await read(written.contracts.jobMarket, jobMarketAbi, "challengeWindow")).to.equal(600n);
    });

    it("refuses bad command lines with status 2, naming the flag and value", async () => {
      expect(await run(["--help"])).to.include({ code: 0 });
      expect((await run(["--help"])).out).to.match(/--param <NAME=VALUE>/);
      const cases: [string[], RegExp][] = [
        [["--private-key", chain.accounts[0].privateKey], /--rpc-url is required/],
        [["--rpc-url", chain.rpcUrl, "--private-key", "0x1234"], /--private-key must be 0x followed by 64 hex digits, got "0x1234"/],
        [["--rpc-url", chain.rpcUrl, "--private-key", chain.accounts[0].privateKey, "--param", "clockBudget=ten"], /--param clockBudget must be a non-negative decimal integer, got "ten"/],
        [["--rpc-url", chain.rpcUrl, "--private-key", chain.accounts[0].privateKey, "--param", "speed=1"], /--param speed: unknown parameter/],
        [["--rpc-url", chain.rpcUrl, "--bogus"], /^error: unknown option '--bogus'\n\(run with --help for usage\)/],
        [["--rpc-url", chain.rpcUrl, "--profil", "local"], /^error: unknown option '--profil'\n\(Did you mean --profile\?\)/],
      ];
      for (const [argv, pattern] of cases) {
        const r = await run(argv);
        expect(r.code, argv.join(" ")).to.equal(2);
        expect(r.err).to.match(pattern);
      }
    });

    it("fails with status 1 naming the URL when nothing answers there", async () => {
      const r = await run(["--rpc-url", "http://127.0.0.1:1", "--private-key", chain.accounts[0].privateKey, "--out", path.join(tmp, "x.json")]);
      expect(r.code).to.equal(1);
      expect(r.err).to.match(/no JSON-RPC answer from http:\/\/127\.0\.0\.1:1/);
    });
  });
});

import hre from "hardhat";
import { type Abi, type Address, type Hex, createPublicClient, createWalletClient, custom, decodeEventLog, parseEther } from "viem";
import { hardhat } from "viem/chains";
import { readFileSync } from "node:fs";
import path from "node:path";
import { toHex } from "../../core/bytes";
import { commitTrace } from "../../core/commitments";
import { initKeccak } from "../../core/keccak";
import { type Job, applyJobEvent, toJobEvent } from "../../core/jobState";
import { loadMnist } from "../../core/mnist";
import { readIntegerModel } from "../../core/onnx/integerGraph";
import { quantiseInput } from "../../core/quantise";
import { runReference } from "../../core/referenceExecutor";
import { table } from "./timing";

const MODEL_DIR = path.join(__dirname, "..", "..", "models", "mnist-mlp");
const ZERO: Address = "0x0000000000000000000000000000000000000000";

/** Market parameters for the measurement: as in the tests; gas does not depend on them. */
const CONFIG = { challengeWindow: 3600, deliveryWindow: 600, maxDisputeDuration: 86_400, reopenWindow: 3600, minCollateral: parseEther("0.01"), maxCallbackGasLimit: 2_000_000 };

interface GasRow {
  readonly step: string;
  readonly first: bigint;
  readonly steady: bigint;
}

/**
 * Gas of one MNIST job's happy path on Hardhat's in-process chain: post (a real 784-byte held-out
 * digit), take, submit, finalise, with no consumer callback; then the same through the DigitClassifier
 * example dapp. "first" is the market's first job, "steady" a later one (warm counters, paid node).
 */
export async function benchHappyPathGas(): Promise<{ table: string; results: { rows: GasRow[]; withConsumer: GasRow[] } }> {
  await initKeccak();
  await hre.run("compile", { quiet: true });
  const transport = custom(hre.network.provider);
  const pub = createPublicClient({ chain: hardhat, transport });
  const [deployer, requester, node] = (await createWalletClient({ chain: hardhat, transport }).getAddresses()) as Address[];
  const wallet = (account: Address) => createWalletClient({ chain: hardhat, transport, account });

  const deploy = async (name: string, args: unknown[]): Promise<{ address: Address; abi: Abi }> => {
    const artifact = await hre.artifacts.readArtifact(name);
    const hash = await wallet(deployer).deployContract({ abi: artifact.abi as Abi, bytecode: artifact.bytecode as Hex, args });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    return { address: receipt.contractAddress!, abi: artifact.abi as Abi };
  };
  const send = async (from: Address, c: { address: Address; abi: Abi }, functionName: string, args: unknown[], value = 0n) => {
    const hash = await wallet(from).writeContract({ address: c.address, abi: c.abi, functionName, args, value, chain: hardhat, account: from });
    return pub.waitForTransactionReceipt({ hash });
  };

  const registry = await deploy("ModelRegistry", []);
  const staking = await deploy("Staking", [BigInt(CONFIG.challengeWindow + CONFIG.maxDisputeDuration + 3600)]);
  const market = await deploy("JobMarket", [registry.address, staking.address, CONFIG]);
  await send(deployer, staking, "bind", [market.address, deployer]);
  await send(deployer, market, "bindDisputeGame", [deployer]);
  const descriptor = JSON.parse(readFileSync(path.join(MODEL_DIR, "descriptor.json"), "utf8"));
  const model = readIntegerModel(readFileSync(path.join(MODEL_DIR, "integer.onnx")));
  await send(deployer, registry, "registerModel", [descriptor.modelRoot, 784, 10, 3, "models/mnist-mlp"]);
  const classifier = await deploy("DigitClassifier", [market.address, 1n]);
  await send(node, staking, "stake", [], parseEther("10"));

  const digits = loadMnist().test;
  const foldJob = (logs: readonly { data: Hex; topics: readonly Hex[] }[], job?: Job): { jobId: bigint; job: Job } => {
    let jobId = 0n;
    let current = job;
    for (const log of logs) {
      let decoded;
      try {
        decoded = decodeEventLog({ abi: market.abi, data: log.data, topics: log.topics as [Hex, ...Hex[]] });
      } catch {
        continue;
      }
      const change = toJobEvent(decoded.eventName ?? "", decoded.args as unknown as Record<string, unknown>);
      if (!change) continue;
      jobId = change.jobId;
      current = applyJobEvent(current, change.event);
    }
    return { jobId, job: current! };
  };

  const runJob = async (k: number, viaClassifier: boolean): Promise<bigint[]> => {
    const input = quantiseInput(digits[k].pixels, descriptor.meta.inputScale);
    const inputHex = toHex(new Uint8Array(input.buffer));
    const block = await pub.getBlock();
    const expiresAt = Number(block.timestamp) + 3600;
    const posted = viaClassifier
      ? await send(requester, classifier, "classify", [inputHex, parseEther("0.05"), expiresAt], parseEther("0.001"))
      : await send(requester, market, "postJob", [1n, inputHex, ZERO, 0, parseEther("0.05"), expiresAt], parseEther("0.001"));
    let { jobId, job } = foldJob(posted.logs);
    const taken = await send(node, market, "takeJob", [jobId, job]);
    ({ job } = foldJob(taken.logs, job));
    const trace = runReference(model, input);
    const c = commitTrace(trace);
    const output = toHex(new Uint8Array(trace[3].buffer));
    const submitted = await send(node, market, "submitResult", [jobId, job, output, toHex(c.root), c.tree.proof(0).map(toHex), c.tree.proof(3).map(toHex)]);
    ({ job } = foldJob(submitted.logs, job));
    await hre.network.provider.send("evm_increaseTime", [CONFIG.challengeWindow]);
    const finalized = await send(deployer, market, "finalize", [jobId, job, output]);
    return [posted.gasUsed, taken.gasUsed, submitted.gasUsed, finalized.gasUsed];
  };

  const steps = ["postJob (784-byte input)", "takeJob", "submitResult", "finalize"];
  const asRows = (first: bigint[], steady: bigint[]): GasRow[] => [
    ...steps.map((step, i) => ({ step, first: first[i], steady: steady[i] })),
    { step: "**total**", first: first.reduce((a, b) => a + b, 0n), steady: steady.reduce((a, b) => a + b, 0n) },
  ];
  const rows = asRows(await runJob(0, false), await runJob(1, false));
  const withConsumer = asRows(await runJob(2, true), await runJob(3, true));
  const fmtRows = (rs: GasRow[], label: string) => rs.map((r) => [label, r.step, r.first.toString(), r.steady.toString()]);
  return {
    results: { rows, withConsumer },
    table: table(["path", "step", "first job", "later job"], [...fmtRows(rows, "no callback"), ...fmtRows(withConsumer, "DigitClassifier (incl. its callback)")]),
  };
}

import { task, types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { PostJobReturnType } from "../client/refuteClient";
import type { TaskIo } from "./common";

/**
 * `npx hardhat refute:post --network localhost --digit 3`: posts a job straight to the market through
 * the SDK (client/refuteClient.ts), as `npm run cli -- post` does, and prints its id.
 */

export interface PostTaskArgs {
  readonly deployment: string;
  readonly digit?: string;
  readonly sample?: string;
  readonly inputHex?: string;
  readonly model?: string;
  readonly fee: string;
  readonly collateral?: string;
  readonly ttl: string;
  readonly consumer?: string;
  readonly callbackGas?: string;
  readonly rpcUrl?: string;
  readonly privateKey?: string;
}

export const DEFAULT_POST_FEE = "0.001";

task("refute:post", "Posts an inference job through the SDK and prints its id")
  .addOptionalParam("deployment", "The deployment file", "deployment.json", types.string)
  .addOptionalParam("digit", "A held-out MNIST test digit with this label (0..9), for the MNIST model", undefined, types.string)
  .addOptionalParam("sample", "With --digit: the N-th held-out digit of that label (default 0)", undefined, types.string)
  .addOptionalParam("inputHex", "Or the input bytes, one int8 per byte (0x…)", undefined, types.string)
  .addOptionalParam("model", "Model id (default: the deployment's model)", undefined, types.string)
  .addOptionalParam("fee", "Fee escrowed for the node (0.001, 0.001eth, 1000wei)", DEFAULT_POST_FEE, types.string)
  .addOptionalParam("collateral", "Collateral the node must lock (default: the model's minimum)", undefined, types.string)
  .addOptionalParam("ttl", "Seconds nodes may take the job", "3600", types.string)
  .addOptionalParam("consumer", "A contract to call back with the final result (with --callback-gas)", undefined, types.string)
  .addOptionalParam("callbackGas", "Gas for the consumer's callback", undefined, types.string)
  .addOptionalParam("rpcUrl", "A JSON-RPC URL to use instead of --network's", undefined, types.string)
  .addOptionalParam("privateKey", "The requester's key (default: the network's first account; or set REFUTE_PRIVATE_KEY)", undefined, types.string)
  .setAction(async (args: PostTaskArgs, hre) => refutePost(args, hre));

/** The task's action: posts, prints `{"jobId":…}` on stdout; returns what the SDK returned. */
export async function refutePost(args: PostTaskArgs, hre: HardhatRuntimeEnvironment, io?: TaskIo): Promise<PostJobReturnType> {
  const { consoleIo, connectChain, deploymentFor, jsonLine, runTask, senderOf, taskError, addressArg } = await import("./common");
  const { parseEthAmount, parseUint } = await import("../core/chain/cliOptions");
  const { RefuteClient } = await import("../client/refuteClient");
  const { heldOutDigit } = await import("../client/mnistDigit");
  const { modelDirOf } = await import("./abiArgs");
  const { MNIST_MODEL_DIR } = await import("../core/modelFiles");
  const { err, out } = io ?? consoleIo;
  return runTask(async () => {
    const fee = parseEthAmount("--fee", args.fee);
    const collateral = args.collateral !== undefined ? parseEthAmount("--collateral", args.collateral) : undefined;
    const ttlSeconds = parseUint("--ttl", args.ttl);
    if ((args.digit === undefined) === (args.inputHex === undefined)) throw taskError("refute:post needs exactly one of --digit or --input-hex");
    if (args.sample !== undefined && args.digit === undefined) throw taskError("--sample goes with --digit, not --input-hex");
    if ((args.consumer === undefined) !== (args.callbackGas === undefined)) throw taskError("--consumer and --callback-gas go together");
    const consumer = args.consumer !== undefined ? addressArg("--consumer", args.consumer) : undefined;
    const callbackGasLimit = args.callbackGas !== undefined ? parseUint("--callback-gas", args.callbackGas) : undefined;
    let input: Int8Array | `0x${string}`;
    let digit: { label: number; testIndex: number } | undefined;
    if (args.inputHex !== undefined) {
      if (!/^0x([0-9a-fA-F]{2})+$/.test(args.inputHex)) throw taskError(`--input-hex must be 0x followed by an even number of hex digits, got ${JSON.stringify(args.inputHex.length > 24 ? `${args.inputHex.slice(0, 24)}…` : args.inputHex)}`);
      input = args.inputHex as `0x${string}`;
    } else {
      const label = Number(parseUint("--digit", args.digit!));
      if (label > 9) throw taskError(`--digit must be 0..9, got ${args.digit}`);
      const d = heldOutDigit(label, Number(parseUint("--sample", args.sample ?? "0")));
      input = d.input;
      digit = { label: d.label, testIndex: d.testIndex };
    }

    const chain = await connectChain(hre, args);
    const deployment = await deploymentFor(args.deployment, chain);
    const modelId = args.model !== undefined ? parseUint("--model", args.model) : deployment.model.id;
    if (digit) {
      if (modelId !== deployment.model.id) throw taskError("--digit needs the deployment's model; leave --model out");
      if ((await modelDirOf(deployment).catch(() => undefined)) !== MNIST_MODEL_DIR) throw taskError(`--digit posts an MNIST digit, but the deployment's model (root ${deployment.model.root}) is not the MNIST reference model`);
    }
    const client = new RefuteClient({ publicClient: chain.clients.publicClient, walletClient: await senderOf(chain, args), deployment });
    const params = { modelId, input, fee, collateral: collateral ?? (await client.minCollateral(modelId)), ttlSeconds, consumer, callbackGasLimit };
    err(`posting to job market ${deployment.contracts.jobMarket} on chain ${deployment.chainId}${digit ? ` a held-out digit ${digit.label} (test index ${digit.testIndex})` : ""}, fee ${fee} wei, collateral ${params.collateral} wei`);
    const posted = await client.postJob(params);
    err(`posted job ${posted.jobId} in ${posted.txHash} (block ${posted.blockNumber})`);
    out(jsonLine({ jobId: posted.jobId, txHash: posted.txHash, blockNumber: posted.blockNumber, status: "Open", digit: digit ?? null }));
    return posted;
  });
}

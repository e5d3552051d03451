import hre from "hardhat";
import { type Address, createPublicClient, createWalletClient, custom } from "viem";
import { hardhat } from "viem/chains";
import type { ChainActor, Log } from "../../core/chain/actor";
import { deploySystem } from "../../core/chain/deploy";
import type { Deployment, DeploymentParameters } from "../../core/chain/deployment";
import { initKeccak } from "../../core/keccak";

/**
 * Refute deployed on Hardhat's in-process chain, for the benchmarks: viem clients on the Hardhat
 * provider, the whole system deployed by core/chain/deploy.ts, and an actor per test account.
 */

const SILENT: Log = { debug() {}, info() {}, warn() {}, error() {} };

export interface InProcessChain {
  readonly deployment: Deployment;
  /** Hardhat's funded accounts: [deployer, …]. */
  readonly accounts: readonly Address[];
  readonly actor: (account: Address) => ChainActor;
}

export async function inProcessChain(parameters: Partial<DeploymentParameters> = {}): Promise<InProcessChain> {
  await initKeccak();
  await hre.run("compile", { quiet: true });
  const transport = custom(hre.network.provider);
  const publicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 10 });
  const accounts = (await createWalletClient({ chain: hardhat, transport }).getAddresses()) as Address[];
  const wallet = (account: Address) => createWalletClient({ chain: hardhat, transport, account, pollingInterval: 10 });
  const deployment = await deploySystem({ publicClient, walletClient: wallet(accounts[0]), parameters });
  return { deployment, accounts, actor: (account) => ({ publicClient, walletClient: wallet(account), deployment, log: SILENT }) };
}

import hre from "hardhat";
import type { Address, EIP1193Provider } from "viem";
import type { ChainActor } from "../../core/chain/actor";
import type { Deployment, DeploymentParameters } from "../../core/chain/deployment";
import { RefuteTestKit } from "../../testing/refuteTestKit";

/**
 * Refute deployed on Hardhat's in-process chain, for the benchmarks: the test kit's deployment
 * (testing/refuteTestKit.ts) and an actor per test account.
 */

export interface InProcessChain {
  readonly deployment: Deployment;
  /** Hardhat's funded accounts: [deployer, …]. */
  readonly accounts: readonly Address[];
  readonly actor: (account: Address) => ChainActor;
}

export async function inProcessChain(parameters: Partial<DeploymentParameters> = {}): Promise<InProcessChain> {
  await hre.run("compile", { quiet: true });
  const kit = await RefuteTestKit.deploy(hre.network.provider as unknown as EIP1193Provider, { parameters });
  return { deployment: kit.deployment, accounts: kit.accounts, actor: (account) => kit.actor(account) };
}

import { impersonateAccount, setBalance, stopImpersonatingAccount } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";

/** Runs `fn` as the contract at `address` (impersonated, funded for gas): to call what only that contract may call. */
export async function asContract<T>(address: string, fn: (signer: Awaited<ReturnType<typeof ethers.getSigner>>) => Promise<T>): Promise<T> {
  await impersonateAccount(address);
  await setBalance(address, (await ethers.provider.getBalance(address)) + ethers.parseEther("1"));
  try {
    return await fn(await ethers.getSigner(address));
  } finally {
    await stopImpersonatingAccount(address);
  }
}

import { ethers, network } from "hardhat";
import { deployMarket, jobFrom, mnistInput, COLLATERAL } from "../helpers/marketFixture";
it("probe2", async () => {
  const fx = await deployMarket();
  const p = network.provider;
  const rpc = (method: string, params: unknown[] = []) => p.request({ method, params }) as Promise<any>;
  const [a] = await ethers.getSigners();
  const m = await fx.market.getAddress();
  const st = await fx.staking.getAddress();
  const exp = Math.floor(Date.now() / 1000) + 100000;
  const post = fx.market.interface.encodeFunctionData("postJob", [1n, mnistInput(1), ethers.ZeroAddress, 0, COLLATERAL, exp]);
  let t = performance.now();
  let r: any;
  for (let i = 0; i < 100; i++) { const h = await rpc("eth_sendTransaction", [{ from: a.address, to: m, data: post, value: "0x10", gas: "0x4c4b40" }]); r = await rpc("eth_getTransactionReceipt", [h]); }
  console.log("post ok", (performance.now() - t) / 100);
  const bad = fx.staking.interface.encodeFunctionData("requestUnstake", [5n]);
  t = performance.now();
  for (let i = 0; i < 100; i++) { try { await rpc("eth_sendTransaction", [{ from: a.address, to: st, data: bad, gas: "0x4c4b40" }]); } catch (e: any) { await rpc("eth_getTransactionReceipt", [e.transactionHash]); } }
  console.log("revert automine", (performance.now() - t) / 100);
  await rpc("evm_setAutomine", [false]);
  t = performance.now();
  for (let i = 0; i < 100; i++) { const h = await rpc("eth_sendTransaction", [{ from: a.address, to: st, data: bad, gas: "0x4c4b40" }]); await rpc("evm_mine", []); const rr = await rpc("eth_getTransactionReceipt", [h]); if (rr.status !== "0x0") throw new Error("x"); }
  console.log("revert manual mine", (performance.now() - t) / 100);
  t = performance.now();
  for (let i = 0; i < 100; i++) { const h = await rpc("eth_sendTransaction", [{ from: a.address, to: m, data: post, value: "0x10", gas: "0x4c4b40" }]); await rpc("evm_mine", []); r = await rpc("eth_getTransactionReceipt", [h]); }
  console.log("post manual mine", (performance.now() - t) / 100);
  await rpc("evm_setAutomine", [true]);
  t = performance.now();
  for (let i = 0; i < 100; i++) await jobFrom({ wait: async () => ({ logs: r.logs }) });
  console.log("jobFrom", (performance.now() - t) / 100);
  t = performance.now();
  for (let i = 0; i < 100; i++) await ethers.getContractAt("JobMarket", ethers.ZeroAddress);
  console.log("getContractAt", (performance.now() - t) / 100);
  const lens = await ethers.deployContract("InvariantLens");
  const la = await lens.getAddress();
  const signers = await ethers.getSigners();
  const accts = signers.slice(0, 15).map((s) => s.address);
  const data = lens.interface.encodeFunctionData("read", [m, st, accts, 20, [], []]);
  t = performance.now();
  for (let i = 0; i < 100; i++) await rpc("eth_call", [{ to: la, data }, "latest"]);
  console.log("lens 15 accts 20 jobs", (performance.now() - t) / 100);
  const data2 = lens.interface.encodeFunctionData("read", [m, st, [], 0, [], []]);
  t = performance.now();
  for (let i = 0; i < 100; i++) await rpc("eth_call", [{ to: la, data: data2 }, "latest"]);
  console.log("lens empty", (performance.now() - t) / 100);
  let out: any;
  const art = await (await import("hardhat")).artifacts.readArtifact("SlotReader");
  const sr = new ethers.Interface(art.abi);
  const slots: string[] = [];
  for (let i = 0; i < 40; i++) slots.push(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [i + 1, 2])));
  const sslots: string[] = [];
  for (const ad of accts) { sslots.push(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [ad, 3]))); }
  const data5 = sr.encodeFunctionData("read", [slots, st, sslots, accts]);
  const ov = { [m]: { code: art.deployedBytecode }, [st]: { code: art.deployedBytecode } };
  t = performance.now();
  for (let i = 0; i < 100; i++) out = await rpc("eth_call", [{ to: m, data: data5 }, "latest", ov]);
  console.log("override reader", (performance.now() - t) / 100);
  for (let rep = 0; rep < 3; rep++) {
    t = performance.now();
    for (let i = 0; i < 100; i++) out = await rpc("eth_call", [{ to: m, data: data5 }, "latest", ov]);
    console.log("override reader", (performance.now() - t) / 100);
    const d0 = sr.encodeFunctionData("read", [[], ethers.ZeroAddress, [], []]);
    t = performance.now();
    for (let i = 0; i < 100; i++) await rpc("eth_call", [{ to: m, data: d0 }, "latest", ov]);
    console.log("override reader empty", (performance.now() - t) / 100);
    t = performance.now();
    for (let i = 0; i < 100; i++) await rpc("eth_call", [{ to: la, data }, "latest"]);
    console.log("lens", (performance.now() - t) / 100);
    t = performance.now();
    for (let i = 0; i < 100; i++) await rpc("eth_call", [{ to: st, data: fx.staking.interface.encodeFunctionData("credits", [a.address]) }, "latest"]);
    console.log("simple", (performance.now() - t) / 100);
    t = performance.now();
    for (let i = 0; i < 100; i++) await rpc("eth_call", [{ to: m, data: fx.market.interface.encodeFunctionData("credits", [a.address]) }, "latest"]);
    console.log("simple market", (performance.now() - t) / 100);
  }
  const dec = sr.decodeFunctionResult("read", out);
  console.log(dec[0].slice(0, 3), dec[1].slice(0,3), dec[2].slice(0, 3));
  console.log(await fx.market.jobHash(1), await fx.market.jobHash(2));
  const cd = fx.staking.interface.encodeFunctionData("credits", [a.address]);
  t = performance.now();
  for (let i = 0; i < 100; i++) await rpc("eth_call", [{ to: st, data: cd }, "latest"]);
  console.log("one credits call", (performance.now() - t) / 100);
  t = performance.now();
  for (let i = 0; i < 100; i++) await rpc("eth_getStorageAt", [st, "0x3", "latest"]);
  console.log("getStorageAt", (performance.now() - t) / 100);
});

import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { type Address, type Hex, bytesToHex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { REPO_ROOT } from "./artifacts";

/**
 * A local Hardhat chain in a child process (`hardhat node` on a loopback port), for tests, the demo
 * and local development. It loads the project's hardhat.config.ts, so it is the same EVM the
 * contract tests run on, reachable over HTTP by any viem client or other process.
 *
 *   const chain = await startLocalChain();
 *   … createPublicClient({ transport: http(chain.rpcUrl) }) …
 *   await chain.stop();
 */

/** The mnemonic Hardhat derives its funded test accounts from (public: never use it on a real chain). */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
/** Accounts `hardhat node` funds by default, each with 10,000 ETH. */
export const HARDHAT_ACCOUNT_COUNT = 20;
/** The only interface the chain listens on. */
export const LOOPBACK = "127.0.0.1";

/** A funded test account of the local chain. */
export interface DevAccount {
  readonly address: Address;
  readonly privateKey: Hex;
}

export interface LocalChain {
  /** `http://127.0.0.1:<port>`. */
  readonly rpcUrl: string;
  readonly port: number;
  /** From `eth_chainId` (a number, as viem's `Chain["id"]`). */
  readonly chainId: number;
  /** Hardhat's funded test accounts, index 0 first. */
  readonly accounts: readonly DevAccount[];
  /** The child process id. */
  readonly pid: number;
  /** Sends SIGTERM (SIGKILL if it has not exited after `killAfterMs`, default 5 s) and waits for exit. */
  stop(killAfterMs?: number): Promise<void>;
}

export interface StartLocalChainOptions {
  /** Port to listen on; by default a free one. A port in use is refused before the node starts. */
  readonly port?: number;
  /** How long to wait for the node to answer `eth_chainId` (default 60 s). */
  readonly timeoutMs?: number;
  /** The Hardhat project whose config the node loads (default: this repository). */
  readonly projectDir?: string;
  /** Receives every line the node prints (it logs each RPC method it serves). */
  readonly onOutput?: (line: string) => void;
}

/** The chain could not be started: the message says why and ends with the node's last output lines. */
export class LocalChainError extends Error {
  constructor(
    message: string,
    /** The node's process id, when one was started (it has exited by the time this is thrown). */
    readonly pid?: number,
  ) {
    super(message);
    this.name = "LocalChainError";
  }
}

const HARDHAT_BIN = path.join(REPO_ROOT, "node_modules", ".bin", "hardhat");
const TAIL_LINES = 30;
const POLL_MS = 100;

/** Hardhat's test accounts 0..count-1, derived from {@link HARDHAT_MNEMONIC} (m/44'/60'/0'/0/i). */
export function hardhatAccounts(count = HARDHAT_ACCOUNT_COUNT): DevAccount[] {
  return Array.from({ length: count }, (_, i) => {
    const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: i });
    const key = account.getHdKey().privateKey;
    if (!key) throw new Error(`no private key derived for Hardhat account ${i}`);
    return { address: account.address, privateKey: bytesToHex(key) };
  });
}

/** A loopback port that nothing listens on now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Throws {@link LocalChainError} naming `port` if something already listens on it. */
export async function assertPortFree(port: number): Promise<void> {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new LocalChainError(`port must be an integer in 1..65535, got ${port}`);
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, LOOPBACK, resolve);
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LocalChainError(`port ${port} on ${LOOPBACK} is not available (${code ?? (e as Error).message}); choose another or leave port unset`);
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The chain id a JSON-RPC endpoint answers with, or undefined if it does not answer (yet). */
async function chainIdOf(rpcUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await res.json()) as { result?: unknown };
    return typeof body.result === "string" ? Number(BigInt(body.result)) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts `hardhat node` on a loopback port and resolves once it answers `eth_chainId`. */
export async function startLocalChain(options: StartLocalChainOptions = {}): Promise<LocalChain> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  let port: number;
  if (options.port === undefined) port = await freePort();
  else {
    await assertPortFree(options.port);
    port = options.port;
  }
  const rpcUrl = `http://${LOOPBACK}:${port}`;

  const env: NodeJS.ProcessEnv = { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" };
  // The node must run the project's in-process network, whatever network the parent was started with.
  delete env.HARDHAT_NETWORK;
  delete env.HARDHAT_CONFIG;
  const child = spawn(HARDHAT_BIN, ["node", "--hostname", LOOPBACK, "--port", String(port)], {
    cwd: options.projectDir ?? REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail = outputTail(child, options.onOutput);
  const exit = exitOf(child);
  const unbind = bindToParent(child);
  void exit.then(unbind);

  const fail = async (why: string): Promise<never> => {
    child.kill("SIGKILL");
    await exit;
    throw new LocalChainError(`${why}; the node's last output:\n${tail.text() || "(none)"}`, child.pid);
  };

  const deadline = Date.now() + timeoutMs;
  let chainId: number | undefined;
  for (;;) {
    const exited = exit.done();
    if (exited) return fail(`hardhat node exited (${exited}) before answering on ${rpcUrl}`);
    chainId = await chainIdOf(rpcUrl);
    if (chainId !== undefined) break;
    if (Date.now() >= deadline) return fail(`hardhat node did not answer eth_chainId on ${rpcUrl} within ${timeoutMs} ms`);
    await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, POLL_MS))]);
  }
  const exited = exit.done();
  if (exited) return fail(`hardhat node exited (${exited}) although ${rpcUrl} answered: another process holds port ${port}`);

  const stop = async (killAfterMs = 5_000): Promise<void> => {
    if (exit.done()) return;
    child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolve();
      }, killAfterMs);
    });
    await Promise.race([exit, killed]);
    clearTimeout(timer);
    await exit;
  };
  return { rpcUrl, port, chainId, accounts: hardhatAccounts(), pid: child.pid!, stop };
}

const PARENT_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Makes `child` end with this process: killed when this process exits, and when a termination signal
 * arrives (then, unless the process handles the signal itself, the signal is raised again so the
 * process ends as it would have). Returns the function that undoes it.
 */
function bindToParent(child: ChildProcess): () => void {
  const kill = () => child.kill("SIGKILL");
  const onSignal = (signal: NodeJS.Signals) => {
    kill();
    unbind();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const unbind = () => {
    process.off("exit", kill);
    for (const signal of PARENT_SIGNALS) process.off(signal, onSignal);
  };
  process.on("exit", kill);
  for (const signal of PARENT_SIGNALS) process.on(signal, onSignal);
  return unbind;
}

/** The last lines a child printed on stdout and stderr, colour codes removed. */
function outputTail(child: ChildProcess, onOutput?: (line: string) => void) {
  const lines: string[] = [];
  const take = (chunk: Buffer) => {
    for (const raw of chunk.toString("utf8").split(/\r?\n/)) {
      // eslint-disable-next-line no-control-regex
      const line = raw.replace(/\u001b\[[0-9;]*m/g, "").trimEnd();
      if (!line) continue;
      onOutput?.(line);
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
    }
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  return { text: () => lines.join("\n") };
}

/** A promise of the child's end, with a synchronous look at whether it has ended (and how). */
function exitOf(child: ChildProcess): Promise<string> & { done(): string | undefined } {
  let how: string | undefined;
  const p = new Promise<string>((resolve) => {
    child.once("error", (e) => {
      how = `could not start ${HARDHAT_BIN}: ${e.message}`;
      resolve(how);
    });
    child.once("exit", (code, signal) => {
      how ??= signal ? `signal ${signal}` : `code ${code}`;
      resolve(how);
    });
  });
  return Object.assign(p, { done: () => how });
}

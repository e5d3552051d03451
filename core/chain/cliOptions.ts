import { Command, CommanderError } from "commander";
import type { Hex } from "viem";
import { AMOUNT_SYNTAX, parseAmount } from "../amount";
import { checkPrivateKey } from "./rpcClients";

/**
 * Command-line values shared by every Refute command that talks to a chain (deploy script, SDK CLI,
 * and later the node and watcher): each check names the flag and the value it refuses.
 */

/** The environment variable commands read a private key from when `--private-key` is not given. */
export const PRIVATE_KEY_ENV = "REFUTE_PRIVATE_KEY";

/** A bad command line; commands print it with their usage hint and exit with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The value of a required flag; throws {@link UsageError} naming the flag when it is missing. */
export function required<T>(flag: string, value: T | undefined): T {
  if (value === undefined || value === "") throw new UsageError(`${flag} is required`);
  return value;
}

/** A non-negative decimal integer. */
export function parseUint(flag: string, value: string): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(value)) throw new UsageError(`${flag} must be a non-negative decimal integer, got ${JSON.stringify(value)}`);
  return BigInt(value);
}

/** An amount in the one syntax of every command (core/amount.ts: 0.01, 0.01eth, 0.01 ether, 10000wei); returns wei. */
export function parseEthAmount(flag: string, value: string): bigint {
  const amount = parseAmount(value);
  if ("problem" in amount) throw new UsageError(`${flag} must be an amount (${AMOUNT_SYNTAX}), got ${JSON.stringify(value)}${amount.problem === "not an amount" ? "" : `: ${amount.problem}`}`);
  return amount.wei;
}

/** The private key from `--private-key`, or else from the environment variable `envName`. */
export function privateKeyOption(flag: string, value: string | undefined, envName: string): Hex {
  const key = value ?? process.env[envName];
  if (key === undefined || key === "") throw new UsageError(`${flag} is required (or set ${envName})`);
  try {
    return checkPrivateKey(key, value !== undefined ? flag : envName);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Where a command writes: progress and errors to `err`, results to `out`. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/**
 * A commander program as every Refute command line is: it writes through `io`, never exits the
 * process (runProgram turns its errors into exit statuses) and follows a bad command line with a
 * pointer to --help. commander says an unknown option or command with the closest known one.
 */
export function cliProgram(name: string, io: CliIo): Command {
  return new Command(name)
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .helpOption("-h, --help", "print this help")
    .configureHelp({ helpWidth: 100 })
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, "")), writeErr: (s) => io.err(s.replace(/\n$/, "")) });
}

/**
 * Builds the program with `build` and runs it on `argv` (without node and the script); resolves to
 * the exit status: 0 done (and --help), or what an action set through `exit` (a check that found
 * problems), 1 failed (the error's first line on stderr), 2 a bad command line (commander's own
 * errors, and a {@link UsageError} from an action).
 */
export async function runProgram(build: (exit: (code: number) => void) => Command, argv: readonly string[], io: CliIo): Promise<number> {
  let status = 0;
  const program = build((code) => (status = code));
  try {
    await program.parseAsync([...argv], { from: "user" });
    return status;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\n(run with --help for usage)`);
      return 2;
    }
    io.err(`error: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
}

/** The process's own streams. */
export const CONSOLE_IO: CliIo = { out: (line) => console.log(line), err: (line) => console.error(line) };

/**
 * Runs a command line as a program's main: `run` on the process's arguments and streams, then exit
 * with its status at once (idle HTTP keep-alive sockets would otherwise hold the process for seconds;
 * stdout and stderr are synchronous for files and pipes, so nothing written is lost).
 */
export function runMain(run: (argv: readonly string[], io: CliIo) => Promise<number>): void {
  void run(process.argv.slice(2), CONSOLE_IO).then((code) => process.exit(code));
}

/** A one-command script's main: the program `build` makes (on the process's streams), run by runProgram. */
export function runScript(build: (io: CliIo) => Command): void {
  runMain((argv, io) => runProgram(() => build(io), argv, io));
}


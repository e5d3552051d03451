/** A command line's entry point that prints through `io` and resolves to its exit status. */
export type CliMain = (argv: readonly string[], io: { out(line: string): void; err(line: string): void }) => Promise<number>;

/** Runs a command line in this process and keeps what it printed, each stream joined by newlines. */
export async function runInProcess(cli: CliMain, argv: readonly string[]): Promise<{ status: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await cli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { status, out: out.join("\n"), err: err.join("\n") };
}

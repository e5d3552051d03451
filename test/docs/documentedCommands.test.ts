import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import hre from "hardhat";
import { HARDHAT_PARAM_DEFINITIONS } from "hardhat/internal/core/params/hardhat-params";
import { runCli } from "../../client/cli";
import type { CliIo } from "../../core/chain/cliOptions";
import { runModelCli } from "../../modelkit/cli";
import { deployCli } from "../../scripts/deploy";

/**
 * Issue 12, item 8: the docs stay true. Every `npm run …` and `npx hardhat …` command that a
 * document shows is checked against the program that runs it: the npm script exists, the
 * subcommand exists, and every `--option` of the example is one the (sub)command takes, read
 * from the program's own --help (so each --help runs too). Commands that need a chain are run
 * for real by the end-to-end tests; this file runs what needs none.
 */

const ROOT = path.resolve(__dirname, "../..");
const DOCS = ["README.md", "client/README.md", "node/README.md", "challenger/README.md", ...readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

interface Example {
  readonly where: string;
  readonly tool: "npm" | "hardhat";
  /** The npm script, or the Hardhat task. */
  readonly name: string;
  readonly args: readonly string[];
}

/** Every command a document shows, with its arguments: comments cut, optional parts' brackets dropped. */
function examples(): Example[] {
  const out: Example[] = [];
  for (const doc of DOCS) {
    const lines = readFileSync(path.join(ROOT, doc), "utf8").split("\n");
    lines.forEach((line, i) => {
      for (const m of line.matchAll(/(npm run|npx hardhat) ([\w:-]+)((?: [^`|]*)?)/g)) {
        const rest = m[3].split(/\s#|;|: /)[0];
        const words = rest.replace(/[[\]]/g, " ").split(/\s+/).filter(Boolean);
        const args = m[1] === "npm run" ? (words[0] === "--" ? words.slice(1) : []) : words;
        out.push({ where: `${doc}:${i + 1}`, tool: m[1] === "npm run" ? "npm" : "hardhat", name: m[2], args });
      }
    });
  }
  return out;
}

/** The options an example uses: `--name` of `--name value` or `--name=value`. */
const optionsOf = (args: readonly string[]) => args.filter((a) => /^--[a-z]/.test(a)).map((a) => a.split("=")[0]);
/** The options a help text lists. */
const optionsIn = (help: string) => new Set([...help.matchAll(/(?:^|[\s,[])(--[a-z][\w-]*)/gm)].map((m) => m[1].replace(/^--\[no-\]/, "--")));

function capture(run: (argv: readonly string[], io: CliIo) => Promise<number>) {
  return async (argv: readonly string[]): Promise<{ code: number; text: string }> => {
    const lines: string[] = [];
    const code = await run(argv, { out: (l) => lines.push(l), err: (l) => lines.push(l) });
    return { code, text: lines.join("\n") };
  };
}

const execFileP = promisify(execFile);
/** A script's --help, from its own process (its program is built in its main). */
async function spawnedHelp(script: string): Promise<{ code: number; text: string }> {
  const { stdout } = await execFileP(process.execPath, [require.resolve("ts-node/dist/bin"), "--transpile-only", script, "--help"], { cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" } });
  return { code: 0, text: stdout };
}

/** For each npm script with a command line: the help of its top level, and of a subcommand. */
const HELP: Record<string, (sub?: string) => Promise<{ code: number; text: string }>> = {
  cli: (sub) => capture(runCli)(sub === undefined ? ["--help"] : [sub, "--help"]),
  model: (sub) => capture(runModelCli)(sub === undefined ? ["--help"] : [sub, "--help"]),
  deploy: () => capture(deployCli)(["--help"]),
  node: () => spawnedHelp("node/main.ts"),
  watcher: () => spawnedHelp("challenger/main.ts"),
  "train:iris": () => spawnedHelp("scripts/train-iris.ts"),
  "mnist:samples": () => spawnedHelp("scripts/mnist-samples.ts"),
  "build:model": () => spawnedHelp("scripts/build-reference-model.ts"),
};
/** Scripts whose programs have subcommands. */
const WITH_SUBCOMMANDS = new Set(["cli", "model"]);

describe("the documented commands (every npm run and npx hardhat example in the docs)", () => {
  const all = examples();
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

  it("finds the examples", () => {
    expect(all.filter((e) => e.tool === "npm").length).to.be.greaterThan(50);
    for (const name of ["cli", "model", "deploy", "node", "watcher", "demo", "chain"]) expect(all.map((e) => e.name), name).to.include(name);
  });

  it("names only npm scripts that exist", () => {
    const missing = all.filter((e) => e.tool === "npm" && !Object.hasOwn(scripts, e.name));
    expect(missing.map((e) => `${e.where}: npm run ${e.name}`)).to.deep.equal([]);
  });

  it("uses only subcommands and options the programs take, as their --help lists them", async () => {
    const helps = new Map<string, string>();
    const helpOf = async (name: string, sub?: string): Promise<string> => {
      const key = `${name} ${sub ?? ""}`;
      if (!helps.has(key)) {
        const { code, text } = await HELP[name](sub);
        expect(code, `${key} --help`).to.equal(0);
        helps.set(key, text);
      }
      return helps.get(key)!;
    };
    const problems: string[] = [];
    for (const e of all.filter((x) => x.tool === "npm" && Object.hasOwn(HELP, x.name) && x.args.length > 0)) {
      let sub: string | undefined;
      if (WITH_SUBCOMMANDS.has(e.name)) {
        const first = e.args[0];
        if (/^[a-z][\w-]*$/.test(first)) {
          if (!new RegExp(`^  ${first}\\b`, "m").test(await helpOf(e.name))) problems.push(`${e.where}: npm run ${e.name} has no command ${first}`);
          else sub = first;
        }
      }
      const known = optionsIn(await helpOf(e.name, sub));
      for (const option of optionsOf(e.args)) if (!known.has(option)) problems.push(`${e.where}: npm run ${e.name}${sub ? ` ${sub}` : ""} takes no ${option}`);
    }
    expect(problems).to.deep.equal([]);
    expect(helps.size, "help texts read").to.be.greaterThan(10);
  });

  it("names only Hardhat tasks that exist, with their parameters", () => {
    const global = Object.keys(HARDHAT_PARAM_DEFINITIONS).map((p) => `--${p.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    const problems: string[] = [];
    for (const e of all.filter((x) => x.tool === "hardhat")) {
      const task = hre.tasks[e.name];
      if (task === undefined) {
        problems.push(`${e.where}: npx hardhat has no task ${e.name}`);
        continue;
      }
      const params = Object.keys(task.paramDefinitions).map((p) => `--${p.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
      for (const option of optionsOf(e.args)) if (![...params, ...global].includes(option)) problems.push(`${e.where}: npx hardhat ${e.name} takes no ${option}`);
    }
    expect(problems).to.deep.equal([]);
  });

  it("would catch a wrong example: an option, a subcommand and a script that do not exist", async () => {
    const cliHelp = optionsIn((await capture(runCli)(["post", "--help"])).text);
    expect(cliHelp.has("--digit")).to.equal(true);
    expect(cliHelp.has("--rpc")).to.equal(false);
    expect(/^ {2}fly\b/m.test((await capture(runCli)(["--help"])).text)).to.equal(false);
    expect(Object.hasOwn(scripts, "start")).to.equal(false);
  });
});

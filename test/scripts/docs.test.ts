import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const read = (p: string) => readFileSync(path.join(ROOT, p), "utf8");

/** Every TypeScript source of the daemons and their shared code. */
function daemonSources(): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".ts")) files.push(p);
    }
  };
  ["core", "node", "challenger"].forEach(walk);
  return files.map(read).join("\n");
}

/** The docs say what the code does: names they promise exist. */
describe("the docs match the code", () => {
  it("docs/operations.md's metrics table lists exactly the metrics the daemons declare", () => {
    // The table's rows; prom-client's own process metrics are named in the prose above it.
    const doc = read("docs/operations.md").split("\n").filter((l) => l.startsWith("| `refute_")).join("\n");
    const code = daemonSources();
    const names = [...new Set([...doc.matchAll(/`(refute_(node|watcher)_([a-z_]+))(\{[a-z,]*\})?`/g)].map((m) => m[3]))];
    expect(names.length).to.be.at.least(10);
    for (const name of names) expect(code, `metric ${name}`).to.match(new RegExp(`(counter|gauge|histogram)\\("${name}"`));
    // Each metric a daemon declares is in the table.
    const declared = [...code.matchAll(/\.(?:counter|gauge|histogram)\("([a-z_]+)"/g)].map((m) => m[1]);
    for (const name of declared) expect(names, `declared metric ${name} is documented`).to.include(name);
  });

  it("docs/architecture.md names every doc in docs/", () => {
    const arch = read("docs/architecture.md");
    for (const doc of readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md") && f !== "architecture.md")) expect(arch, doc).to.include(doc);
  });
});

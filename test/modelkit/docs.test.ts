import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { inputScaleOf, loadModelDir } from "../../core/modelFiles";
import { quantiseInput } from "../../core/quantise";
import { runReference } from "../../core/referenceExecutor";
import { runModelCli } from "../../modelkit/cli";
import { classifyOneFlower } from "../../modelkit/examples/dappTest";
import { importIris } from "../../modelkit/examples/importIris";
import { irisSplit, trainIris } from "../../scripts/train-iris";

const ROOT = path.resolve(__dirname, "..", "..");
const doc = readFileSync(path.join(ROOT, "docs", "models.md"), "utf8");

/**
 * docs/models.md stays true: its TypeScript examples are the code of the example files (which this
 * test runs), and every `npm run model` command it shows exists with the options it uses.
 */
describe("docs/models.md", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "refute-docs-"));
    trainIris(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("quotes the example files verbatim", () => {
    const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks).to.have.length(2);
    const sources = ["importIris.ts", "dappTest.ts"].map((f) => readFileSync(path.join(ROOT, "modelkit", "examples", f), "utf8"));
    blocks.forEach((block, i) => expect(sources[i], `block ${i + 1}`).to.include(block));
  });

  it("runs the worked examples: import the iris model, then classify a flower against a local Refute in a Hardhat test", async () => {
    const modelDir = path.join(dir, "iris");
    const log = console.log;
    let root: string;
    try {
      console.log = () => undefined;
      root = await importIris(dir, modelDir);
    } finally {
      console.log = log;
    }
    expect(root).to.equal(loadModelDir(modelDir).root);
    const flower = irisSplit().heldOut[2].x;
    const trace = runReference(loadModelDir(modelDir).model, quantiseInput(flower, inputScaleOf(loadModelDir(modelDir))));
    expect(await classifyOneFlower(modelDir, [...flower])).to.deep.equal(Array.from(trace[trace.length - 1]));
  });

  it("shows only commands and options that exist", async () => {
    const lines = [...doc.matchAll(/^npm run model -- (\w+) (.*)$/gm)];
    expect(lines.length).to.be.at.least(4);
    for (const [line, command, rest] of lines) {
      const help: string[] = [];
      expect(await runModelCli([command, "--help"], { out: (l) => help.push(l), err: (l) => help.push(l) }), line).to.equal(0);
      for (const option of rest.match(/--[a-z-]+/g) ?? []) expect(help.join("\n"), `${line}: ${option}`).to.include(option);
    }
  });
});

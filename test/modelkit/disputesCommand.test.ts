import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { writeGraphModelFolder } from "../../core/graph/modelFolder";
import { isLayout } from "../../core/graph/program";
import { initKeccak } from "../../core/keccak";
import { MNIST_MODEL_DIR } from "../../core/modelFiles";
import { Rng } from "../../core/rng";
import { runModelCli } from "../../modelkit/cli";
import { randomProgram } from "../graph/randomPrograms";
import { runInProcess } from "../helpers/inProcessCli";

/**
 * `npm run model -- disputes <folder>` (modelkit/disputeCheck.ts): the worst-case dispute of each op
 * kind of a graph program played on an embedded chain, its table, the verdict on the gas limit, and the
 * refusal of a Dense folder.
 */
describe("npm run model -- disputes: a graph program's worst-case disputes before it is registered", function () {
  this.timeout(180_000);
  let tmp: string;
  let dir: string;
  let kinds: string[];

  before(async () => {
    await initKeccak();
    tmp = mkdtempSync(path.join(os.tmpdir(), "refute-disputes-"));
    dir = path.join(tmp, "graph");
    const program = randomProgram(new Rng(5), { ops: 5 });
    writeGraphModelFolder(dir, program);
    kinds = [...new Set(program.ops.filter((op) => !isLayout(op)).map((op) => op.kind)), "output"];
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("plays one game per op kind and the output (--quick): a table, every transaction within 500k, every lie lost", async () => {
    const run = await runInProcess(runModelCli, ["disputes", dir, "--quick"]);
    expect(run.status, run.err).to.equal(0);
    const rows = run.out.split("\n").filter((l) => /^\| [a-zA-Z]+ \| leaf /.test(l));
    expect(rows.map((r) => r.split(" | ")[0].slice(2))).to.deep.equal(kinds);
    for (const row of rows) expect(row).to.match(/\| challenger \((StepFailed)\) \|$/);
    expect(run.out).to.include("No transaction above 500,000 gas.");
    expect(run.out).to.include(`Every lie lost: the honest challenger won all ${kinds.length} games`);
    expect(run.err.split("\n").filter((l) => l.startsWith("game "))).to.have.length(kinds.length);
  });

  it("names every transaction above a lower --gas-limit and exits 1", async () => {
    const run = await runInProcess(runModelCli, ["disputes", dir, "--quick", "--gas-limit", "100000"]);
    expect(run.status).to.equal(1);
    expect(run.out).to.match(/^Above 100,000 gas: .*open 1\d\d,\d\d\d/m);
    expect(run.out).to.include("**> 100,000**");
  });

  it("refuses a Dense folder with one line", async () => {
    const run = await runInProcess(runModelCli, ["disputes", MNIST_MODEL_DIR]);
    expect(run.status).to.not.equal(0);
    expect(run.err.trim()).to.equal(`error: ${MNIST_MODEL_DIR} is a Dense model (integer.onnx): disputes plays graph programs (program.json); a Dense model's worst case is in npm run bench`);
  });
});

import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_MODEL_CACHE, cacheDirField } from "../../core/service/cacheDirField";
import { ConfigError, helpText, loadConfig } from "../../core/service/config";

/** The daemons' --model-cache: a folder that need not exist yet, resolved like every path option. */
describe("cacheDirField (core/service/cacheDirField.ts)", () => {
  let dir: string;
  const schema = { modelCache: cacheDirField().default(DEFAULT_MODEL_CACHE).describe("model cache") };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "refute-cache-field-"));
    fs.mkdirSync(path.join(dir, "conf"));
    fs.writeFileSync(path.join(dir, "a-file"), "");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a missing folder is accepted as an absolute path: the default and flags against the working directory, a config file's value against its folder", () => {
    expect(loadConfig(schema, { argv: [], env: {}, cwd: dir })).to.deep.equal({ modelCache: path.join(dir, ".refute", "models") });
    expect(loadConfig(schema, { argv: ["--model-cache", "c"], env: {}, cwd: dir })).to.deep.equal({ modelCache: path.join(dir, "c") });
    const file = path.join(dir, "conf", "config.json");
    fs.writeFileSync(file, JSON.stringify({ modelCache: "cache" }));
    expect(loadConfig(schema, { argv: ["--config", file], env: {}, cwd: dir })).to.deep.equal({ modelCache: path.join(dir, "conf", "cache") });
    expect(fs.existsSync(path.join(dir, ".refute")), "loading creates nothing").to.equal(false);
  });

  it("a path that is a file, or an empty path, is refused naming the option", () => {
    const problems = (argv: string[]) => {
      try {
        loadConfig(schema, { argv, env: {}, cwd: dir });
      } catch (e) {
        expect(e).to.be.instanceOf(ConfigError);
        return (e as ConfigError).problems.map((p) => `${p.key}: ${p.message}`);
      }
      throw new Error("expected a ConfigError");
    };
    expect(problems(["--model-cache", "a-file"])).to.deep.equal([
      `modelCache: expected a path to a directory (created if missing), got "a-file" (${path.join(dir, "a-file")} is not a directory)`,
    ]);
    expect(problems(["--model-cache="])).to.deep.equal(['modelCache: expected a path to a directory (created if missing), got ""']);
    expect(helpText(schema).replace(/\s+/g, " ")).to.include("--model-cache <path>").and.include("model cache. A path to a directory (created if missing). (default: .refute/models, env: REFUTE_MODEL_CACHE)");
  });
});

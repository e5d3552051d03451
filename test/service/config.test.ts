import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { Address, Hex } from "viem";
import { ConfigError, envName, field, flagName, helpText, loadConfig, redactConfig, type Schema, wantsHelp } from "../../core/service/config";

const KEY = `0x${"ab".repeat(32)}`;
const ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"; // EIP-55's own example

describe("core/service/config", () => {
  let dir: string;
  let modelFile: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "refute-config-"));
    modelFile = path.join(dir, "deployment.json");
    fs.writeFileSync(modelFile, "{}");
    fs.mkdirSync(path.join(dir, "models"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Writes a config file under the temporary folder and returns its path. */
  function configFile(content: unknown, name = "config.json"): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
    return file;
  }

  /** The ConfigError that `f` throws. */
  function configError(f: () => unknown): ConfigError {
    try {
      f();
    } catch (e) {
      expect(e).to.be.instanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error("expected a ConfigError");
  }

  /** Loads a one-key schema from one source: "flag", "env", "file" or "default". */
  function loadOne(f: Schema[string], source: "flag" | "env" | "file" | "default", raw: unknown): unknown {
    const schema = { value: source === "default" ? f.default(raw) : f };
    if (source === "flag") return loadConfig(schema, { argv: [`--value=${String(raw)}`], env: {}, cwd: dir }).value;
    if (source === "env") return loadConfig(schema, { argv: [], env: { REFUTE_VALUE: String(raw) }, cwd: dir }).value;
    if (source === "file") return loadConfig(schema, { argv: ["--config", configFile({ value: raw }, "one.json")], env: {}, cwd: dir }).value;
    return loadConfig(schema, { argv: [], env: {}, cwd: dir }).value;
  }

  describe("field kinds", () => {
    // [field, good raw → loaded value, bad raw values (with a pattern the message must match)]
    const cases: [string, Schema[string], [unknown, unknown][], [unknown, RegExp][]][] = [
      ["string", field.string({ pattern: /^[a-z-]+$/ }), [["abc", "abc"]], [["A B", /expected a string matching \/\^\[a-z-\]\+\$\/, got "A B"/]]],
      [
        "url",
        field.url(),
        [["http://127.0.0.1:8545", "http://127.0.0.1:8545"], ["wss://rpc.example/ws", "wss://rpc.example/ws"]],
        [
          ["localhost:8545", /expected a URL \(http, https, ws, wss\), got "localhost:8545"/],
          ["ftp://x", /got "ftp:\/\/x" \(protocol ftp: is not allowed\)/],
        ],
      ],
      [
        "int",
        field.int({ min: 0, max: 65535 }),
        [["8545", 8545], ["0", 0]],
        [
          ["1.5", /expected an integer from 0 to 65535, got "1.5"/],
          ["70000", /got "70000"/],
          ["-1", /got "-1"/],
          ["abc", /got "abc"/],
        ],
      ],
      ["number", field.number({ min: 0, max: 1 }), [["0.25", 0.25], ["1", 1], ["1e-2", 0.01]], [["1.5", /expected a number from 0 to 1, got "1.5"/], ["x", /got "x"/]]],
      ["bool", field.bool(), [["true", true], ["no", false], ["1", true], ["off", false]], [["maybe", /expected a boolean \(true\/false, 1\/0, yes\/no, on\/off\), got "maybe"/]]],
      ["bigint", field.bigint({ min: 0n }), [["123456789012345678901234567890", 123456789012345678901234567890n]], [["-1", /expected an integer ≥ 0, got "-1"/], ["1.0", /got "1.0"/]]],
      [
        "ether",
        field.ether(),
        [["1.5", 1_500_000_000_000_000_000n], ["0.01 ether", 10n ** 16n], ["1000 wei", 1000n], ["2ETH", 2n * 10n ** 18n], ["0", 0n]],
        [
          ["-1", /expected an amount in ETH \("1\.5", "0\.01eth", "0\.01 ether"\) or wei \("1000wei"\) ≥ 0 ETH, got "-1"/],
          ["1.0000000000000000001", /got "1\.0000000000000000001" \(more than 18 decimals\)/],
          ["1.5 gwei", /got "1\.5 gwei"/],
          ["1.5 wei", /got "1\.5 wei"/],
        ],
      ],
      [
        "address",
        field.address(),
        [[ADDRESS.toLowerCase(), ADDRESS], [ADDRESS, ADDRESS]],
        [
          ["0x1234", /expected an address \(0x \+ 40 hex digits; in mixed case, a valid checksum\), got "0x1234"/],
          [ADDRESS.replace("aAeb", "aAEb"), /\(bad checksum\)/],
        ],
      ],
      [
        "privateKey",
        field.privateKey(),
        [[KEY.toUpperCase().replace("0X", "0x"), KEY]],
        [
          ["0x1234", /expected a private key \(0x \+ 64 hex digits\), got "0x1234"/],
          [`0x${"0".repeat(64)}`, /\(the zero key\)/],
        ],
      ],
      ["enum", field.enum(["none", "wrong-output", "lazy"]), [["lazy", "lazy"]], [["wrong-outptu", /expected one of "none", "wrong-output", "lazy", got "wrong-outptu"; did you mean "wrong-output"\?/]]],
    ];
    for (const [name, f, goods, bads] of cases) {
      describe(name, () => {
        for (const source of ["flag", "env", "file", "default"] as const) {
          it(`accepts good values from ${source === "default" ? "a default" : `the ${source}`}`, () => {
            for (const [raw, value] of goods) {
              // A file holds the JSON form: numbers and booleans as such.
              const fileRaw = source !== "file" ? raw : name === "int" || name === "number" ? Number(raw) : name === "bool" ? raw === "true" || raw === "1" : raw;
              const defaultRaw = source === "default" ? value : fileRaw;
              expect(loadOne(f, source, defaultRaw), `${name} ${String(raw)}`).to.deep.equal(value);
            }
          });
          if (source === "default") continue;
          it(`rejects bad values from the ${source}, naming the key, the source and the value`, () => {
            for (const [raw, pattern] of bads) {
              const e = configError(() => loadOne(f, source, raw));
              const origin = source === "flag" ? "flag --value" : source === "env" ? "env REFUTE_VALUE" : `file ${path.join(dir, "one.json")}`;
              expect(e.message, `${name} ${String(raw)}`).to.contain(`  - value (${origin}): expected`).and.to.match(pattern);
              expect(e.problems).to.have.length(1);
            }
          });
        }
      });
    }

    it("file: must exist; loaded absolute, relative to the working folder or to the config file", () => {
      expect(loadOne(field.file(), "flag", "deployment.json")).to.equal(modelFile);
      expect(loadOne(field.file(), "env", modelFile)).to.equal(modelFile);
      const sub = path.join(dir, "sub");
      fs.mkdirSync(sub, { recursive: true });
      const cfg = path.join(sub, "c.json");
      fs.writeFileSync(cfg, JSON.stringify({ deployment: "../deployment.json" }));
      expect(loadConfig({ deployment: field.file() }, { argv: ["--config", cfg], env: {}, cwd: "/" }).deployment).to.equal(modelFile);
      expect(configError(() => loadOne(field.file(), "flag", "missing.json")).message).to.contain(
        `value (flag --value): expected a path to an existing file, got "missing.json" (${path.join(dir, "missing.json")} does not exist)`,
      );
      expect(configError(() => loadOne(field.file(), "flag", "models")).message).to.contain(`(${path.join(dir, "models")} is not a file)`);
      expect(loadOne(field.dir(), "flag", "models")).to.equal(path.join(dir, "models"));
      expect(configError(() => loadOne(field.dir(), "env", "deployment.json")).message).to.contain("is not a directory");
    });

    it("list: comma-separated from flags and env, a JSON array from the file; each item checked", () => {
      const list = field.list(field.int({ min: 1 }));
      expect(loadOne(list, "flag", "1, 2,3")).to.deep.equal([1, 2, 3]);
      expect(loadOne(list, "env", "7")).to.deep.equal([7]);
      expect(loadOne(list, "file", [4, "5"])).to.deep.equal([4, 5]);
      expect(loadOne(list, "flag", "")).to.deep.equal([]);
      expect(loadOne(field.list(field.string()).default(["a"]), "default", ["a"])).to.deep.equal(["a"]);
      expect(configError(() => loadOne(list, "env", "1,0,2")).message).to.contain(
        'value (env REFUTE_VALUE): expected a list (comma-separated, or a JSON array in the file), each an integer ≥ 1, got "1,0,2" (item 2 ("0") is not an integer ≥ 1)',
      );
      expect(configError(() => loadOne(list, "file", "1,2")).message).to.contain('got "1,2"');
    });

    it("string: not empty unless allowed (an empty environment variable counts as unset)", () => {
      expect(configError(() => loadOne(field.string(), "flag", "")).message).to.contain('value (flag --value): expected a non-empty string, got ""');
      expect(configError(() => loadOne(field.string(), "env", "")).message).to.contain("value: required, not set");
      expect(loadOne(field.string({ allowEmpty: true }), "flag", "")).to.equal("");
    });

    it("bool flags: --flag, --no-flag, --flag=value; other flags: --name value or --name=value", () => {
      const schema = { dryRun: field.bool().default(false), port: field.int() };
      expect(loadConfig(schema, { argv: ["--dry-run", "--port", "1"], env: {} })).to.deep.equal({ dryRun: true, port: 1 });
      expect(loadConfig(schema, { argv: ["--no-dry-run", "--port=2"], env: { REFUTE_DRY_RUN: "true" } })).to.deep.equal({ dryRun: false, port: 2 });
      expect(loadConfig(schema, { argv: ["--dry-run=yes", "--port", "-3"], env: {} })).to.deep.equal({ dryRun: true, port: -3 });
      const e = configError(() => loadConfig(schema, { argv: ["--no-dry-run=1", "--port"], env: {} }));
      expect(e.problems.map((p) => p.message)).to.deep.equal(["--no-dry-run takes no value", "--port needs a value", 'required, not set: use --port, REFUTE_PORT or "port" in the config file']);
    });
  });

  describe("loadConfig", () => {
    const schema = {
      rpcUrl: field.url().describe("JSON-RPC endpoint of the chain."),
      privateKey: field.privateKey().secret().describe("The operator's key."),
      samplingRate: field.number({ min: 0, max: 1 }).default(1),
      port: field.int({ min: 0, max: 65535 }).default(0),
      stake: field.ether().optional(),
      cheat: field.enum(["none", "wrong-output", "wrong-layer", "lazy"]).default("none"),
      models: field.list(field.string()).default([]),
      verbose: field.bool().default(false),
    };
    const env = { REFUTE_RPC_URL: "http://127.0.0.1:8545", REFUTE_PRIVATE_KEY: KEY };

    it("returns a typed, frozen object with defaults filled in and optional keys undefined", () => {
      const config = loadConfig(schema, { argv: [], env });
      // Compile-time checks of the inferred type.
      const typed: { readonly rpcUrl: string; readonly privateKey: Hex; readonly stake: bigint | undefined; readonly cheat: "none" | "wrong-output" | "wrong-layer" | "lazy"; readonly models: readonly string[] } = config;
      // @ts-expect-error an optional key may be undefined
      const stake: bigint = config.stake;
      // @ts-expect-error not a key of the schema
      void config.rpcURL;
      void [typed, stake];
      expect(config).to.deep.equal({ rpcUrl: "http://127.0.0.1:8545", privateKey: KEY, samplingRate: 1, port: 0, stake: undefined, cheat: "none", models: [], verbose: false });
      expect(Object.isFrozen(config)).to.equal(true);
      const address: Address = loadConfig({ a: field.address() }, { argv: [], env: { REFUTE_A: ADDRESS } }).a;
      expect(address).to.equal(ADDRESS);
    });

    it("takes each key from the highest source: default < file < env < flag", () => {
      const file = configFile({ rpcUrl: "http://file:1", port: 1, samplingRate: 0.1, cheat: "lazy" });
      const config = loadConfig(schema, {
        argv: ["--config", file, "--port", "3", "--private-key", KEY],
        env: { REFUTE_PORT: "2", REFUTE_SAMPLING_RATE: "0.2", REFUTE_PRIVATE_KEY: `0x${"cd".repeat(32)}` },
      });
      expect(config).to.deep.include({ rpcUrl: "http://file:1", port: 3, samplingRate: 0.2, cheat: "lazy", privateKey: KEY, verbose: false });
    });

    it("checks only the value that wins", () => {
      const file = configFile({ port: "not a port" });
      expect(loadConfig(schema, { argv: ["--config", file, "--port", "5"], env }).port).to.equal(5);
    });

    it("finds the file from --config, then REFUTE_CONFIG, then the file option; null in the file means unset", () => {
      const a = configFile({ port: 1 }, "a.json");
      const b = configFile({ port: 2, stake: null }, "b.json");
      const c = configFile({ port: 3 }, "c.json");
      expect(loadConfig(schema, { argv: ["--config", a], env: { ...env, REFUTE_CONFIG: b }, file: c }).port).to.equal(1);
      expect(loadConfig(schema, { argv: [], env: { ...env, REFUTE_CONFIG: b }, file: c })).to.deep.include({ port: 2, stake: undefined });
      expect(loadConfig(schema, { argv: [], env, file: c }).port).to.equal(3);
    });

    it("ignores empty environment variables and variables without the prefix; the prefix can change", () => {
      expect(loadConfig(schema, { argv: [], env: { ...env, REFUTE_PORT: "", PORT: "9" } }).port).to.equal(0);
      expect(loadConfig({ port: field.int() }, { argv: [], env: { NODE_PORT: "7", REFUTE_PORT: "8" }, envPrefix: "NODE_" }).port).to.equal(7);
    });

    it("reports every problem at once: bad values from each source, missing keys, unknown flags, variables and file keys", () => {
      const file = configFile({ samplingRate: 2, rpcURL: "http://x", verbose: "sometimes" });
      const e = configError(() =>
        loadConfig(schema, {
          argv: ["--config", file, "--prot", "1", "--cheat", "lazzy", "stray", "--stake", "-1"],
          env: { REFUTE_PRIVATE_KEY: "0xnotakey", REFUTE_SAMPLNG_RATE: "0.5" },
        }),
      );
      expect(e.message).to.equal(
        [
          "invalid configuration (10 problems):",
          "  - unknown flag --prot (did you mean --port?)",
          '  - unexpected argument "stray": options are --name value',
          "  - unknown environment variable REFUTE_SAMPLNG_RATE (did you mean REFUTE_SAMPLING_RATE?)",
          `  - unknown key "rpcURL" in config file ${file} (did you mean "rpcUrl"?)`,
          '  - rpcUrl: required, not set: use --rpc-url, REFUTE_RPC_URL or "rpcUrl" in the config file',
          "  - privateKey (env REFUTE_PRIVATE_KEY): expected a private key (0x + 64 hex digits), got <hidden>",
          `  - samplingRate (file ${file}): expected a number from 0 to 1, got 2`,
          '  - stake (flag --stake): expected an amount in ETH ("1.5", "0.01eth", "0.01 ether") or wei ("1000wei") ≥ 0 ETH, got "-1"',
          '  - cheat (flag --cheat): expected one of "none", "wrong-output", "wrong-layer", "lazy", got "lazzy"; did you mean "lazy"?',
          `  - verbose (file ${file}): expected a boolean (true/false, 1/0, yes/no, on/off), got "sometimes"`,
          "Run with --help to list the options.",
        ].join("\n"),
      );
      expect(e.problems.find((p) => p.key === "samplingRate")).to.deep.equal({ key: "samplingRate", source: "file", origin: file, message: "expected a number from 0 to 1, got 2" });
    });

    it("never shows a secret's value, wherever it came from", () => {
      const secret = "0xdeadbeef-not-a-key";
      for (const [argv, envs] of [[["--private-key", secret], {}], [[], { REFUTE_PRIVATE_KEY: secret }], [["--config", configFile({ privateKey: secret })], {}]] as const) {
        const e = configError(() => loadConfig(schema, { argv, env: { REFUTE_RPC_URL: "http://x", ...envs } }));
        expect(e.message).to.contain("got <hidden>").and.not.contain("deadbeef");
      }
      const e = configError(() => loadConfig({ keys: field.list(field.privateKey()).secret() }, { argv: ["--keys", `${KEY},0xbeef`], env: {} }));
      expect(e.message).to.contain("got <hidden>").and.not.contain("beef");
    });

    it("reports an unreadable, malformed or non-object config file", () => {
      expect(configError(() => loadConfig(schema, { argv: ["--config", "nope.json"], env, cwd: dir })).message).to.contain(`cannot read config file ${path.join(dir, "nope.json")}: ENOENT`);
      expect(configError(() => loadConfig(schema, { argv: ["--config", configFile("{ port: 1 }")], env })).message).to.match(/config file .*config\.json is not valid JSON: /);
      expect(configError(() => loadConfig(schema, { argv: ["--config", configFile([1])], env })).message).to.contain("must hold a JSON object, got an array");
    });

    it("refuses schema keys that are not camelCase, and the reserved config and help", () => {
      expect(() => loadConfig({ rpc_url: field.url() }, { argv: [], env: {} })).to.throw(TypeError, /schema key "rpc_url" must be camelCase/);
      expect(() => loadConfig({ config: field.file() }, { argv: [], env: {} })).to.throw(TypeError, /schema key "config" is reserved for --config/);
    });

    it("names flags and variables after the keys", () => {
      expect(flagName("rpcUrl")).to.equal("rpc-url");
      expect(flagName("l2RpcUrl")).to.equal("l2-rpc-url");
      expect(envName("samplingRate")).to.equal("REFUTE_SAMPLING_RATE");
      expect(envName("port", "WATCHER_")).to.equal("WATCHER_PORT");
    });
  });

  describe("help", () => {
    it("wantsHelp sees --help or -h before --", () => {
      expect(wantsHelp(["--port", "1", "--help"])).to.equal(true);
      expect(wantsHelp(["-h"])).to.equal(true);
      expect(wantsHelp(["--", "--help"])).to.equal(false);
      expect(wantsHelp(["--port", "1"])).to.equal(false);
    });

    it("loadConfig leaves --help alone", () => {
      expect(loadConfig({ port: field.int().default(1) }, { argv: ["--help"], env: {} }).port).to.equal(1);
    });

    it("lists every option with its flag, variable, description, format and default", () => {
      const text = helpText(
        {
          rpcUrl: field.url().describe("JSON-RPC endpoint of the chain."),
          privateKey: field.privateKey().secret().default(KEY as Hex),
          stake: field.ether().default(10n ** 18n).describe("Stake to keep bonded."),
          cheat: field.enum(["none", "lazy"]).default("none"),
          models: field.list(field.string()).optional(),
          verbose: field.bool().default(false),
        },
        { command: "refute-node", summary: "Serves inference jobs." },
      );
      // Laid out by commander, 100 columns wide.
      expect(text).to.equal(
        [
          "Usage: refute-node [options]",
          "",
          "Serves inference jobs.",
          "",
          'Each option is taken from, in increasing priority: its default, the config file (key "camelCase"),',
          "the environment (REFUTE_NAME) and the command line (--name value).",
          "",
          "Options:",
          "  --config <path>      A JSON file with any of the options below, under their camelCase keys. (env:",
          "                       REFUTE_CONFIG)",
          "  --rpc-url <url>      JSON-RPC endpoint of the chain. A URL (http, https, ws, wss). Required. (env:",
          "                       REFUTE_RPC_URL)",
          "  --private-key <key>  A private key (0x + 64 hex digits). (default: <hidden>, env:",
          "                       REFUTE_PRIVATE_KEY)",
          '  --stake <eth>        Stake to keep bonded. An amount in ETH ("1.5", "0.01eth", "0.01 ether") or',
          '                       wei ("1000wei") ≥ 0 ETH. (default: 1 ETH, env: REFUTE_STAKE)',
          '  --cheat <none|lazy>  One of "none", "lazy". (default: none, env: REFUTE_CHEAT)',
          "  --models <string,…>  A list (comma-separated, or a JSON array in the file), each a non-empty",
          "                       string. Optional. (env: REFUTE_MODELS)",
          "  --verbose [bool]     A boolean (true/false, 1/0, yes/no, on/off). (default: false, env:",
          "                       REFUTE_VERBOSE)",
          "  --no-verbose         Sets --verbose false.",
          "  -h, --help           Print this text.",
          "",
        ].join("\n"),
      );
    });
  });

  it("redactConfig hides secrets and keeps the rest", () => {
    const schema = { rpcUrl: field.url(), privateKey: field.privateKey().secret(), token: field.string().secret().optional() };
    const config = loadConfig(schema, { argv: [], env: { REFUTE_RPC_URL: "http://x", REFUTE_PRIVATE_KEY: KEY } });
    expect(redactConfig(schema, config)).to.deep.equal({ rpcUrl: "http://x", privateKey: "<hidden>", token: undefined });
  });
});

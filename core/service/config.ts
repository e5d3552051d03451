import fs from "node:fs";
import path from "node:path";
import { type Address, formatEther, getAddress, type Hex, isAddress } from "viem";
import { parseAmount } from "../amount";
import { closest } from "../closest";
import { stringifyJson } from "./json";

/**
 * Validated configuration. A schema of typed fields,
 *
 *     const schema = { rpcUrl: field.url().describe("JSON-RPC endpoint"), stake: field.ether().default(10n ** 18n) };
 *     const config = loadConfig(schema); // { readonly rpcUrl: string; readonly stake: bigint }
 *
 * is filled from, lowest priority first, the fields' defaults, a JSON file (`--config path`,
 * keys as in the schema), the environment (`REFUTE_RPC_URL`) and the command line
 * (`--rpc-url value`, `--flag` / `--no-flag` for booleans). Every problem — a bad value, a
 * missing one, an unknown key, flag or variable — is reported at once in one `ConfigError`
 * naming the key, where the value came from, what was expected and what was given (`<hidden>`
 * for secrets).
 */

export type ConfigSource = "default" | "file" | "env" | "flag";

export interface ParseContext {
  readonly source: ConfigSource;
  /** Relative paths resolve against it: the config file's folder for file values, else the working directory. */
  readonly baseDir: string;
}

/** A parse result: the value, or what was wrong beyond "expected …" (if anything). */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly detail?: string };

/** What a field accepts. `parse` takes text (env, flags) or JSON (file) values and the field's own type (defaults). */
export interface FieldKind<T> {
  readonly name: string;
  /** "an integer from 0 to 65535": completes "expected …". */
  readonly expected: string;
  /** The value's name in the help text: `--port <int>`. */
  readonly placeholder: string;
  readonly parse: (raw: unknown, context: ParseContext) => Parsed<T>;
  /** A value as the help text shows a default. */
  readonly show: (value: T) => string;
  readonly isBool?: boolean;
  /** For a rejected value: a close accepted one (enums). */
  readonly suggest?: (raw: string) => string | undefined;
}

interface FieldSettings {
  readonly description?: string;
  readonly secret: boolean;
  readonly optional: boolean;
  readonly default?: { readonly value: unknown };
}

/** One configuration key: its kind and, through the builder methods, description, secrecy, default. */
export class Field<T, Optional extends boolean = false> {
  /** Phantom: whether the loaded value may be undefined. */
  declare readonly optionalType: Optional;

  constructor(
    readonly kind: FieldKind<T>,
    readonly settings: FieldSettings = { secret: false, optional: false },
  ) {}

  /** The description shown by --help. */
  describe(description: string): Field<T, Optional> {
    return new Field(this.kind, { ...this.settings, description });
  }

  /** The value never appears in errors, help or `redactConfig`. */
  secret(): Field<T, Optional> {
    return new Field(this.kind, { ...this.settings, secret: true });
  }

  /** Not required: undefined when no source sets it. */
  optional(): Field<T, true> {
    return new Field<T, true>(this.kind, { ...this.settings, optional: true });
  }

  /** Not required: `value` (checked like any other) when no source sets it. */
  default(value: T): Field<T, false> {
    return new Field<T, false>(this.kind, { ...this.settings, optional: false, default: { value } });
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Schema = Readonly<Record<string, Field<any, boolean>>>;

/** The loaded configuration's type. */
export type ConfigOf<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends Field<infer T, infer O> ? (O extends true ? T | undefined : T) : never;
};

export interface ConfigProblem {
  /** The schema key, when the problem is about one. */
  readonly key?: string;
  readonly source?: ConfigSource;
  /** The flag, variable or file the value came from. */
  readonly origin?: string;
  /** One line, without the key prefix. */
  readonly message: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      [
        `invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):`,
        ...problems.map((p) => `  - ${p.key === undefined ? "" : `${p.key}${p.source === undefined ? "" : ` (${originText(p)})`}: `}${p.message}`),
        "Run with --help to list the options.",
      ].join("\n"),
    );
  }
}

function originText(p: ConfigProblem): string {
  if (p.source === "default") return "default";
  return `${p.source} ${p.origin}`;
}

// ---------------------------------------------------------------------------------------------
// Field kinds

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (detail?: string): Parsed<never> => ({ ok: false, detail });

interface Range<N> {
  readonly min?: N;
  readonly max?: N;
}

function rangeText<N extends number | bigint>({ min, max }: Range<N>, show: (n: N) => string = String): string {
  if (min !== undefined && max !== undefined) return ` from ${show(min)} to ${show(max)}`;
  if (min !== undefined) return ` ≥ ${show(min)}`;
  if (max !== undefined) return ` ≤ ${show(max)}`;
  return "";
}

function inRange<N extends number | bigint>(v: N, { min, max }: Range<N>): boolean {
  return (min === undefined || v >= min) && (max === undefined || v <= max);
}

const INT_TEXT = /^[-+]?\d+$/;
const NUMBER_TEXT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const TRUE_TEXT = new Set(["true", "1", "yes", "on"]);
const FALSE_TEXT = new Set(["false", "0", "no", "off"]);
const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;
const URL_PROTOCOLS = ["http", "https", "ws", "wss"] as const;
type UrlProtocol = (typeof URL_PROTOCOLS)[number];

function text(raw: unknown): string | undefined {
  return typeof raw === "string" ? raw.trim() : undefined;
}

function stringKind(options: { readonly pattern?: RegExp; readonly allowEmpty?: boolean } = {}): FieldKind<string> {
  const { pattern, allowEmpty = false } = options;
  return {
    name: "string",
    expected: pattern ? `a string matching ${pattern}` : allowEmpty ? "a string" : "a non-empty string",
    placeholder: "<string>",
    parse: (raw) => {
      if (typeof raw !== "string" || (!allowEmpty && raw === "") || (pattern !== undefined && !pattern.test(raw))) return bad();
      return ok(raw);
    },
    show: (v) => JSON.stringify(v),
  };
}

function urlKind(options: { readonly protocols?: readonly UrlProtocol[] } = {}): FieldKind<string> {
  const { protocols = URL_PROTOCOLS } = options;
  return {
    name: "url",
    expected: `a URL (${protocols.join(", ")})`,
    placeholder: "<url>",
    parse: (raw) => {
      const s = text(raw);
      if (s === undefined) return bad();
      let url: URL;
      try {
        url = new URL(s);
      } catch {
        return bad();
      }
      if (!(protocols as readonly string[]).includes(url.protocol.slice(0, -1))) return bad(`protocol ${url.protocol} is not allowed`);
      return ok(s);
    },
    show: (v) => v,
  };
}

/** A JS number: an integer (safe) or any finite number, in range. */
function numberKind(integer: boolean, range: Range<number> = {}): FieldKind<number> {
  const pattern = integer ? INT_TEXT : NUMBER_TEXT;
  const fits = integer ? Number.isSafeInteger : Number.isFinite;
  return {
    name: integer ? "int" : "number",
    expected: `${integer ? "an integer" : "a number"}${rangeText(range)}`,
    placeholder: integer ? "<int>" : "<number>",
    parse: (raw) => {
      const s = text(raw);
      const v = typeof raw === "number" ? raw : s !== undefined && pattern.test(s) ? Number(s) : NaN;
      return fits(v) && inRange(v, range) ? ok(v) : bad();
    },
    show: String,
  };
}

function boolKind(): FieldKind<boolean> {
  return {
    name: "bool",
    expected: "a boolean (true/false, 1/0, yes/no, on/off)",
    placeholder: "",
    isBool: true,
    parse: (raw) => {
      if (typeof raw === "boolean") return ok(raw);
      const s = text(raw)?.toLowerCase();
      if (s !== undefined && TRUE_TEXT.has(s)) return ok(true);
      if (s !== undefined && FALSE_TEXT.has(s)) return ok(false);
      return bad();
    },
    show: String,
  };
}

function bigintKind(range: Range<bigint> = {}): FieldKind<bigint> {
  return {
    name: "bigint",
    expected: `an integer${rangeText(range)}`,
    placeholder: "<int>",
    parse: (raw) => {
      const s = text(raw);
      let v: bigint | undefined;
      if (typeof raw === "bigint") v = raw;
      else if (typeof raw === "number" && Number.isSafeInteger(raw)) v = BigInt(raw);
      else if (s !== undefined && INT_TEXT.test(s)) v = BigInt(s);
      return v !== undefined && inRange(v, range) ? ok(v) : bad();
    },
    show: String,
  };
}


/** An amount of ETH as wei: "1.5", "1.5 ether", "1500000000000000000 wei"; from a file also a JSON number of ETH. */
function etherKind(range: Range<bigint> = { min: 0n }): FieldKind<bigint> {
  const ether = (v: bigint) => `${formatEther(v)} ETH`;
  return {
    name: "ether",
    expected: `an amount in ETH ("1.5", "0.01eth", "0.01 ether") or wei ("1000wei")${rangeText(range, ether)}`,
    placeholder: "<eth>",
    parse: (raw) => {
      if (typeof raw === "bigint") return inRange(raw, range) ? ok(raw) : bad();
      const s = typeof raw === "number" && Number.isFinite(raw) ? String(raw) : text(raw);
      if (s === undefined) return bad();
      const amount = parseAmount(s);
      if ("problem" in amount) return bad(amount.problem === "not an amount" ? undefined : amount.problem);
      return inRange(amount.wei, range) ? ok(amount.wei) : bad();
    },
    show: ether,
  };
}

function addressKind(): FieldKind<Address> {
  return {
    name: "address",
    expected: "an address (0x + 40 hex digits; in mixed case, a valid checksum)",
    placeholder: "<address>",
    parse: (raw) => {
      const s = text(raw);
      if (s === undefined) return bad();
      if (isAddress(s)) return ok(getAddress(s));
      return isAddress(s, { strict: false }) ? bad("bad checksum") : bad();
    },
    show: (v) => v,
  };
}

function privateKeyKind(): FieldKind<Hex> {
  return {
    name: "privateKey",
    expected: "a private key (0x + 64 hex digits)",
    placeholder: "<key>",
    parse: (raw) => {
      const s = text(raw);
      if (s === undefined || !PRIVATE_KEY.test(s)) return bad();
      if (/^0x0+$/.test(s)) return bad("the zero key");
      return ok(s.toLowerCase() as Hex);
    },
    show: () => "<hidden>",
  };
}

function pathKind(what: "file" | "directory"): FieldKind<string> {
  return {
    name: what,
    expected: `a path to an existing ${what}`,
    placeholder: "<path>",
    parse: (raw, { baseDir }) => {
      const s = text(raw);
      if (s === undefined || s === "") return bad();
      const resolved = path.resolve(baseDir, s);
      let stat: fs.Stats;
      try {
        stat = fs.statSync(resolved);
      } catch {
        return bad(`${resolved} does not exist`);
      }
      if (what === "file" ? !stat.isFile() : !stat.isDirectory()) return bad(`${resolved} is not a ${what}`);
      return ok(resolved);
    },
    show: (v) => v,
  };
}

function enumKind<const V extends readonly [string, ...string[]]>(values: V): FieldKind<V[number]> {
  return {
    name: "enum",
    expected: `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`,
    placeholder: `<${values.join("|")}>`,
    parse: (raw) => {
      const s = text(raw);
      return s !== undefined && (values as readonly string[]).includes(s) ? ok(s as V[number]) : bad();
    },
    show: (v) => v,
    suggest: (raw) => closest(raw, values),
  };
}

/** A list: comma-separated in the environment and flags, a JSON array in the file. */
function listKind<T>(item: Field<T, boolean>): FieldKind<readonly T[]> {
  const { kind } = item;
  return {
    name: "list",
    expected: `a list (comma-separated, or a JSON array in the file), each ${kind.expected}`,
    placeholder: `${kind.placeholder.replace(/>$/, "")},…>`,
    parse: (raw, context) => {
      let items: unknown[];
      if (Array.isArray(raw)) items = raw;
      else if (typeof raw === "string" && (context.source === "env" || context.source === "flag")) {
        items = raw.trim() === "" ? [] : raw.split(",").map((s) => s.trim());
      } else return bad();
      const out: T[] = [];
      for (let i = 0; i < items.length; i++) {
        const r = kind.parse(items[i], context);
        if (!r.ok) {
          const given = item.settings.secret ? "<hidden>" : showGiven(items[i]);
          return bad(`item ${i + 1} (${given}) is not ${kind.expected}${r.detail === undefined ? "" : `: ${r.detail}`}`);
        }
        out.push(r.value);
      }
      return ok(out);
    },
    show: (v) => v.map(kind.show).join(","),
  };
}

/** The field builders. */
export const field = {
  string: (options?: { readonly pattern?: RegExp; readonly allowEmpty?: boolean }) => new Field(stringKind(options)),
  /** http, https, ws or wss unless `protocols` narrows it. */
  url: (options?: { readonly protocols?: readonly UrlProtocol[] }) => new Field(urlKind(options)),
  int: (range?: Range<number>) => new Field(numberKind(true, range)),
  number: (range?: Range<number>) => new Field(numberKind(false, range)),
  bool: () => new Field(boolKind()),
  /** An integer of any size: block numbers, wei. */
  bigint: (range?: Range<bigint>) => new Field(bigintKind(range)),
  /** An amount of ETH, loaded as wei; at least 0 unless `min` says otherwise. */
  ether: (range?: Range<bigint>) => new Field(etherKind(range)),
  /** Loaded checksummed. */
  address: () => new Field(addressKind()),
  /** Loaded lower case; make it `.secret()`. */
  privateKey: () => new Field(privateKeyKind()),
  /** Must exist; loaded as an absolute path. */
  file: () => new Field(pathKind("file")),
  /** Must exist; loaded as an absolute path. */
  dir: () => new Field(pathKind("directory")),
  enum: <const V extends readonly [string, ...string[]]>(values: V) => new Field(enumKind(values)),
  list: <T>(item: Field<T, boolean>) => new Field(listKind(item)),
};

// ---------------------------------------------------------------------------------------------
// Loading

export interface LoadConfigOptions {
  /** Default process.argv.slice(2). */
  readonly argv?: readonly string[];
  /** Default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default "REFUTE_". */
  readonly envPrefix?: string;
  /** A config file read when neither --config nor <prefix>CONFIG names one. */
  readonly file?: string;
  /** Default process.cwd(). */
  readonly cwd?: string;
}

interface Candidate {
  readonly raw: unknown;
  readonly source: ConfigSource;
  readonly origin: string;
  readonly baseDir: string;
}

const SOURCE_RANK: Readonly<Record<ConfigSource, number>> = { default: 0, file: 1, env: 2, flag: 3 };
const KEY = /^[a-z][a-zA-Z0-9]*$/;

/** `rpcUrl` → `rpc-url`. */
export function flagName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

/** `rpcUrl` → `REFUTE_RPC_URL`. */
export function envName(key: string, envPrefix = "REFUTE_"): string {
  return envPrefix + flagName(key).replace(/-/g, "_").toUpperCase();
}

/** True when argv asks for the help text (`--help`, `-h`); check it before loadConfig. */
export function wantsHelp(argv: readonly string[] = process.argv.slice(2)): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/** Loads and checks the configuration; throws one ConfigError listing every problem. */
export function loadConfig<S extends Schema>(schema: S, options: LoadConfigOptions = {}): ConfigOf<S> {
  const { argv = process.argv.slice(2), env = process.env, envPrefix = "REFUTE_", cwd = process.cwd() } = options;
  const keys = Object.keys(schema);
  for (const k of keys) {
    if (!KEY.test(k)) throw new TypeError(`loadConfig: schema key ${JSON.stringify(k)} must be camelCase (${KEY})`);
    if (k === "config" || k === "help") throw new TypeError(`loadConfig: schema key "${k}" is reserved for --${k}`);
  }

  const problems: ConfigProblem[] = [];
  const best = new Map<string, Candidate>();
  const offer = (key: string, c: Candidate) => {
    const held = best.get(key);
    if (held === undefined || SOURCE_RANK[c.source] >= SOURCE_RANK[held.source]) best.set(key, c);
  };

  // Command line.
  const byFlag = new Map(keys.map((k) => [flagName(k), k]));
  const flags = parseArgv(argv, byFlag, schema, problems);
  for (const f of flags.values) offer(f.key, { raw: f.raw, source: "flag", origin: f.origin, baseDir: cwd });

  // Environment.
  const configVar = `${envPrefix}CONFIG`;
  const byEnv = new Map(keys.map((k) => [envName(k, envPrefix), k]));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(envPrefix) || name === configVar || value === undefined || value === "") continue;
    const key = byEnv.get(name);
    if (key === undefined) {
      problems.push({ message: `unknown environment variable ${name}${didYouMean(name, [...byEnv.keys(), configVar])}` });
      continue;
    }
    offer(key, { raw: value, source: "env", origin: name, baseDir: cwd });
  }

  // Config file.
  const fileArg = flags.configPath ?? (env[configVar] || undefined) ?? options.file;
  if (fileArg !== undefined) {
    const file = path.resolve(cwd, fileArg);
    const content = readConfigFile(file, problems);
    if (content !== undefined) {
      for (const [key, raw] of Object.entries(content)) {
        if (!Object.hasOwn(schema, key)) {
          problems.push({ message: `unknown key ${JSON.stringify(key)} in config file ${file}${didYouMean(key, keys, JSON.stringify)}` });
          continue;
        }
        if (raw !== null) offer(key, { raw, source: "file", origin: file, baseDir: path.dirname(file) });
      }
    }
  }

  // Defaults, then every key's winning value.
  const config: Record<string, unknown> = {};
  for (const key of keys) {
    const { kind, settings } = schema[key];
    if (settings.default !== undefined) offer(key, { raw: settings.default.value, source: "default", origin: "default", baseDir: cwd });
    const c = best.get(key);
    if (c === undefined) {
      if (settings.optional) config[key] = undefined;
      else problems.push({ key, message: `required, not set: use --${flagName(key)}, ${envName(key, envPrefix)} or "${key}" in the config file` });
      continue;
    }
    const r = kind.parse(c.raw, { source: c.source, baseDir: c.baseDir });
    if (r.ok) {
      config[key] = r.value;
      continue;
    }
    const given = settings.secret ? "<hidden>" : showGiven(c.raw);
    const hint = settings.secret || typeof c.raw !== "string" ? undefined : kind.suggest?.(c.raw.trim());
    const detail = r.detail === undefined || settings.secret ? "" : ` (${r.detail})`;
    problems.push({
      key,
      source: c.source,
      origin: c.origin,
      message: `expected ${kind.expected}, got ${given}${detail}${hint === undefined ? "" : `; did you mean ${JSON.stringify(hint)}?`}`,
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config) as ConfigOf<S>;
}

interface ParsedArgv {
  readonly values: { readonly key: string; readonly raw: unknown; readonly origin: string }[];
  readonly configPath?: string;
}

/** Flags: `--name value`, `--name=value`, booleans `--name`, `--no-name`, `--name=false`; `--config <path>`; `--help` is left to wantsHelp. */
function parseArgv(argv: readonly string[], byFlag: ReadonlyMap<string, string>, schema: Schema, problems: ConfigProblem[]): ParsedArgv {
  const values: { key: string; raw: unknown; origin: string }[] = [];
  let configPath: string | undefined;
  const known = ["config", "help", ...byFlag.keys()].map((n) => `--${n}`);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      for (const rest of argv.slice(i + 1)) problems.push({ message: `unexpected argument ${JSON.stringify(rest)}: options are --name value` });
      break;
    }
    if (arg === "--help" || arg === "-h") continue;
    if (!arg.startsWith("--")) {
      problems.push({ message: `unexpected argument ${JSON.stringify(arg)}${arg.startsWith("-") ? didYouMean(arg, known) : ": options are --name value"}` });
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const takeValue = (): string | undefined => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) {
        problems.push({ message: `--${name} needs a value` });
        return undefined;
      }
      i++;
      return next;
    };
    if (name === "config") {
      configPath = takeValue() ?? configPath;
      continue;
    }
    const key = byFlag.get(name);
    if (key !== undefined) {
      if (schema[key].kind.isBool) values.push({ key, raw: inline ?? true, origin: `--${name}` });
      else {
        const v = takeValue();
        if (v !== undefined) values.push({ key, raw: v, origin: `--${name}` });
      }
      continue;
    }
    const negated = name.startsWith("no-") ? byFlag.get(name.slice(3)) : undefined;
    if (negated !== undefined && schema[negated].kind.isBool) {
      if (inline !== undefined) problems.push({ message: `--${name} takes no value` });
      else values.push({ key: negated, raw: false, origin: `--${name}` });
      continue;
    }
    problems.push({ message: `unknown flag --${name}${didYouMean(`--${name}`, known)}` });
    if (inline === undefined && argv[i + 1] !== undefined && !argv[i + 1].startsWith("-")) i++; // its value, most likely
  }
  return { values, configPath };
}

function readConfigFile(file: string, problems: ConfigProblem[]): Record<string, unknown> | undefined {
  let body: string;
  try {
    body = fs.readFileSync(file, "utf8");
  } catch (error) {
    problems.push({ message: `cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
    return undefined;
  }
  let content: unknown;
  try {
    content = JSON.parse(body);
  } catch (error) {
    problems.push({ message: `config file ${file} is not valid JSON: ${(error as Error).message}` });
    return undefined;
  }
  if (typeof content !== "object" || content === null || Array.isArray(content)) {
    problems.push({ message: `config file ${file} must hold a JSON object, got ${Array.isArray(content) ? "an array" : showGiven(content)}` });
    return undefined;
  }
  return content as Record<string, unknown>;
}

function showGiven(raw: unknown): string {
  const s = typeof raw === "string" ? JSON.stringify(raw) : stringifyJson(raw);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

// ---------------------------------------------------------------------------------------------
// Suggestions, help, redaction

function didYouMean(given: string, candidates: readonly string[], show: (s: string) => string = (s) => s): string {
  const c = closest(given, candidates);
  return c === undefined ? "" : ` (did you mean ${show(c)}?)`;
}


export interface HelpOptions {
  /** The command in the usage line. Default "refute". */
  readonly command?: string;
  /** A paragraph under the usage line. */
  readonly summary?: string;
  /** Default "REFUTE_". */
  readonly envPrefix?: string;
}

/** The --help text: every option with its flag, variable, default or "required", and description. */
export function helpText(schema: Schema, options: HelpOptions = {}): string {
  const { command = "refute", summary, envPrefix = "REFUTE_" } = options;
  const entries: [string, string, string][] = [
    ["--config <path>", `${envPrefix}CONFIG`, "A JSON file with any of the options below, under their camelCase keys."],
    ["--help", "", "Print this text."],
  ];
  for (const [key, { kind, settings }] of Object.entries(schema)) {
    const flag = kind.isBool ? `--[no-]${flagName(key)}` : `--${flagName(key)} ${kind.placeholder}`;
    const when =
      settings.default !== undefined
        ? `default ${settings.secret ? "<hidden>" : kind.show(settings.default.value)}`
        : settings.optional
          ? "optional"
          : "required";
    const description = settings.description === undefined ? undefined : /[.!?)]$/.test(settings.description) ? settings.description : `${settings.description}.`;
    const about = [description, `${capitalise(kind.expected)}; ${when}.`].filter(Boolean).join(" ");
    entries.splice(entries.length - 1, 0, [flag, envName(key, envPrefix), about]);
  }
  const width = Math.max(...entries.map(([f]) => f.length));
  return [
    `Usage: ${command} [options]`,
    ...(summary === undefined ? [] : ["", summary]),
    "",
    `Each option is taken from, in increasing priority: its default, the config file (key "camelCase"), the environment (${envPrefix}NAME) and the command line (--name value).`,
    "",
    "Options:",
    ...entries.flatMap(([flag, variable, about]) => [`  ${flag.padEnd(width)}  ${variable}`.trimEnd(), `      ${about}`]),
    "",
  ].join("\n");
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The configuration with secrets replaced by "<hidden>": fit to log at start or show in /status. */
export function redactConfig<S extends Schema>(schema: S, config: ConfigOf<S>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(schema)) {
    const value = (config as Record<string, unknown>)[key];
    out[key] = schema[key].settings.secret && value !== undefined ? "<hidden>" : value;
  }
  return out;
}

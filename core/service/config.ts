import fs from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { type Address, formatEther, getAddress, type Hex, isAddress } from "viem";
import { z } from "zod";
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
 *
 * The libraries do the parts they are made for: each field's value is checked by a zod schema,
 * the command line is read and the help laid out by commander. What is ours is what neither does:
 * the four sources merged with the origin of each value kept for the messages, the camelCase key
 * naming its flag, variable and file key, and the one error listing every problem.
 */

export type ConfigSource = "default" | "file" | "env" | "flag";

export interface ParseContext {
  readonly source: ConfigSource;
  /** Relative paths resolve against it: the config file's folder for file values, else the working directory. */
  readonly baseDir: string;
}

/**
 * What a field accepts: a zod schema over the raw value, which is text (env, flags), JSON (file)
 * or the field's own type (defaults). A custom issue's message is shown after the value as what
 * was wrong beyond "expected …"; other issues add nothing to `expected`.
 */
export interface FieldKind<T> {
  /** "an integer from 0 to 65535": completes "expected …". */
  readonly expected: string;
  /** The value's name in the help text: `--port <int>`. */
  readonly placeholder: string;
  readonly schema: (context: ParseContext) => z.ZodType<T>;
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

function withRange<S>(schema: S, { min, max }: Range<number> | Range<bigint>): S {
  type Bounded = { min(v: unknown): Bounded; max(v: unknown): Bounded };
  let s = schema as unknown as Bounded;
  if (min !== undefined) s = s.min(min);
  if (max !== undefined) s = s.max(max);
  return s as unknown as S;
}

const INT_TEXT = /^[-+]?\d+$/;
const NUMBER_TEXT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const TRUE_TEXT = new Set(["true", "1", "yes", "on"]);
const FALSE_TEXT = new Set(["false", "0", "no", "off"]);
const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;
const URL_PROTOCOLS = ["http", "https", "ws", "wss"] as const;
type UrlProtocol = (typeof URL_PROTOCOLS)[number];

/** Text from the environment or a flag, trimmed; other values as they are. */
const trimmed = (raw: unknown) => (typeof raw === "string" ? raw.trim() : raw);
/** Text in `pattern` converted by `to`; other values as they are (the schema then refuses text). */
const fromText = <T>(pattern: RegExp, to: (s: string) => T) => (raw: unknown) => {
  const s = trimmed(raw);
  return typeof s === "string" && pattern.test(s) ? to(s) : s;
};

function stringKind(options: { readonly pattern?: RegExp; readonly allowEmpty?: boolean } = {}): FieldKind<string> {
  const { pattern, allowEmpty = false } = options;
  let schema = z.string();
  if (!allowEmpty) schema = schema.min(1);
  if (pattern !== undefined) schema = schema.regex(pattern);
  return {
    expected: pattern ? `a string matching ${pattern}` : allowEmpty ? "a string" : "a non-empty string",
    placeholder: "<string>",
    schema: () => schema,
    show: (v) => JSON.stringify(v),
  };
}

function urlKind(options: { readonly protocols?: readonly UrlProtocol[] } = {}): FieldKind<string> {
  const { protocols = URL_PROTOCOLS } = options;
  const schema = z.preprocess(trimmed, z.url()).check((ctx) => {
    const { protocol } = new URL(ctx.value);
    if (!(protocols as readonly string[]).includes(protocol.slice(0, -1))) ctx.issues.push({ code: "custom", message: `protocol ${protocol} is not allowed`, input: ctx.value });
  });
  return { expected: `a URL (${protocols.join(", ")})`, placeholder: "<url>", schema: () => schema, show: (v) => v };
}

/** A JS number: an integer (safe) or any finite number, in range. */
function numberKind(integer: boolean, range: Range<number> = {}): FieldKind<number> {
  const schema = z.preprocess(fromText(integer ? INT_TEXT : NUMBER_TEXT, Number), withRange(integer ? z.int() : z.number(), range));
  return { expected: `${integer ? "an integer" : "a number"}${rangeText(range)}`, placeholder: integer ? "<int>" : "<number>", schema: () => schema, show: String };
}

function boolKind(): FieldKind<boolean> {
  const toBool = (raw: unknown) => {
    const s = trimmed(raw);
    if (typeof s !== "string") return s;
    const lower = s.toLowerCase();
    return TRUE_TEXT.has(lower) ? true : FALSE_TEXT.has(lower) ? false : s;
  };
  const schema = z.preprocess(toBool, z.boolean());
  return { expected: "a boolean (true/false, 1/0, yes/no, on/off)", placeholder: "", isBool: true, schema: () => schema, show: String };
}

function bigintKind(range: Range<bigint> = {}): FieldKind<bigint> {
  const toBigint = (raw: unknown) => (typeof raw === "number" && Number.isSafeInteger(raw) ? BigInt(raw) : fromText(INT_TEXT, BigInt)(raw));
  const schema = z.preprocess(toBigint, withRange(z.bigint(), range));
  return { expected: `an integer${rangeText(range)}`, placeholder: "<int>", schema: () => schema, show: String };
}

/** An amount of ETH as wei in the one syntax of core/amount.ts; from a file also a JSON number of ETH. */
function etherKind(range: Range<bigint> = { min: 0n }): FieldKind<bigint> {
  const ether = (v: bigint) => `${formatEther(v)} ETH`;
  const toWei = (raw: unknown, ctx: z.RefinementCtx) => {
    const s = typeof raw === "number" && Number.isFinite(raw) ? String(raw) : raw;
    if (typeof s !== "string") return s;
    const amount = parseAmount(s);
    if (!("problem" in amount)) return amount.wei;
    if (amount.problem !== "not an amount") ctx.addIssue({ code: "custom", message: amount.problem });
    return s;
  };
  const schema = z.preprocess(toWei, withRange(z.bigint(), range));
  return {
    expected: `an amount in ETH ("1.5", "0.01eth", "0.01 ether") or wei ("1000wei")${rangeText(range, ether)}`,
    placeholder: "<eth>",
    schema: () => schema,
    show: ether,
  };
}

function addressKind(): FieldKind<Address> {
  const schema = z.preprocess(trimmed, z.string().regex(/^0x[0-9a-fA-F]{40}$/)).transform((s, ctx) => {
    if (isAddress(s)) return getAddress(s);
    ctx.addIssue({ code: "custom", message: "bad checksum" });
    return z.NEVER;
  });
  return { expected: "an address (0x + 40 hex digits; in mixed case, a valid checksum)", placeholder: "<address>", schema: () => schema, show: (v) => v };
}

function privateKeyKind(): FieldKind<Hex> {
  const schema = z
    .preprocess(trimmed, z.string().regex(PRIVATE_KEY))
    .refine((s) => !/^0x0+$/.test(s), "the zero key")
    .transform((s) => s.toLowerCase() as Hex);
  return { expected: "a private key (0x + 64 hex digits)", placeholder: "<key>", schema: () => schema, show: () => "<hidden>" };
}

/**
 * A path, loaded absolute: relative values resolve against the config file's folder (file values)
 * or the working directory. `exists`: it must exist as a `what`; otherwise it may be missing (a
 * folder the program creates) but not be something else.
 */
export function pathKind(what: "file" | "directory", exists = true): FieldKind<string> {
  const schema = ({ baseDir }: ParseContext) =>
    z.preprocess(trimmed, z.string().min(1)).transform((s, ctx) => {
      const resolved = path.resolve(baseDir, s);
      const stat = fs.statSync(resolved, { throwIfNoEntry: false });
      if (stat === undefined && exists) ctx.addIssue({ code: "custom", message: `${resolved} does not exist` });
      else if (stat !== undefined && (what === "file" ? !stat.isFile() : !stat.isDirectory())) ctx.addIssue({ code: "custom", message: `${resolved} is not a ${what}` });
      return resolved;
    });
  return { expected: `a path to ${exists ? "an existing" : "a"} ${what}${exists ? "" : " (created if missing)"}`, placeholder: "<path>", schema, show: (v) => v };
}

function enumKind<const V extends readonly [string, ...string[]]>(values: V): FieldKind<V[number]> {
  const schema = z.preprocess(trimmed, z.enum(values)) as unknown as z.ZodType<V[number]>;
  return {
    expected: `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`,
    placeholder: `<${values.join("|")}>`,
    schema: () => schema,
    show: (v) => v,
    suggest: (raw) => closest(raw, values),
  };
}

/** A list: comma-separated in the environment and flags, a JSON array in the file. */
function listKind<T>(item: Field<T, boolean>): FieldKind<readonly T[]> {
  const { kind } = item;
  const schema = (context: ParseContext) => {
    const itemSchema = kind.schema(context);
    const split = (raw: unknown) => (typeof raw === "string" && (context.source === "env" || context.source === "flag") ? (raw.trim() === "" ? [] : raw.split(",").map((s) => s.trim())) : raw);
    return z.preprocess(split, z.array(z.unknown())).transform((items, ctx) => {
      const out: T[] = [];
      for (const [i, raw] of items.entries()) {
        const r = itemSchema.safeParse(raw);
        if (r.success) {
          out.push(r.data);
          continue;
        }
        const given = item.settings.secret ? "<hidden>" : showGiven(raw);
        const detail = customDetail(r.error);
        ctx.addIssue({ code: "custom", message: `item ${i + 1} (${given}) is not ${kind.expected}${detail === undefined ? "" : `: ${detail}`}` });
        return z.NEVER;
      }
      return out;
    });
  };
  return {
    expected: `a list (comma-separated, or a JSON array in the file), each ${kind.expected}`,
    placeholder: `${kind.placeholder.replace(/>$/, "")},…>`,
    schema,
    show: (v) => v.map(kind.show).join(","),
  };
}

/** What a failed check says beyond "expected …": its first custom issue's message. */
function customDetail(error: z.ZodError): string | undefined {
  return error.issues.find((i) => i.code === "custom")?.message;
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
  const flags = parseArgv(argv, schema, envPrefix, problems);
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
    const r = kind.schema({ source: c.source, baseDir: c.baseDir }).safeParse(c.raw);
    if (r.success) {
      config[key] = r.data;
      continue;
    }
    const given = settings.secret ? "<hidden>" : showGiven(c.raw);
    const hint = settings.secret || typeof c.raw !== "string" ? undefined : kind.suggest?.(c.raw.trim());
    const detail = settings.secret ? undefined : customDetail(r.error);
    problems.push({
      key,
      source: c.source,
      origin: c.origin,
      message: `expected ${kind.expected}, got ${given}${detail === undefined ? "" : ` (${detail})`}${hint === undefined ? "" : `; did you mean ${JSON.stringify(hint)}?`}`,
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config) as ConfigOf<S>;
}

interface ParsedArgv {
  readonly values: { readonly key: string; readonly raw: unknown; readonly origin: string }[];
  readonly configPath?: string;
}

/**
 * The command line, read by commander: `--name value`, `--name=value`, booleans `--name`,
 * `--no-name`, `--name=value`; `--config <path>`; `--help` is left to wantsHelp. Unlike a
 * commander program it stops at no problem: each unknown flag and stray argument is one more.
 */
function parseArgv(argv: readonly string[], schema: Schema, envPrefix: string, problems: ConfigProblem[]): ParsedArgv {
  const end = argv.indexOf("--");
  const args = argv.filter((a, i) => (end === -1 || i < end ? a !== "--help" && a !== "-h" : true));
  const command = commandFor(schema, { envPrefix });
  const known = command.options.map((o) => o.long as string);
  // A value-taking flag last on the line has no value (commander would stop at it).
  const last = args.at(-1);
  const missing = last !== undefined && command.options.some((o) => o.long === last && o.required) ? args.pop() : undefined;
  const { operands, unknown } = command.parseOptions(args);
  // commander keeps each unknown flag with the arguments after it that it did not read; the one
  // right after an unknown flag is most likely its value, the others are stray.
  const stray = [...operands];
  let from = 0;
  let valueAt = -1;
  for (const arg of unknown) {
    const at = args.indexOf(arg, from);
    from = at + 1;
    if (!arg.startsWith("-")) {
      if (at !== valueAt) stray.push(arg);
      continue;
    }
    const [name] = arg.split("=", 1);
    if (arg.includes("=") && known.includes(name)) problems.push({ message: `${name} takes no value` });
    else problems.push({ message: `unknown flag ${name}${didYouMean(name, [...known, "--help"])}` });
    valueAt = arg.includes("=") ? -1 : at + 1;
  }
  if (missing !== undefined) problems.push({ message: `${missing} needs a value` });
  for (const rest of stray) problems.push({ message: `unexpected argument ${JSON.stringify(rest)}: options are --name value` });

  const values: { key: string; raw: unknown; origin: string }[] = [];
  for (const key of Object.keys(schema)) {
    if (command.getOptionValueSource(key) !== "cli") continue;
    const raw: unknown = command.getOptionValue(key);
    values.push({ key, raw, origin: `--${raw === false ? "no-" : ""}${flagName(key)}` });
  }
  const configPath = command.getOptionValueSource("config") === "cli" ? (command.getOptionValue("config") as string) : undefined;
  return { values, configPath };
}

/**
 * The commander command of a schema: it reads the command line and lays out the help. Its defaults
 * and variables are there for the help only; loadConfig reads those sources itself.
 */
function commandFor(schema: Schema, { command = "refute", summary, envPrefix = "REFUTE_" }: HelpOptions): Command {
  const program = new Command(command)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .helpOption("-h, --help", "Print this text.")
    .configureHelp({ helpWidth: 100, sortOptions: false });
  program.description(
    [
      ...(summary === undefined ? [] : [summary, ""]),
      `Each option is taken from, in increasing priority: its default, the config file (key "camelCase"), the environment (${envPrefix}NAME) and the command line (--name value).`,
    ].join("\n"),
  );
  program.addOption(new Option("--config <path>", "A JSON file with any of the options below, under their camelCase keys.").env(`${envPrefix}CONFIG`));
  for (const [key, { kind, settings }] of Object.entries(schema)) {
    const description = settings.description === undefined ? undefined : /[.!?]$/.test(settings.description) ? settings.description : `${settings.description}.`;
    const when = settings.default !== undefined ? "" : settings.optional ? " Optional." : " Required.";
    const option = new Option(`--${flagName(key)} ${kind.isBool ? "[bool]" : kind.placeholder}`, `${[description, `${capitalise(kind.expected)}.`].filter(Boolean).join(" ")}${when}`).env(envName(key, envPrefix));
    if (settings.default !== undefined) option.default(settings.default.value, settings.secret ? "<hidden>" : kind.show(settings.default.value));
    program.addOption(option);
    if (kind.isBool) program.addOption(new Option(`--no-${flagName(key)}`, `Sets --${flagName(key)} false.`));
  }
  return program;
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
  return commandFor(schema, options).helpInformation();
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

import { stringifyJson, toJsonValue } from "./json";

/**
 * Structured logs: one JSON object per line,
 * `{"time":"2025-01-01T00:00:00.000Z","level":"info","service":"node","msg":"job served","jobId":"0x…"}`,
 * or, for a person at a terminal, the same record as one readable line:
 * `12:00:00.000 INFO  node: job served jobId=0x…`.
 * Field values go through `toJsonValue` (bigints as decimal strings, bytes as 0x-hex, errors as
 * `{ name, message, … }`), so a log call never throws.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Readonly<Record<string, unknown>>;
export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** True when a call at `level` would write (to skip building costly fields). */
  isEnabled(level: LogLevel): boolean;
  /** A logger that adds `fields` to every line; a call's own fields win over them. */
  child(fields: LogFields): Logger;
}

export interface CreateLoggerOptions {
  /** Written on every line as `service`. */
  readonly service: string;
  /** Lines below this level are dropped. Default "info". */
  readonly level?: LogLevel;
  /** Receives each line, newline included. Default: process.stdout. */
  readonly write?: (line: string) => void;
  /** The clock for `time`. Default: the system clock. */
  readonly now?: () => Date;
  /** "json" (default) for machines, "pretty" for a terminal. */
  readonly format?: LogFormat;
}

/** One parsed log line. */
export interface LogRecord {
  readonly time: string;
  readonly level: LogLevel;
  readonly service: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

const RESERVED = new Set(["time", "level", "service", "msg"]);

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const { service, level = "info", write = (line: string) => void process.stdout.write(line), now = () => new Date(), format = "json" } = options;
  if (!isLogLevel(level)) throw new TypeError(`createLogger: level must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(level)}`);
  return makeLogger({ service, min: LOG_LEVELS.indexOf(level), write, now, pretty: format === "pretty" }, {});
}

interface Sink {
  readonly service: string;
  readonly min: number;
  readonly write: (line: string) => void;
  readonly now: () => Date;
  readonly pretty: boolean;
}

function makeLogger(sink: Sink, bound: LogFields): Logger {
  const log = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) < sink.min) return;
    sink.write(formatLine(sink, level, msg, fields === undefined ? bound : { ...bound, ...fields }));
  };
  return {
    level: LOG_LEVELS[sink.min],
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    isEnabled: (level) => LOG_LEVELS.indexOf(level) >= sink.min,
    child: (fields) => makeLogger(sink, { ...bound, ...fields }),
  };
}

/** The line for one call; a field named like a reserved key is written with a trailing "_". */
function formatLine(sink: Sink, level: LogLevel, msg: string, fields: LogFields): string {
  const record: Record<string, unknown> = { time: sink.now().toISOString(), level, service: sink.service, msg: String(msg) };
  const converted = toJsonValue(fields) as Record<string, unknown>;
  for (const [key, value] of Object.entries(converted)) record[RESERVED.has(key) ? `${key}_` : key] = value;
  return sink.pretty ? prettyLine(record) : `${stringifyJson(record)}\n`;
}

/** `HH:MM:SS.mmm LEVEL service: msg key=value …`: strings bare unless they hold a space or quote, the rest as JSON. */
function prettyLine(record: Record<string, unknown>): string {
  const { time, level, service, msg, ...fields } = record;
  const value = (v: unknown) => (typeof v === "string" && !/[\s"=]/.test(v) && v !== "" ? v : stringifyJson(v));
  const rest = Object.entries(fields).map(([k, v]) => ` ${k}=${value(v)}`).join("");
  return `${String(time).slice(11, 23)} ${String(level).toUpperCase().padEnd(5)} ${String(service)}: ${String(msg)}${rest}\n`;
}

/**
 * Reads one line written by a logger (from a child process's output, say): the record, or
 * undefined for a line that is not a JSON log record (a stack trace, a library's own output).
 */
export function parseLogLine(line: string): LogRecord | undefined {
  const text = line.trim();
  if (!text.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.time !== "string" || !isLogLevel(r.level) || typeof r.service !== "string" || typeof r.msg !== "string") return undefined;
  return r as LogRecord;
}

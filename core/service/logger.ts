import { type Logger as PinoLogger, pino } from "pino";
import { prettyFactory } from "pino-pretty";
import { toJsonValue } from "./json";

/**
 * Structured logs on pino: one JSON object per line,
 * `{"level":"info","time":"2025-01-01T00:00:00.000Z","service":"node","jobId":"0x…","msg":"job served"}`,
 * or, for a person at a terminal, the same record as one readable line (pino-pretty):
 * `[12:00:00.000] INFO: node: job served {"jobId":"0x…"}`.
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
  const prettify = format === "pretty" ? prettyFactory({ colorize: false, singleLine: true, translateTime: "SYS:HH:MM:ss.l", ignore: "service", messageFormat: "{service}: {msg}", errorLikeObjectKeys: [] }) : undefined;
  const logger = pino(
    {
      level,
      base: { service },
      messageKey: "msg",
      timestamp: () => `,"time":"${now().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }), bindings: (fields) => toJsonValue(fields) as Record<string, unknown>, log: (fields) => plain(fields) },
    },
    { write: prettify ? (line: string) => write(prettify(line)) : write },
  );
  return wrap(logger);
}

/** Our Logger over a pino logger: message first, fields second; children wrap pino's children. */
function wrap(logger: PinoLogger): Logger {
  const log = (level: LogLevel) => (msg: string, fields?: LogFields) => logger[level](fields ?? {}, String(msg));
  return {
    level: logger.level as LogLevel,
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    isEnabled: (level) => logger.isLevelEnabled(level),
    child: (fields) => wrap(logger.child(fields)),
  };
}

/** Fields as JSON values (bigints as decimal strings, errors as objects); a reserved name gets a trailing "_". */
function plain(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(toJsonValue(fields) as Record<string, unknown>)) out[RESERVED.has(key) ? `${key}_` : key] = value;
  return out;
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

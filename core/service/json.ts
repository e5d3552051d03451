import { toHex } from "../bytes";

/**
 * Turns any value into one that JSON.stringify writes faithfully and without throwing, for the
 * logs and the HTTP API: bigints become decimal strings, byte arrays 0x-hex, errors
 * `{ name, message, … }`, dates ISO strings, objects with toJSON what it returns, Maps objects,
 * Sets arrays, cycles "[Circular]"; functions, symbols and undefined properties are dropped.
 */
export function toJsonValue(value: unknown): unknown {
  return convert(value, new WeakSet(), 0);
}

/** `JSON.stringify(toJsonValue(value))`: one line, never throws. */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(toJsonValue(value)) ?? "null";
}

const MAX_DEPTH = 12;

function convert(value: unknown, seen: WeakSet<object>, depth: number): unknown {
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "string":
    case "boolean":
      return value;
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Uint8Array) return toHex(object);
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
  if (seen.has(object)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Too deep]";
  seen.add(object);
  try {
    if (object instanceof Error) return errorFields(object, seen, depth);
    if (typeof (object as { toJSON?: unknown }).toJSON === "function") {
      try {
        return convert((object as { toJSON(): unknown }).toJSON(), seen, depth + 1);
      } catch {
        return "[toJSON failed]";
      }
    }
    if (Array.isArray(object) || object instanceof Set) return Array.from(object, (v) => convert(v, seen, depth + 1) ?? null);
    if (object instanceof Map) return convertEntries(Array.from(object, ([k, v]) => [String(k), v]), seen, depth);
    return convertEntries(Object.entries(object), seen, depth);
  } finally {
    seen.delete(object); // a value met twice side by side is not a cycle
  }
}

function convertEntries(entries: [string, unknown][], seen: WeakSet<object>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    const c = convert(v, seen, depth + 1);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

/**
 * An error as `{ name, message }`, plus `code`, `details` and `data` when present and its cause
 * the same way. viem errors give their short message (their `message` repeats the metadata
 * lines, the docs link and the version).
 */
function errorFields(error: Error, seen: WeakSet<object>, depth: number): Record<string, unknown> {
  const e = error as Error & { shortMessage?: unknown; code?: unknown; details?: unknown; data?: unknown };
  const out: Record<string, unknown> = {
    name: error.name,
    message: typeof e.shortMessage === "string" && e.shortMessage !== "" ? e.shortMessage : error.message,
  };
  if (typeof e.code === "string" || typeof e.code === "number") out.code = e.code;
  if (typeof e.details === "string" && e.details !== "" && e.details !== out.message) out.details = e.details;
  if (e.data !== undefined) out.data = convert(e.data, seen, depth + 1);
  if (error.cause !== undefined) out.cause = convert(error.cause, seen, depth + 1);
  return out;
}

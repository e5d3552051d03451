import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Log } from "../chain/actor";
import { isGraphEntry } from "../chain/graphModelRegistration";
import { type ModelEntry, folderMismatches } from "../chain/modelRegistration";
import { SERVING_FILES, type ModelFolder, isModelFolderError, readModelFolder, readModelFolderOf } from "../modelFolders";

/**
 * A registered model's files, fetched from the URI its owner registered and checked against the root
 * and shape the registry holds before anything uses them. URIs:
 *
 * - `http://…` / `https://…`: the base of a folder; its files (core/modelFolders.ts SERVING_FILES:
 *   `integer.onnx` for a Dense entry, `program.json` for a graph program's, and `descriptor.json`)
 *   are downloaded into `<cacheDir>/<root without 0x>/` (through a temporary folder renamed into place
 *   only once the files check out, so a broken download never lands in the cache). A cache entry is
 *   re-checked on every use, and discarded and fetched again when it no longer checks out.
 * - `file:///abs/folder` and plain paths (absolute, or relative to `baseDir`): read where they are,
 *   not copied, and checked the same way.
 */

/** Largest file downloaded by default: 256 MiB. */
export const DEFAULT_MAX_MODEL_BYTES = 256 * 1024 * 1024;
/** Longest a download of one file may take by default, ms. */
export const DEFAULT_FETCH_TIMEOUT_MS = 120_000;

export interface FetchModelOptions {
  /** Where downloaded models are kept, one folder per model root; created if missing. */
  readonly cacheDir: string;
  /** Relative path URIs resolve against it (default process.cwd()). */
  readonly baseDir?: string;
  /** Largest size of each downloaded file, bytes (default {@link DEFAULT_MAX_MODEL_BYTES}). */
  readonly maxBytes?: number;
  /** Longest a download of one file may take, ms (default {@link DEFAULT_FETCH_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  /** Told about downloads and discarded cache entries. */
  readonly log?: Log;
}

/** A registered model's files could not be had or are not the model registered; names the id and the URI. */
export class ModelSourceError extends Error {
  override name = "ModelSourceError";
  constructor(
    readonly modelId: bigint,
    readonly uri: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`model ${modelId} (${uri}): ${problem}`, options);
  }
}

type Source = { readonly kind: "http"; readonly base: URL } | { readonly kind: "local"; readonly dir: string };

/**
 * Fetches (or finds in the cache) the folder of `model`, Dense or graph as the entry is, and checks
 * it against its registered root and shape.
 */
export async function fetchModelFolder(model: ModelEntry, options: FetchModelOptions): Promise<ModelFolder> {
  const fail = (problem: string, cause?: unknown): never => {
    throw new ModelSourceError(model.modelId, model.uri, problem, cause === undefined ? undefined : { cause });
  };
  const source = sourceOf(model.uri, options.baseDir ?? process.cwd(), fail);
  if (source.kind === "local") {
    let folder: ModelFolder;
    try {
      folder = readModelFolder(source.dir);
    } catch (e) {
      return fail((e as Error).message, e);
    }
    const mismatches = folderMismatches(model, folder.files);
    return mismatches.length === 0 ? folder : fail(mismatches.join("; "));
  }

  const cacheDir = path.resolve(options.cacheDir);
  const entry = path.join(cacheDir, model.root.slice(2).toLowerCase());
  if (existsSync(entry)) {
    const cached = inspect(model, entry);
    if (typeof cached !== "string") return cached;
    options.log?.warn("cached model files no longer check out; fetching them again", { modelId: model.modelId, dir: entry, problem: cached });
    rmSync(entry, { recursive: true, force: true });
  }

  mkdirSync(cacheDir, { recursive: true });
  const partial = mkdtempSync(path.join(cacheDir, `.partial-${model.root.slice(2, 10)}-`));
  try {
    for (const name of SERVING_FILES[isGraphEntry(model) ? "graph" : "dense"]) {
      const url = new URL(name, source.base);
      writeFileSync(path.join(partial, name), await download(url, options.maxBytes ?? DEFAULT_MAX_MODEL_BYTES, options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, fail));
    }
    const downloaded = inspect(model, partial);
    if (typeof downloaded === "string") return fail(downloaded);
    try {
      renameSync(partial, entry);
    } catch (e) {
      // Another process sharing the cache put the same root in place first: use theirs if it checks out.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EEXIST" && code !== "ENOTEMPTY") throw e;
      const theirs = inspect(model, entry);
      return typeof theirs === "string" ? fail(`the cache entry ${entry} appeared while downloading and does not check out: ${theirs}`) : theirs;
    }
    options.log?.info("fetched model files", { modelId: model.modelId, uri: model.uri, dir: entry });
    return movedTo(downloaded, entry);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

/** The URI as a source, or a refusal naming it. */
function sourceOf(uri: string, baseDir: string, fail: (problem: string, cause?: unknown) => never): Source {
  if (uri.trim() === "") return fail("no URI is registered for the model's files");
  if (!/^[a-z][a-z0-9+.-]*:/i.test(uri)) return { kind: "local", dir: path.resolve(baseDir, uri) };
  let url: URL;
  try {
    url = new URL(uri);
  } catch (e) {
    return fail(`the URI is not a valid URL: ${(e as Error).message}`, e);
  }
  if (url.protocol === "http:" || url.protocol === "https:") {
    if (!url.pathname.endsWith("/")) url.pathname += "/";
    return { kind: "http", base: url };
  }
  if (url.protocol === "file:") {
    try {
      return { kind: "local", dir: fileURLToPath(url) };
    } catch (e) {
      return fail(`the file: URL names no local folder: ${(e as Error).message}`, e);
    }
  }
  return fail(`unsupported URI scheme ${url.protocol} (use http://, https://, file:// or a path)`);
}

/**
 * The folder in `dir` (read as the entry's kind, as it is on disk now) if it is the model registered;
 * else why not (unreadable, inconsistent or another model).
 */
function inspect(model: ModelEntry, dir: string): ModelFolder | string {
  let folder: ModelFolder;
  try {
    folder = readModelFolderOf(isGraphEntry(model) ? "graph" : "dense", dir, true);
  } catch (e) {
    if (!isModelFolderError(e)) throw e;
    // The message names the folder first ("model folder DIR: " or "graph model folder DIR: "); the problem is what follows.
    const marker = `model folder ${dir}: `;
    const at = e.message.indexOf(marker);
    return at < 0 ? e.message : e.message.slice(at + marker.length);
  }
  const mismatches = folderMismatches(model, folder.files);
  return mismatches.length === 0 ? folder : mismatches.join("; ");
}

/** The folder's files as they are after being renamed to `dir` (the same bytes, checked before the rename). */
function movedTo(folder: ModelFolder, dir: string): ModelFolder {
  return folder.kind === "graph" ? { kind: "graph", files: { ...folder.files, dir } } : { kind: "dense", files: { ...folder.files, dir } };
}

/** GETs `url` within `timeoutMs`, refusing a non-2xx answer or a body over `maxBytes`. */
async function download(url: URL, maxBytes: number, timeoutMs: number, fail: (problem: string, cause?: unknown) => never): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(timeoutMs);
  const failed = (e: unknown): never =>
    fail(
      signal.aborted ? `GET ${url} took longer than ${timeoutMs} ms` : `GET ${url} failed: ${(e as Error).message}${(e as Error).cause instanceof Error ? ` (${((e as Error).cause as Error).message})` : ""}`,
      e,
    );
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (e) {
    return failed(e);
  }
  if (!response.ok) {
    await response.body?.cancel();
    return fail(`GET ${url} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`);
  }
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    return fail(`GET ${url}: the file is ${declared} bytes, over the limit of ${maxBytes}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  for (;;) {
    let read: ReadableStreamReadResult<Uint8Array> | undefined;
    try {
      read = await reader?.read();
    } catch (e) {
      return failed(e);
    }
    if (read === undefined || read.done) break;
    size += read.value.length;
    if (size > maxBytes) {
      await reader?.cancel();
      return fail(`GET ${url}: the file is over the limit of ${maxBytes} bytes`);
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks);
}

import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Log } from "../chain/actor";
import { type ModelEntry, modelFileMismatches } from "../chain/modelRegistration";
import { type ModelFiles, ModelFilesError, loadModelDir, readModelDir } from "../modelFiles";

/**
 * A registered model's files, fetched from the URI its owner registered and checked against the root
 * and shape the registry holds before anything uses them. URIs:
 *
 * - `http://…` / `https://…`: the base of a folder; `<base>/integer.onnx` and `<base>/descriptor.json`
 *   are downloaded into `<cacheDir>/<root without 0x>/` (through a temporary folder renamed into place
 *   only once the files check out, so a broken download never lands in the cache). A cache entry is
 *   re-checked on every use, and discarded and fetched again when it no longer checks out.
 * - `file:///abs/folder` and plain paths (absolute, or relative to `baseDir`): read where they are,
 *   not copied, and checked the same way.
 */

/** The files a model folder is made of (core/modelFiles.ts reads them). */
const MODEL_FILE_NAMES = ["integer.onnx", "descriptor.json"] as const;

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

/** Fetches (or finds in the cache) the files of `model` and checks them against its registered root and shape. */
export async function fetchModelFiles(model: ModelEntry, options: FetchModelOptions): Promise<ModelFiles> {
  const fail = (problem: string, cause?: unknown): never => {
    throw new ModelSourceError(model.modelId, model.uri, problem, cause === undefined ? undefined : { cause });
  };
  const source = sourceOf(model.uri, options.baseDir ?? process.cwd(), fail);
  if (source.kind === "local") {
    let files: ModelFiles;
    try {
      files = loadModelDir(source.dir);
    } catch (e) {
      return fail((e as Error).message, e);
    }
    return checked(model, files, fail);
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
    for (const name of MODEL_FILE_NAMES) {
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
    return { ...downloaded, dir: entry };
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

/** `files` if they are the model registered, else a refusal listing every difference. */
function checked(model: ModelEntry, files: ModelFiles, fail: (problem: string) => never): ModelFiles {
  const mismatches = modelFileMismatches(model, files);
  return mismatches.length === 0 ? files : fail(mismatches.join("; "));
}

/** The files in `dir` if they are the model registered; else why not (unreadable, inconsistent or another model). */
function inspect(model: ModelEntry, dir: string): ModelFiles | string {
  let files: ModelFiles;
  try {
    files = readModelDir(dir);
  } catch (e) {
    if (!(e instanceof ModelFilesError)) throw e;
    // The message names the folder first; the problem is what follows.
    const prefix = `model folder ${dir}: `;
    return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  }
  const mismatches = modelFileMismatches(model, files);
  return mismatches.length === 0 ? files : mismatches.join("; ");
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

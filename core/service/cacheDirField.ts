import fs from "node:fs";
import path from "node:path";
import { Field } from "./config";

/** The daemons' model download cache, relative to the working directory. */
export const DEFAULT_MODEL_CACHE = ".refute/models";

/**
 * A configuration field for a folder the daemon creates when missing (field.dir() requires one that
 * exists): loaded as an absolute path, relative values resolved like every path field (a config
 * file's against its folder, the rest against the working directory); refused only when the path is
 * something other than a folder.
 */
export function cacheDirField(): Field<string> {
  return new Field<string>({
    name: "directory",
    expected: "a path to a directory (created if missing)",
    placeholder: "<path>",
    parse: (raw, { baseDir }) => {
      if (typeof raw !== "string" || raw.trim() === "") return { ok: false };
      const resolved = path.resolve(baseDir, raw.trim());
      const stat = fs.statSync(resolved, { throwIfNoEntry: false });
      if (stat !== undefined && !stat.isDirectory()) return { ok: false, detail: `${resolved} is not a directory` };
      return { ok: true, value: resolved };
    },
    show: (v) => v,
  });
}

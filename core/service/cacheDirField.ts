import { Field, pathKind } from "./config";

/** The daemons' model download cache, relative to the working directory. */
export const DEFAULT_MODEL_CACHE = ".refute/models";

/**
 * A configuration field for a folder the daemon creates when missing (field.dir() requires one that
 * exists): loaded as an absolute path, relative values resolved like every path field (a config
 * file's against its folder, the rest against the working directory); refused only when the path is
 * something other than a folder.
 */
export function cacheDirField(): Field<string> {
  return new Field(pathKind("directory", false));
}

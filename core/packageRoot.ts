import { existsSync } from "node:fs";
import path from "node:path";

/**
 * The folder of Refute's package.json: the repository root when the sources run under ts-node, and
 * the installed package's root when its compiled copy runs from dist/ (npm run build). Files the
 * code reads at run time (the reference model, the compiled contracts) are found from here, so the
 * same code works in both places.
 */
export const PACKAGE_ROOT = findPackageRoot(__dirname);

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

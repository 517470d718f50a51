import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root, from source (tests) or from dist (benchmarks). */
export const REPO_ROOT = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

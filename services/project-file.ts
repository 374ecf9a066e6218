import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A file shipped with the project (e.g. `storage-config/…`), found from the calling module whether it runs from
 * the sources or from the compiled `dist/` (one folder deeper): the nearest ancestor folder that holds it.
 */
export function projectFile(fromModuleUrl: string, relative: string): string {
  let dir = path.dirname(fileURLToPath(fromModuleUrl));
  for (;;) {
    const candidate = path.join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`project file ${relative} not found above ${fromModuleUrl}`);
    dir = parent;
  }
}

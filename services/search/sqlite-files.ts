import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The index's files in its folder: `CURRENT` names the live `index-<stamp>.sqlite`; its item catalogue is
 * `catalogue-<stamp>.sqlite` (same stamp). A rebuild writes new files beside the live ones and renames a new
 * CURRENT over the old one (atomic), so a reader sees the old index or the new one, never half of one.
 */
export interface IndexFiles {
  /** The live index file's name; when there is no CURRENT yet, one is made naming a new file. */
  currentName(): string;
  /** Changes whenever CURRENT is replaced (its inode and mtime); throws when there is no CURRENT. */
  currentStamp(): string;
  /** A new index file's name, unique to this call. */
  newIndexName(): string;
  /** Has CURRENT name `name` (a rename over the old one). */
  makeCurrent(name: string): void;
  /** Deletes index and catalogue files (and their -wal, -shm) other than those of `keep`. */
  removeOthers(keep: string[]): void;
}

export function indexFiles(dir: string): IndexFiles {
  const currentFile = path.join(dir, 'CURRENT');

  function makeCurrent(name: string): void {
    writeFileSync(`${currentFile}.tmp`, `${name}\n`);
    renameSync(`${currentFile}.tmp`, currentFile);
  }

  return {
    currentName() {
      try {
        return readFileSync(currentFile, 'utf8').trim();
      } catch {
        const name = newIndexName();
        makeCurrent(name);
        return name;
      }
    },
    currentStamp() {
      const s = statSync(currentFile);
      return `${s.ino}:${s.mtimeMs}`;
    },
    newIndexName,
    makeCurrent,
    removeOthers: (keep) => removeOldIndexes(dir, keep),
  };
}

/** The catalogue file of an index file (same stamp). */
export function catalogueName(indexName: string): string {
  return indexName.replace(/^index-/, 'catalogue-');
}

function newIndexName(): string {
  return `index-${stamp()}.sqlite`;
}

function stamp(): string {
  return `${new Date().toISOString().replace(/[-:.TZ]/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** Index files other than the live one and the one just replaced (a reader may still have that open). */
function removeOldIndexes(dir: string, keep: string[]): void {
  for (const entry of readdirSync(dir)) {
    const base = entry.replace(/-(wal|shm)$/, '');
    if (!/^(index|catalogue)-.*\.sqlite$/.test(base)) continue;
    if (keep.some((k) => base === k || base === catalogueName(k))) continue;
    rmSync(path.join(dir, entry), { force: true });
  }
}

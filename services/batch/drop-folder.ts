import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isStaff, type Principal } from '../archive/access.ts';
import { CikuError } from '../errors.ts';
import { isInside } from './safe-open.ts';

/**
 * The drop folder's layout. Staff (admins, archivists) own the whole folder; each organisation owns one folder
 * below it, named after the organisation exactly as its contributors' keys spell it (NFC):
 *
 *     <dropDir>/                         staff's sources (bags, manifest folders, CSV files) — and everything below
 *     <dropDir>/organisations/<name>/    organisation <name>'s sources: its contributors batch from here only
 *
 * A contributor's `source` is a path relative to its organisation's folder; staff's is relative to the drop
 * folder. Either resolves inside its folder by real path (no `..`, no absolute paths, no links out), and an
 * organisation's folder is itself a real folder of `organisations/`, not a link. The nightly scan runs each
 * organisation folder's sources as a contributor of that organisation, never as staff (drop-zone.ts).
 */
export const ORGANISATIONS = 'organisations';

/** An organisation name as a folder name: NFC, and nothing that could name another folder. */
export function organisationFolderName(organisation: string): string | undefined {
  const name = organisation.normalize('NFC');
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || name.length > 200)
    return undefined;
  return name;
}

/**
 * The real path of an organisation's folder, if it has one: the entry of `organisations/` whose name is the
 * organisation's in NFC (a folder copied from a Mac may be spelt NFD on disk), itself a folder and not a link.
 */
export async function organisationFolder(
  dropRoot: string,
  organisation: string,
): Promise<string | undefined> {
  const name = organisationFolderName(organisation);
  if (name === undefined) return undefined;
  const orgs = path.join(dropRoot, ORGANISATIONS);
  const entries = await fs.readdir(orgs, { withFileTypes: true }).catch(() => []);
  const matches = entries.filter((e) => e.name.normalize('NFC') === name);
  // Two spellings of one name (NFC and NFD side by side) name no folder for certain: neither is used.
  if (matches.length !== 1 || !matches[0]!.isDirectory()) return undefined;
  const dir = path.join(orgs, matches[0]!.name);
  const real = await fs.realpath(dir).catch(() => undefined);
  return real === dir ? real : undefined;
}

/** The folder a principal's sources resolve in (a real path): staff the drop folder, a contributor its own. */
export async function sourceRootFor(dropDir: string, principal: Principal): Promise<string> {
  const root = await fs.realpath(dropDir).catch(() => {
    throw new CikuError('CIKU_ERR_BATCH_SOURCE', 'the drop folder does not exist on this server');
  });
  if (isStaff(principal)) return root;
  if (principal.role !== 'contributor' || principal.organisation === undefined)
    throw new CikuError('CIKU_ERR_FORBIDDEN', 'your key may not start batches');
  const own = await organisationFolder(root, principal.organisation);
  if (own === undefined)
    throw new CikuError(
      'CIKU_ERR_BATCH_SOURCE',
      `your organisation has no folder in the drop folder (${ORGANISATIONS}/${organisationFolderName(principal.organisation) ?? '?'}/): ask an archivist to make it`,
    );
  return own;
}

/**
 * A source named by a caller, resolved in its folder: the real path of the source, and of the folder (the planner
 * checks the source against it again, when it opens it). Every refusal is CIKU_ERR_BATCH_SOURCE and says nothing of
 * what lies outside the caller's folder.
 */
export async function resolveSource(
  dropDir: string,
  principal: Principal,
  source: string,
): Promise<{ real: string; root: string }> {
  const root = await sourceRootFor(dropDir, principal);
  const rel = source.normalize('NFC');
  const where = isStaff(principal) ? 'the drop folder' : "your organisation's folder";
  const joined = path.resolve(root, rel);
  if (path.isAbsolute(rel) || rel.includes('\0') || !isInside(root, joined))
    throw new CikuError('CIKU_ERR_BATCH_SOURCE', `source must be a path inside ${where}`);
  const real = await fs.realpath(joined).catch(() => {
    throw new CikuError('CIKU_ERR_BATCH_SOURCE', `no ${rel} in ${where}`);
  });
  if (!isInside(root, real)) throw new CikuError('CIKU_ERR_BATCH_SOURCE', `source links to outside ${where}`);
  return { real, root };
}

/**
 * A server path as a caller sees it: relative to the caller's folder (`.` for the folder itself), else by its last
 * name only (server paths stay on the server).
 */
export function shownPath(root: string | undefined, p: string): string {
  if (root !== undefined && p === root) return '.';
  return root !== undefined && isInside(root, p) ? path.relative(root, p) : path.basename(p);
}

/**
 * An absolute path in running text: a `/` that does not continue a word, a URL, a relative path or an elided one
 * (`…/a.txt`), then everything up to a space, a quote or a bracket. (Media types, `md5/sha1`, dates and `a / b`
 * lists are not paths.)
 */
const ABSOLUTE_PATH = /(?<![\p{L}\p{N}_.~:/\\…-])\/[^\s'"`<>|,;()[\]{}]+/gu;

/**
 * Text a caller sees (a refusal, a warning, a row's reason) with every absolute path in it shown as `shownPath`
 * shows it. The planner and the row job word their own messages without server paths; this is the last line for
 * text that comes from below them (a library's or the system's error naming the file it failed on).
 */
export function withoutServerPaths(text: string, root: string | undefined): string {
  return text.replace(ABSOLUTE_PATH, (p) => {
    const trimmed = p.replace(/[.:]+$/, '');
    return shownPath(root, trimmed) + p.slice(trimmed.length);
  });
}

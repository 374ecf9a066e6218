/**
 * Builds the portal's client files into dist/web/assets with content-hashed names (so they can be cached forever),
 * a manifest the pages resolve names through, and .br/.gz copies the server sends as they are.
 *
 *   node --import tsx scripts/build-client.ts
 */
import { build } from 'esbuild';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = path.join(root, 'services/web/client');
const outdir = path.join(root, 'dist/web/assets');
/** Where the server mounts outdir. */
const publicPrefix = '/assets/';

/** Logical name (what pages ask for) → entry point. */
const entries: Record<string, string> = {
  'player.js': 'player.ts',
  'zoom.js': 'zoom.ts',
  'search.js': 'search.ts',
  'portal.css': 'portal.css',
};

async function main(): Promise<void> {
  // Old hashed files would otherwise pile up and could still be served to nobody's benefit.
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });

  const result = await build({
    absWorkingDir: root,
    entryPoints: Object.values(entries).map((file) => path.join(sourceDir, file)),
    outdir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    minify: true,
    target: 'es2020',
    sourcemap: false,
    metafile: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });

  const manifest: Record<string, string> = {};
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    if (meta.entryPoint === undefined) continue;
    const entry = path.relative(sourceDir, path.resolve(root, meta.entryPoint));
    const name = Object.keys(entries).find((logical) => entries[logical] === entry);
    if (name === undefined) throw new Error(`build-client: unexpected entry point ${meta.entryPoint}`);
    manifest[name] = publicPrefix + path.basename(output);
  }
  const missing = Object.keys(entries).filter((name) => manifest[name] === undefined);
  if (missing.length > 0) throw new Error(`build-client: no output for ${missing.join(', ')}`);
  await writeFile(path.join(outdir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const rows: string[][] = [['file', 'raw', 'gzip', 'brotli']];
  for (const file of (await readdir(outdir)).sort()) {
    if (!/\.(js|css)$/.test(file)) continue;
    const full = path.join(outdir, file);
    const raw = await readFile(full);
    const br = brotliCompressSync(raw, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      },
    });
    const gz = gzipSync(raw, { level: 9 });
    await writeFile(`${full}.br`, br);
    await writeFile(`${full}.gz`, gz);
    rows.push([file, kib(raw.length), kib(gz.length), kib(br.length)]);
  }
  printTable(rows);
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

function printTable(rows: string[][]): void {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => row[col]?.length ?? 0))) ?? [];
  for (const row of rows) {
    const cells = row.map((cell, col) =>
      col === 0 ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0),
    );
    console.log(cells.join('  '));
  }
}

await main();

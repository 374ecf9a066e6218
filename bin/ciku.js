#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --heap-growing-percent=50 --expose-gc
// Entry point of the `ciku` CLI. Runs the compiled build (dist/, made by `npm run build`, which `npm ci`, `npm start`
// and `npm test` run) when it is at least as new as every source file: it starts faster and uses ~60 MB less memory
// than compiling on the fly. Otherwise (or with CIKU_FROM_SOURCE=1) it runs the TypeScript sources through tsx.
// The V8 flags in the shebang (also used by `npm start` and the Dockerfile) keep a server's RSS low and flat: see
// services/node-flags.ts. MALLOC_ARENA_MAX=2: libvips' threads otherwise each grow a glibc malloc arena, and a
// worker resizing large scans sat at ~370 MiB instead of ~240 MiB (bench:derive).
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// libuv's thread pool runs both sharp's image work and every fs call: with its default 4 threads, two long resizes
// leave fs calls queueing behind them. Set before anything uses the pool (it starts on first use).
process.env.UV_THREADPOOL_SIZE ??= '16';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function buildIsFresh() {
  try {
    const built = statSync(path.join(root, 'dist', '.build-stamp')).mtimeMs;
    return ['services', 'schemas', 'scripts', 'workers', 'types'].every((d) => {
      try {
        return newestSource(path.join(root, d)) <= built;
      } catch {
        return true;
      }
    });
  } catch {
    return false;
  }
}

if (process.env.CIKU_FROM_SOURCE !== '1' && buildIsFresh()) {
  await import('../dist/scripts/cli/ciku.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../scripts/cli/ciku.ts');
}

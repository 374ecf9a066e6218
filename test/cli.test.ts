import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { freePort } from '../scripts/serve-process.ts';
import { projectRoot, REDIS_URL, sharedPath, skipUnlessShared, tempDir, testRedis } from './helpers/env.ts';

/** Redis keys of this file's commands (unless a test names its own prefix), deleted when the file ends. */
const filePrefix = `${testRedis(t).prefix}cli`;

function ciku(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(projectRoot, 'bin/ciku.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, REDIS_URL, CIKU_QUEUE_PREFIX: filePrefix, ...env },
    timeout: 120_000,
  });
}

t.test(
  'ciku validate exits 0 for valid and 1 for invalid objects, printing CODE message',
  { skip: skipUnlessShared('fixtures/ocfl') },
  async (t) => {
    const base = path.join(sharedPath('fixtures/ocfl')!, '1.1');
    const good = ciku(['validate', path.join(base, 'good-objects/spec-ex-full')]);
    t.equal(good.status, 0, good.stderr);
    t.equal(good.stdout, '');
    const bad = ciku(['validate', path.join(base, 'bad-objects/E092_content_file_digest_mismatch')]);
    t.equal(bad.status, 1);
    t.match(bad.stdout, /^E092 .+/m);
    const warn = ciku(['validate', path.join(base, 'warn-objects/W010_no_version_inventory')]);
    t.equal(warn.status, 0);
    t.match(warn.stdout, /^W010 /m);
  },
);

t.test('ciku ingest + validate by id + validate the storage root, on a fresh data dir', async (t) => {
  const dataDir = tempDir(t, 'ciku-cli-');
  const env = { CIKU_DATA_DIR: dataDir };
  const ingest = ciku(
    [
      'ingest',
      '--kind',
      'archive_document',
      '--title',
      '御窑厂档案',
      '--id',
      'cli-doc-1',
      '--metadata',
      '{"year":2019}',
      path.join(projectRoot, 'package.json'),
    ],
    env,
  );
  t.equal(ingest.status, 0, ingest.stderr);
  const item = JSON.parse(ingest.stdout) as { id: string; version: string; files: { name: string }[] };
  t.equal(item.id, 'cli-doc-1');
  t.same(
    item.files.map((f) => f.name),
    ['package.json'],
  );
  const byId = ciku(['validate', 'cli-doc-1'], env);
  t.equal(byId.status, 0, byId.stderr);
  const root = ciku(['validate', path.join(dataDir, 'store', 'ocfl')], env);
  t.equal(root.status, 0, root.stderr);
  t.match(root.stderr, /valid: 1 object/);
  const missing = ciku(['validate', 'no-such-item'], env);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /CIKU_ERR_OBJECT_NOT_FOUND/);
  const badKind = ciku(['ingest', '--kind', 'painting', '--title', 'x'], env);
  t.equal(badKind.status, 2);
  t.match(badKind.stderr, /^CIKU_ERR_ITEM_KIND_UNKNOWN /);
});

t.test('ciku keys create, list and revoke; a revoked key stops working', async (t) => {
  const dataDir = tempDir(t, 'ciku-keys-');
  const env = { CIKU_DATA_DIR: dataDir };
  const created = ciku(
    [
      'keys',
      'create',
      '--name',
      '景德镇中国陶瓷博物馆 scanner',
      '--role',
      'contributor',
      '--organisation',
      '景德镇中国陶瓷博物馆',
    ],
    env,
  );
  t.equal(created.status, 0, created.stderr);
  const token = created.stdout.trim();
  t.match(token, /^ck_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
  const id = token.split('_')[1]!;
  // The secret is base64url and may itself contain '_': take everything after the id.
  const secret = token.slice(`ck_${id}_`.length);
  const list = ciku(['keys', 'list', '--json'], env);
  const keys = JSON.parse(list.stdout) as { id: string; role: string; hash?: string }[];
  t.same(
    keys.map((k) => [k.id, k.role]),
    [[id, 'contributor']],
  );
  t.notOk('hash' in keys[0]!, 'the list never shows hashes');
  t.notOk(JSON.stringify(keys).includes(secret), 'nor secrets');
  const noOrg = ciku(['keys', 'create', '--name', 'x', '--role', 'contributor'], env);
  t.equal(noOrg.status, 2);
  t.match(noOrg.stderr, /CIKU_ERR_AUTH_KEY_INVALID/);
  const revoked = ciku(['keys', 'revoke', id], env);
  t.equal(revoked.status, 0, revoked.stderr);
  const { createFsBlobStore } = await import('../services/adapters/blob-fs.ts');
  const { createApiKeys } = await import('../services/auth/api-keys.ts');
  const keysApi = createApiKeys({ blobs: await createFsBlobStore(path.join(dataDir, 'store')) });
  await t.rejects(keysApi.authenticate(token), { code: 'CIKU_ERR_AUTH_INVALID' }, 'a revoked key is refused');
});

t.test(
  'ciku ingest queues the derivative job; ciku rederive --missing queues what is missing, and needs a target',
  { skip: skipUnlessShared('fixtures/images') },
  async (t) => {
    const dataDir = tempDir(t, 'ciku-cli-rederive-');
    const env = { CIKU_DATA_DIR: dataDir, CIKU_QUEUE_PREFIX: `${testRedis(t).prefix}cli` };
    const jpg = path.join(sharedPath('fixtures/images')!, 'noexif.jpg');
    const ingest = ciku(
      ['ingest', '--kind', 'collection_object', '--title', '青花盘', '--id', 'CO-CLI-1', jpg],
      env,
    );
    t.equal(ingest.status, 0, ingest.stderr);
    const item = JSON.parse(ingest.stdout) as {
      files: { media_type: string; digests: { sha512: string } }[];
    };
    t.equal(item.files[0]!.media_type, 'image/jpeg', 'type detected from the bytes');
    const usage = ciku(['rederive'], env);
    t.equal(usage.status, 2, 'no target: a coded usage error');
    t.match(usage.stderr, /CIKU_ERR_REQUEST_INVALID/);
    const missing = ciku(['rederive', '--missing'], env);
    t.equal(missing.status, 0, missing.stderr);
    t.equal(
      missing.stdout.trim(),
      `queued derive-image-${item.files[0]!.digests.sha512}`,
      'the one missing job',
    );
  },
);

/**
 * `ciku start` as the README runs it (serving; its workers left out so the test's own CPU is not shared with
 * transcodes): it listens before it prepares, and /healthz tells the stage while the demo loads.
 */
async function startServing(
  t: Test,
  env: Record<string, string>,
): Promise<{ seen: { status: string; stage?: string; progress?: { done: number; total: number } }[] }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin/ciku.js'), 'start', '--no-work'], {
    env: { ...process.env, REDIS_URL, LOG_LEVEL: 'warn', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  const seen: Awaited<ReturnType<typeof startServing>>['seen'] = [];
  let refusedWhileStarting: { status: number; code: string; retryAfter: string | null } | undefined;
  for (let i = 0; i < 2400 && seen.at(-1)?.status !== 'ok'; i += 1) {
    if (child.exitCode !== null) throw new Error(`ciku start exited with ${child.exitCode}`);
    try {
      const health = (await (await fetch(`${url}/healthz`)).json()) as (typeof seen)[number];
      seen.push(health);
      if (health.status === 'starting' && refusedWhileStarting === undefined) {
        const res = await fetch(`${url}/v1/search?q=青花`);
        refusedWhileStarting = {
          status: res.status,
          code: ((await res.json()) as { code: string }).code,
          retryAfter: res.headers.get('retry-after'),
        };
      }
    } catch {
      // not listening yet
    }
    await setTimeout(100);
  }
  t.equal(seen.at(-1)?.status, 'ok', 'ready in the end');
  t.same(
    refusedWhileStarting,
    { status: 503, code: 'CIKU_ERR_UNAVAILABLE', retryAfter: '5' },
    'other routes answer 503 with Retry-After while it prepares',
  );
  child.kill('SIGTERM');
  await exited;
  t.equal(child.exitCode, 0, 'stops gracefully');
  return { seen };
}

t.test(
  'ciku start answers /healthz while it prepares, builds the search index; ciku search and ciku reindex work on it',
  async (t) => {
    const dataDir = tempDir(t, 'ciku-cli-');
    const env = { CIKU_DATA_DIR: dataDir, CIKU_QUEUE_PREFIX: `${testRedis(t).prefix}cli` };
    const { seen } = await startServing(t, env);
    t.equal(seen[0]?.status, 'starting', 'the first answer comes while the archive is still being prepared');
    const batch = seen.filter((h) => h.stage === 'demo-batch');
    t.ok(batch.length > 0, 'the demo batch is reported as a stage');
    t.ok(
      batch.every(
        (h) => h.progress !== undefined && h.progress.done <= h.progress.total && h.progress.total >= 300,
      ),
      'with its rows done out of the total',
    );
    const search = (args: string[]) => {
      const r = ciku(['search', ...args, '--json'], env);
      t.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as {
        total: number;
        hits: { id: string }[];
        facets: Record<string, unknown>;
      };
    };
    const staff = search(['柴窑']);
    t.ok(
      staff.hits.some((h) => h.id === 'demo-oh-0002'),
      'the archivist finds the restricted interview',
    );
    const anon = search(['柴窑', '--as', 'anonymous']);
    t.notOk(
      anon.hits.some((h) => h.id === 'demo-oh-0002'),
      'anonymous does not',
    );
    t.ok(search(['景德鎮']).total > 0, 'traditional query');
    const before = search(['', '--limit', '100', '--facets', 'kind']);
    const re = ciku(['reindex'], env);
    t.equal(re.status, 0, re.stderr);
    t.match(re.stderr, /reindexed \d+ of \d+ item\(s\)/);
    t.same(search(['', '--limit', '100', '--facets', 'kind']), before, 'same answer after the rebuild');
    const text = ciku(['search', '青花'], env);
    t.match(text.stdout, /【青花】/, 'terminal output marks the match');
    const bad = ciku(['search', 'x', '--facets', 'colour'], env);
    t.equal(bad.status, 2);
    t.match(bad.stderr, /^CIKU_ERR_REQUEST_INVALID /);
  },
);

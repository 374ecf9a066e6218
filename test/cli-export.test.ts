import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { projectRoot, REDIS_URL, tempDir, testRedis } from './helpers/env.ts';

const prefix = `${testRedis(t).prefix}cli-export`;

function ciku(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin/ciku.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, REDIS_URL, CIKU_QUEUE_PREFIX: prefix, ...env },
    timeout: 180_000,
  });
  return r;
}

t.test(
  'ciku export search writes a CSV Python reads; ciku export --bag writes a bag ciku batch imports as the same item',
  async (t) => {
    const data = tempDir(t, 'ciku-cli-export-');
    const env = { CIKU_DATA_DIR: data };
    const note = path.join(tempDir(t, 'ciku-cli-files-'), 'note.txt');
    fs.writeFileSync(note, '青花梅瓶的记录\n');
    for (const [id, level] of [
      ['cli-qh-1', 'public'],
      ['cli-qh-2', 'public'],
      ['cli-qh-3', 'private'],
    ] as const) {
      const r = ciku(
        [
          'ingest',
          '--kind',
          'collection_object',
          '--title',
          `青花梅瓶 ${id}`,
          '--id',
          id,
          '--access',
          level,
          note,
        ],
        env,
      );
      t.equal(r.status, 0, r.stderr);
    }
    const re = ciku(['reindex'], env);
    t.equal(re.status, 0, re.stderr);

    const csvFile = path.join(data, 'out.csv');
    const out = ciku(
      [
        'export',
        'search',
        '青花',
        '--format',
        'csv',
        '--as',
        'anonymous',
        '--columns',
        'id,title',
        '--out',
        csvFile,
      ],
      env,
    );
    t.equal(out.status, 0, out.stderr);
    t.match(out.stderr, '2 row(s)');
    const rows = JSON.parse(
      execFileSync(
        'python3',
        [
          '-c',
          'import csv,json,sys; print(json.dumps(list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline="")))))',
          csvFile,
        ],
        {
          encoding: 'utf8',
        },
      ),
    ) as string[][];
    t.same(rows[0], ['id', 'title']);
    t.same(
      rows
        .slice(1)
        .map((r) => r[0])
        .sort(),
      ['cli-qh-1', 'cli-qh-2'],
      'anonymous: the public items only',
    );
    const staff = ciku(['export', 'search', '青花', '--format', 'jsonl'], env);
    t.equal(staff.status, 0, staff.stderr);
    t.equal(
      staff.stdout.trim().split('\n').length,
      3,
      'the archivist (the terminal default) exports all three',
    );

    const bag = path.join(tempDir(t, 'ciku-cli-bag-'), 'bag');
    const made = ciku(['export', 'cli-qh-1', 'cli-qh-3', '--bag', bag], env);
    t.equal(made.status, 0, made.stderr);
    t.match(made.stderr, /2 item\(s\)/);
    const fresh = { CIKU_DATA_DIR: tempDir(t, 'ciku-cli-fresh-') };
    const imported = ciku(['batch', bag, '--json'], fresh);
    t.equal(imported.status, 0, imported.stderr + imported.stdout);
    for (const id of ['cli-qh-1', 'cli-qh-3']) {
      const a = JSON.parse(fs.readFileSync(path.join(bag, 'data/items', id, 'item.json'), 'utf8')) as {
        metadata: unknown;
        access: unknown;
        files: { name: string; digests: { sha512: string } }[];
      };
      const copy = ciku(['export', id, '--bag', path.join(fresh.CIKU_DATA_DIR, `again-${id}`)], fresh);
      t.equal(copy.status, 0, copy.stderr);
      const b = JSON.parse(
        fs.readFileSync(path.join(fresh.CIKU_DATA_DIR, `again-${id}`, 'data/items', id, 'item.json'), 'utf8'),
      ) as typeof a;
      t.same(b.metadata, a.metadata, `${id}: same metadata`);
      t.same(b.access, a.access, `${id}: same access`);
      t.same(
        b.files.map((f) => [f.name, f.digests.sha512]),
        a.files.map((f) => [f.name, f.digests.sha512]),
        `${id}: same files`,
      );
    }
  },
);

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import t from 'tap';
import { loadDemoData } from '../../scripts/demo/demo-data.ts';
import { generateDemoSource } from '../../scripts/demo/generate-demo.ts';
import { startTestApi } from '../helpers/api.ts';
import { startWorkersFor, until } from '../helpers/api-workers.ts';
import { tempDir } from '../helpers/env.ts';
import { iiifErrors } from './validate.ts';

/**
 * Every manifest and collection the demo archive produces validates against the Presentation 3 schema: the items
 * `ciku start` loads and the generated batch source (a tenth of the full demo: scans, deep-zoom scans, audio, video,
 * transcripts, documents, records without media), read as an admin and as anonymous.
 */
type Json = Record<string, unknown>;

const api = await startTestApi(t, { publicUrl: 'https://ciku.example.org' });
await startWorkersFor(t, api);
await loadDemoData(api.items, tempDir(t, 'ciku-demo-marker-'));
// `ciku start` indexes what it loaded with its first index build; here the index is built once, the same way.
await api.indexer.reindexAll();
const source = tempDir(t, 'ciku-demo-source-');
const stats = await generateDemoSource(source, { scale: 0.1 });

/**
 * The generated source's rows, ingested through the API as its batch would (the batch's own workers and the
 * derivative workers cannot share one test's queues): metadata from the columns, then the files.
 */
const rows = parse<Record<string, string>>(readFileSync(path.join(source, 'manifest.csv')), {
  columns: true,
});
const numeric = new Set(['birth_year', 'year']);
const lists = new Set(['subject', 'decoration']);
const notMetadata = new Set(['id', 'kind', 'access', 'organisation', 'files', 'transcript']);
for (const row of rows) {
  const metadata: Json = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === '' || notMetadata.has(k)) continue;
    if (numeric.has(k)) metadata[k] = Number(v);
    else if (lists.has(k)) metadata[k] = v.split(';');
    else if (k === 'coordinates') {
      const [lat, lon] = v.split(',').map(Number);
      metadata[k] = { lat, lon };
    } else metadata[k] = v;
  }
  const created = await api.app.inject({
    method: 'POST',
    url: '/v1/items',
    headers: api.auth.admin,
    payload: {
      id: row.id,
      kind: row.kind,
      metadata,
      access: { level: row.access, ...(row.organisation ? { organisation: row.organisation } : {}) },
    },
  });
  if (created.statusCode !== 201) throw new Error(`${row.id}: ${created.body}`);
  for (const [file, role] of [
    [row.files, undefined],
    [row.transcript, 'transcript'],
  ] as const) {
    if (!file) continue;
    const res = await api.app.inject({
      method: 'PUT',
      url: `/v1/items/${row.id}/files/${encodeURIComponent(path.basename(file))}${role ? `?role=${role}` : ''}`,
      headers: api.auth.admin,
      payload: readFileSync(path.join(source, file)),
    });
    if (res.statusCode !== 201) throw new Error(`${row.id} ${file}: ${res.body}`);
  }
}

const batchRow = /^demo-(co|hs|in|ip|ad|me)-|^demo-oh-1/;

interface ItemJson {
  id: string;
  kind: string;
  metadata: Json;
  files: { role: string; media_type?: string; derivatives?: Record<string, { status: string }> }[];
}
async function allItems(): Promise<ItemJson[]> {
  const out: ItemJson[] = [];
  let cursor: string | undefined;
  do {
    const res = await api.app.inject({
      url: `/v1/items?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      headers: api.auth.admin,
    });
    const page = res.json<{ items: { id: string }[]; next?: string }>();
    for (const i of page.items) {
      const full = await api.app.inject({
        url: `/v1/items/${encodeURIComponent(i.id)}`,
        headers: api.auth.admin,
      });
      if (full.statusCode === 200) out.push(full.json<ItemJson>());
    }
    cursor = page.next;
  } while (cursor !== undefined);
  return out;
}
let waiting: string[] = [];
const items = await until(
  async () => {
    const all = await allItems();
    // loadDemoData writes its items straight into the archive (no jobs): only the generated rows' are awaited.
    waiting = all
      .filter((i) => batchRow.test(i.id))
      .filter((i) =>
        i.files.some((f) => Object.values(f.derivatives ?? {}).some((d) => d.status === 'pending')),
      )
      .map((i) => i.id);
    return all.length >= stats.rows && waiting.length === 0 ? all : undefined;
  },
  'every demo derivative',
  240_000,
).catch((err: unknown) => {
  throw new Error(`${String(err)}: still pending ${waiting.slice(0, 10).join(', ')} (${waiting.length})`);
});

const media = (i: ItemJson) =>
  i.files.some((f) => f.role === 'original' && /^(image|audio|video)\//.test(f.media_type ?? ''));

t.test('every item with a picture or a recording has a valid manifest; the others answer 404', async (t) => {
  t.ok(items.length >= stats.rows + 10, `${items.length} demo items`);
  const shapes = { image: 0, book: 0, av: 0, none: 0 };
  for (const item of items) {
    const res = await api.app.inject({
      url: `/iiif/${encodeURIComponent(item.id)}/manifest`,
      headers: api.auth.admin,
    });
    if (!media(item)) {
      t.equal(res.statusCode, 404, `${item.id} (no media): 404`);
      t.equal(res.json<{ code: string }>().code, 'CIKU_ERR_IIIF_NO_MEDIA');
      shapes.none += 1;
      continue;
    }
    t.equal(res.statusCode, 200, `${item.id}: a manifest`);
    const m = res.json<Json>();
    const errors = iiifErrors(m);
    t.same(errors, [], `${item.id} validates`);
    shapes[(m.items as Json[]).some((c) => 'duration' in c) ? 'av' : m.behavior ? 'book' : 'image'] += 1;
  }
  t.ok(shapes.image > 10, `${shapes.image} image manifests`);
  t.ok(shapes.none > 10, `${shapes.none} records without media`);
  if (stats.audio + stats.video > 0)
    t.ok(shapes.av >= stats.audio + stats.video, `${shapes.av} AV manifests`);
});

t.test(
  'every collection (each kind, museum and ICH project), every page, validates for admin and anonymous',
  async (t) => {
    const names = new Set<string>([
      'oral_history',
      'archive_document',
      'collection_object',
      'inheritor',
      'ich_project',
      'heritage_site',
      'media',
    ]);
    for (const i of items) {
      if (typeof i.metadata.museum === 'string') names.add(`museum:${i.metadata.museum}`);
      if (i.kind === 'ich_project' && typeof i.metadata.code === 'string')
        names.add(`ich:${i.metadata.code}`);
    }
    let listed = 0;
    for (const who of ['admin', 'anonymous'] as const) {
      for (const name of names) {
        let url: string | undefined = `/iiif/collection/${encodeURIComponent(name)}`;
        while (url !== undefined) {
          const res = await api.app.inject({ url, headers: api.auth[who] });
          t.equal(res.statusCode, 200, `${name} as ${who}`);
          const c = res.json<Json>();
          t.same(iiifErrors(c), [], `${url} as ${who} validates`);
          const entries = c.items as { id: string; type: string }[];
          listed += entries.filter((e) => e.type === 'Manifest').length;
          for (const e of entries.filter((x) => x.type === 'Manifest')) {
            const m = await api.app.inject({
              url: e.id.replace('https://ciku.example.org', ''),
              headers: api.auth[who],
            });
            if (m.statusCode !== 200) t.fail(`${e.id} listed in ${name} answers ${m.statusCode} to ${who}`);
          }
          const next = entries.find((e) => e.type === 'Collection');
          url = next?.id.replace('https://ciku.example.org', '');
        }
      }
    }
    t.ok(listed > 20, `${listed} manifests listed, each answering 200 to its reader`);
  },
);

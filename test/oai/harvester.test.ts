import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { promisify } from 'node:util';
import t from 'tap';
import { startTestApi } from '../helpers/api.ts';

/**
 * A real harvester (Debian's libhttp-oai-perl `oai_pmh`, HTTP::OAI::Harvester) harvests ListRecords of a
 * 1,200-item archive in pages of 100 while items are added and deleted: before it fetches each page after the
 * first, a proxy in front of the API adds three items, deletes two that were there when the harvest began and makes
 * one private (so the changes land between the harvester's requests, every time, whatever the machine's speed).
 */
const run = promisify(execFile);
const HARVESTER = '/usr/bin/oai_pmh';
const skip = existsSync(HARVESTER)
  ? false
  : 'needs oai_pmh from Debian libhttp-oai-perl (apt-get install libhttp-oai-perl)';
const agent = { name: 'test:harvest', address: 'urn:ciku:test' };
const ITEMS = 1200;

/** `identifier:`/`status:` lines of oai_pmh's output, one entry per record. */
function recordsOf(out: string): { id: string; deleted: boolean }[] {
  return out
    .split('\f')
    .map((block) => ({
      id: /^identifier: (.+)$/m.exec(block)?.[1],
      deleted: /^status: deleted$/m.test(block),
    }))
    .filter((r): r is { id: string; deleted: boolean } => r.id !== undefined);
}

/** oai_pmh's ListRecords of oai_dc (its stdout as UTF-8, so Chinese titles print without warnings). */
const harvestWith = (base: string, extra: string[] = []) =>
  run(HARVESTER, ['-X', 'ListRecords', '--metadataPrefix', 'oai_dc', ...extra, base], {
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, PERL_UNICODE: 'SO' },
  });

t.test(
  'oai_pmh harvests 1,200 items in pages of 100 while items come and go: each present item once, deletions next time',
  { skip },
  async (t) => {
    const api = await startTestApi(t, { listen: true });
    const hidden = new Set<string>();
    const kinds = [
      'oral_history',
      'archive_document',
      'collection_object',
      'inheritor',
      'ich_project',
      'media',
    ];
    for (let i = 0; i < ITEMS; i++) {
      const id = `h-${String(i).padStart(4, '0')}`;
      // Every 10th private, every 15th restricted, every 25th under embargo: never in a harvest.
      const access =
        i % 10 === 3
          ? { level: 'private' }
          : i % 15 === 7
            ? { level: 'restricted' }
            : i % 25 === 11
              ? { level: 'public', embargo_until: '2999-12-31' }
              : { level: 'public' };
      if (access.level !== 'public' || 'embargo_until' in access) hidden.add(id);
      await api.items.create(
        { id, kind: kinds[i % kinds.length]!, metadata: { title: `青花 ${i}` }, access },
        agent,
      );
    }
    const visible = [...Array(ITEMS).keys()]
      .map((i) => `h-${String(i).padStart(4, '0')}`)
      .filter((id) => !hidden.has(id));
    t.ok(visible.length > 900, `${visible.length} items anonymous may read`);

    // Changes between pages: they go through the archive, as another writer's would.
    const deleted: string[] = [];
    const madePrivate: string[] = [];
    let round = 0;
    let changing = true;
    const change = async () => {
      for (let k = 0; k < 3; k++)
        await api.items.create(
          {
            id: `added-${round}-${k}`,
            kind: 'media',
            metadata: { title: 'added' },
            access: { level: 'public' },
          },
          agent,
        );
      // Two deletions, one near the front of the order (already sent) and one near the back (still to come).
      for (const id of [visible[round * 7]!, visible[visible.length - 1 - round * 7]!]) {
        await api.items.delete(id, agent);
        deleted.push(id);
      }
      const priv = visible[300 + round * 5]!;
      const head = await api.items.get(priv);
      await api.items.update(priv, { access: { level: 'private' } }, agent, { ifVersion: head.version });
      madePrivate.push(priv);
      round++;
    };
    const target = new URL(api.url!);
    const proxy = http.createServer((req, res) => {
      const forward = () => {
        const up = http.request(
          {
            host: target.hostname,
            port: target.port,
            path: req.url,
            method: req.method,
            headers: req.headers,
          },
          (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        req.pipe(up);
      };
      if (changing && req.url?.includes('resumptionToken'))
        change().then(forward, (err: unknown) => res.destroy(err as Error));
      else forward();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    const base = `http://127.0.0.1:${(proxy.address() as { port: number }).port}/oai`;

    // A harvest covers datestamps before the second it starts in (services/oai/provider.ts harvestBound): each
    // harvest here starts in a second of its own, after the last change it must see.
    const nextSecond = () => new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    await nextSecond();
    const startedAt = `${new Date().toISOString().slice(0, 19)}Z`;
    const t0 = Date.now();
    const full = await harvestWith(base);
    const harvestMs = Date.now() - t0;
    changing = false;
    t.comment(`harvest of ${round + 1} pages: ${harvestMs} ms`);
    const got = recordsOf(full.stdout);
    t.ok(round >= 9, `${round} rounds of changes during the harvest`);
    const ids = got.map((r) => r.id.replace(/^oai:[^:]+:/, ''));
    t.equal(new Set(ids).size, ids.length, 'no record twice');
    const gone = new Set([...deleted, ...madePrivate]);
    const stayed = visible.filter((id) => !gone.has(id));
    const seen = new Set(ids);
    t.same(
      stayed.filter((id) => !seen.has(id)),
      [],
      'every item present before and after the harvest was harvested',
    );
    t.same(
      ids.filter((id) => hidden.has(id)),
      [],
      'no restricted, private or embargoed item',
    );
    t.notOk(
      ids.some((id) => id.startsWith('added-')),
      'items added during the harvest wait for the next',
    );
    t.notOk(
      got.some((r) => r.deleted),
      'nothing was deleted before the harvest began',
    );

    // The next incremental harvest, from the second the first began.
    await nextSecond();
    const next = recordsOf((await harvestWith(base, ['--from', startedAt])).stdout);
    const nextDeleted = next.filter((r) => r.deleted).map((r) => r.id.replace(/^oai:[^:]+:/, ''));
    t.same(nextDeleted.sort(), [...gone].sort(), 'every deletion and takedown is a deleted record next time');
    const nextLive = new Set(next.filter((r) => !r.deleted).map((r) => r.id.replace(/^oai:[^:]+:/, '')));
    for (let r = 0; r < round; r++)
      for (let k = 0; k < 3; k++) t.ok(nextLive.has(`added-${r}-${k}`), `added-${r}-${k} comes next time`);
  },
);

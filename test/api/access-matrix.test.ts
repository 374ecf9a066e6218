import t from 'tap';
import { ORG_A, ORG_B, startTestApi } from '../helpers/api.ts';

/**
 * The README's access table, written out: for each role, which of these items it may read. Everything else must
 * answer 404 — the same as a missing item — on every read path.
 */
const items = {
  pub: { level: 'public' },
  res: { level: 'restricted' },
  privA: { level: 'private', organisation: ORG_A },
  embargoA: { level: 'public', embargo_until: '2999-01-01', organisation: ORG_A },
  resB: { level: 'restricted', organisation: ORG_B },
  pastEmbargo: { level: 'public', embargo_until: '2001-01-01' },
} as const;

type ItemName = keyof typeof items;
const table: Record<string, ItemName[]> = {
  admin: ['pub', 'res', 'privA', 'embargoA', 'resB', 'pastEmbargo'],
  archivist: ['pub', 'res', 'privA', 'embargoA', 'resB', 'pastEmbargo'],
  contributorA: ['pub', 'privA', 'embargoA', 'pastEmbargo'],
  contributorB: ['pub', 'resB', 'pastEmbargo'],
  researcher: ['pub', 'res', 'resB', 'pastEmbargo'],
  anonymous: ['pub', 'pastEmbargo'],
};

t.test(
  'every role × access level × read path is allowed or 404 exactly as the access table says',
  async (t) => {
    const api = await startTestApi(t);
    for (const [name, access] of Object.entries(items)) {
      const created = await api.app.inject({
        method: 'POST',
        url: '/v1/items',
        headers: api.auth.archivist,
        payload: { id: name, kind: 'archive_document', metadata: { title: `item ${name}` }, access },
      });
      t.equal(created.statusCode, 201, created.body);
      const put = await api.app.inject({
        method: 'PUT',
        url: `/v1/items/${name}/files/note.txt`,
        headers: api.auth.archivist,
        payload: `text of ${name}\n`,
      });
      t.equal(put.statusCode, 201, put.body);
      await api.indexer.upsertItem(name);
    }
    const paths = (id: string): [string, string][] => [
      ['item', `/v1/items/${id}`],
      ['version', `/v1/items/${id}?version=v1`],
      ['versions', `/v1/items/${id}/versions`],
      ['file', `/v1/items/${id}/files/note.txt`],
      ['file of a version', `/v1/items/${id}/files/note.txt?version=v2`],
      ['events', `/v1/items/${id}/events`],
    ];
    let checked = 0;
    for (const [role, allowed] of Object.entries(table)) {
      const headers = api.auth[role as keyof typeof api.auth];
      for (const id of Object.keys(items) as ItemName[]) {
        const may = allowed.includes(id);
        for (const [what, url] of paths(id)) {
          const res = await api.app.inject({ url, headers });
          checked += 1;
          if (may) t.equal(res.statusCode, 200, `${role} reads ${what} of ${id}`);
          else {
            t.equal(res.statusCode, 404, `${role} gets 404 for ${what} of ${id}`);
            t.equal(
              res.json<{ code: string }>().code,
              'CIKU_ERR_ITEM_NOT_FOUND',
              `${role}: ${what} of ${id} looks missing`,
            );
          }
        }
      }
      const listed = await api.app.inject({ url: '/v1/items?limit=200', headers });
      t.same(
        listed
          .json<{ items: { id: string }[] }>()
          .items.map((i) => i.id)
          .sort(),
        [...allowed].sort(),
        `${role} lists exactly what it may read`,
      );
      const found = await api.app.inject({ url: '/v1/search?q=item&facets=kind&limit=100', headers });
      const answer = found.json<{
        total: number;
        hits: { id: string }[];
        facets: { kind: Record<string, number> };
      }>();
      t.same(
        answer.hits.map((h) => h.id).sort(),
        [...allowed].sort(),
        `${role} finds exactly what it may read`,
      );
      t.equal(answer.total, allowed.length, `${role}: search total`);
      t.same(answer.facets.kind, { archive_document: allowed.length }, `${role}: facet counts`);
      const missing = await api.app.inject({ url: '/v1/items/does-not-exist', headers });
      t.equal(missing.statusCode, 404, `${role}: a missing item looks the same`);
    }
    t.comment(`${checked} role × item × path reads checked`);

    // Writes: staff anything, contributors only their organisation's items, nobody else.
    const write = (role: keyof typeof api.auth, id: ItemName) =>
      api.app.inject({
        method: 'PATCH',
        url: `/v1/items/${id}`,
        headers: api.auth[role],
        payload: { metadata: { description: role } },
      });
    t.equal(
      (await write('contributorA', 'privA')).statusCode,
      200,
      'contributor edits its own organisation’s item',
    );
    t.equal(
      (await write('contributorA', 'pub')).statusCode,
      403,
      'contributor may read but not edit another’s public item',
    );
    t.equal(
      (await write('contributorA', 'resB')).statusCode,
      404,
      'contributor cannot even see another organisation’s restricted item',
    );
    t.equal((await write('researcher', 'res')).statusCode, 403, 'researcher reads but never writes');
    t.equal((await write('anonymous', 'privA')).statusCode, 404);
    const giveAway = await api.app.inject({
      method: 'PATCH',
      url: '/v1/items/privA',
      headers: api.auth.contributorA,
      payload: { access: { level: 'public', organisation: ORG_B } },
    });
    t.equal(giveAway.statusCode, 403, 'contributor cannot move an item to another organisation');
    const own = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: api.auth.contributorB,
      payload: { kind: 'collection_object', metadata: { title: '粉彩盘' } },
    });
    t.equal(own.statusCode, 201);
    t.same(
      own.json<{ access: object }>().access,
      { level: 'private', organisation: ORG_B },
      'a contributor’s new item belongs to its organisation',
    );
    const foreign = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: api.auth.contributorB,
      payload: {
        kind: 'collection_object',
        metadata: { title: 'x' },
        access: { level: 'public', organisation: ORG_A },
      },
    });
    t.equal(foreign.statusCode, 403, 'nor create one for another organisation');
  },
);

/**
 * Access over time (DESIGN.md), for every read path: an earlier version is read only under the head's access and
 * its own; a deleted item is a takedown for all but admins and archivists.
 */
t.test('earlier versions keep their own access, and a deletion takes everything down', async (t) => {
  const api = await startTestApi(t);
  const as = (role: keyof typeof api.auth) => api.auth[role];
  const create = async (id: string, access: object, text: string) => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: as('archivist'),
      payload: { id, kind: 'archive_document', metadata: { title: `${id} v1 title` }, access },
    });
    t.equal(res.statusCode, 201, res.body);
    const put = await api.app.inject({
      method: 'PUT',
      url: `/v1/items/${id}/files/note.txt`,
      headers: as('archivist'),
      payload: text,
    });
    t.equal(put.statusCode, 201, put.body);
  };
  const patch = async (id: string, payload: object) => {
    const res = await api.app.inject({
      method: 'PATCH',
      url: `/v1/items/${id}`,
      headers: as('archivist'),
      payload,
    });
    t.equal(res.statusCode, 200, res.body);
  };
  // v1 created private (organisation A), v2 its file, v3 made public with a new title.
  await create('wasPrivate', { level: 'private', organisation: ORG_A }, 'draft before publication\n');
  await patch('wasPrivate', { access: { level: 'public' }, metadata: { title: 'wasPrivate public title' } });
  // v1 public, v2 its file, v3 made private to organisation A.
  await create('becamePrivate', { level: 'public' }, 'once public\n');
  await patch('becamePrivate', { access: { level: 'private', organisation: ORG_A } });
  // Public / restricted, then deleted (v3 is the tombstone).
  await create('deletedPub', { level: 'public' }, 'taken down\n');
  await create('deletedRes', { level: 'restricted' }, 'restricted, taken down\n');
  for (const id of ['deletedPub', 'deletedRes']) {
    const del = await api.app.inject({ method: 'DELETE', url: `/v1/items/${id}`, headers: as('archivist') });
    t.equal(del.statusCode, 200);
  }

  type Outcome = 200 | 'item' | 'version' | 'gone';
  const paths = (id: string): [string, string][] => [
    ['v1', `/v1/items/${id}?version=v1`],
    ['file of v2', `/v1/items/${id}/files/note.txt?version=v2`],
    ['derivative of v2', `/v1/items/${id}/files/note.txt/derivatives/thumbnail?version=v2`],
    ['versions', `/v1/items/${id}/versions`],
    ['events', `/v1/items/${id}/events`],
  ];
  const staff: Outcome = 200;
  const expect: Record<string, Record<string, Outcome>> = {
    // Readable at the head by everyone; v1 and v2 were private to organisation A.
    wasPrivate: {
      admin: staff,
      archivist: staff,
      contributorA: 200,
      contributorB: 'version',
      researcher: 'version',
      anonymous: 'version',
    },
    // Private to A now: what it was before is not public any more either.
    becamePrivate: {
      admin: staff,
      archivist: staff,
      contributorA: 200,
      contributorB: 'item',
      researcher: 'item',
      anonymous: 'item',
    },
    deletedPub: {
      admin: staff,
      archivist: staff,
      contributorA: 'gone',
      contributorB: 'gone',
      researcher: 'gone',
      anonymous: 'gone',
    },
    deletedRes: {
      admin: staff,
      archivist: staff,
      contributorA: 'item',
      contributorB: 'item',
      researcher: 'gone',
      anonymous: 'item',
    },
  };
  let checked = 0;
  for (const [id, byRole] of Object.entries(expect)) {
    for (const [role, outcome] of Object.entries(byRole)) {
      for (const [what, url] of paths(id)) {
        const res = await api.app.inject({ url, headers: as(role as keyof typeof api.auth) });
        checked += 1;
        const code = String(res.headers['content-type'] ?? '').startsWith('application/json')
          ? res.json<{ code?: string }>().code
          : undefined;
        const label = `${role}: ${what} of ${id}`;
        // Versions and events never hide a whole item whose head the caller may read: they list less (below).
        const listing = what === 'versions' || what === 'events';
        if (outcome === 200 || (outcome === 'version' && listing)) {
          if (what.startsWith('derivative'))
            t.equal(code, 'CIKU_ERR_DERIVATIVE_NOT_FOUND', `${label}: reached`);
          else t.equal(res.statusCode, 200, `${label}: read`);
        } else if (outcome === 'version') {
          t.equal(res.statusCode, 404, `${label}: 404`);
          t.equal(code, 'CIKU_ERR_VERSION_NOT_FOUND', `${label}: looks like a missing version`);
        } else if (outcome === 'item') {
          t.equal(res.statusCode, 404, `${label}: 404`);
          t.equal(code, 'CIKU_ERR_ITEM_NOT_FOUND', `${label}: looks missing`);
        } else {
          t.equal(res.statusCode, 410, `${label}: taken down`);
          t.equal(code, 'CIKU_ERR_ITEM_DELETED', label);
        }
      }
    }
  }
  t.comment(`${checked} role × item × path reads over time checked`);

  // What a reader of the public head learns of the private past: nothing.
  const versions = await api.app.inject({ url: '/v1/items/wasPrivate/versions' });
  t.same(
    versions.json<{ versions: { version: string }[] }>().versions.map((v) => v.version),
    ['v3'],
    'the public sees only the version it may read',
  );
  const events = await api.app.inject({ url: '/v1/items/wasPrivate/events' });
  const evs = events.json<{ events: { version: string; objects?: string[] }[] }>().events;
  t.ok(evs.length > 0 && evs.every((e) => e.version === 'v3'), 'and only that version’s events');
  const head = await api.app.inject({ url: '/v1/items/wasPrivate' });
  t.notMatch(head.body, /v1 title/, 'the head does not carry the private title');
  const staffVersions = await api.app.inject({
    url: '/v1/items/wasPrivate/versions',
    headers: as('archivist'),
  });
  t.equal(staffVersions.json<{ versions: unknown[] }>().versions.length, 3, 'staff see the whole history');
  const staffFile = await api.app.inject({
    url: '/v1/items/deletedPub/files/note.txt?version=v2',
    headers: as('archivist'),
  });
  t.equal(staffFile.body, 'taken down\n', 'an archivist still reads what was taken down');
});

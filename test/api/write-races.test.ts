import t from 'tap';
import { ORG_A, ORG_B, stagingLeft, startTestApi, type TestApi } from '../helpers/api.ts';

/**
 * A write is decided on the head it commits on (guards.writeOn): when an archivist's version lands between a
 * contributor's access decision and its commit, the contributor's write is decided again on the new head. Each
 * race is made deterministic by running the archivist's change inside the contributor's first commit call.
 */

const archivist = { name: 'archivist:test', address: 'urn:ciku:agent:archivist:test' };

/** Runs `interleave` once, just before the next `items.update`/`items.delete` goes ahead. */
function raceOnce(api: TestApi, method: 'update' | 'delete', interleave: () => Promise<unknown>): void {
  const items = api.items as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = items[method]!;
  let fired = false;
  items[method] = async (...args: unknown[]) => {
    if (!fired) {
      fired = true;
      await interleave();
    }
    return original(...args);
  };
}

async function orgItem(api: TestApi, id: string, kind = 'archive_document'): Promise<void> {
  await api.items.create(
    { id, kind, metadata: { title: '原题' }, access: { level: 'public', organisation: ORG_A } },
    archivist,
  );
}

const giveAway = (api: TestApi, id: string, level: 'public' | 'private') => () =>
  api.items.update(id, { access: { level, organisation: ORG_B } }, archivist);

t.test(
  "a contributor's PATCH does not land on a version that gave the item to another organisation",
  async (t) => {
    const api = await startTestApi(t);
    await orgItem(api, 'race-patch');
    raceOnce(api, 'update', giveAway(api, 'race-patch', 'public'));
    const res = await api.app.inject({
      method: 'PATCH',
      url: '/v1/items/race-patch',
      headers: api.auth.contributorA,
      payload: { metadata: { title: '改题' } },
    });
    t.equal(res.statusCode, 403, `decided again on the new head: ${res.body}`);
    t.equal(res.json<{ code: string }>().code, 'CIKU_ERR_FORBIDDEN');
    const item = await api.items.get('race-patch');
    t.equal(item.version, 'v2', "only the archivist's version landed");
    t.equal(item.metadata.title, '原题');
    t.equal(item.access.organisation, ORG_B);
  },
);

t.test('a PATCH with If-Match is not retried: the other version is its 412', async (t) => {
  const api = await startTestApi(t);
  await orgItem(api, 'race-ifmatch');
  raceOnce(api, 'update', () =>
    api.items.update('race-ifmatch', { metadata: { description: '别人' } }, archivist),
  );
  const res = await api.app.inject({
    method: 'PATCH',
    url: '/v1/items/race-ifmatch',
    headers: { ...api.auth.contributorA, 'if-match': '"v1"' },
    payload: { metadata: { title: '改题' } },
  });
  t.equal(res.statusCode, 412, res.body);
  t.equal((await api.items.get('race-ifmatch')).metadata.title, '原题');
});

t.test(
  'a race that changes nothing the decision rests on is decided again and both writes land',
  async (t) => {
    const api = await startTestApi(t);
    await orgItem(api, 'race-benign');
    raceOnce(api, 'update', () =>
      api.items.update('race-benign', { metadata: { description: '副题' } }, archivist),
    );
    const res = await api.app.inject({
      method: 'PATCH',
      url: '/v1/items/race-benign',
      headers: api.auth.contributorA,
      payload: { metadata: { title: '改题' } },
    });
    t.equal(res.statusCode, 200, res.body);
    const item = await api.items.get('race-benign');
    t.equal(item.version, 'v3');
    t.match(item.metadata, { title: '改题', description: '副题' });
  },
);

t.test("a contributor's upload does not land on an item made private to another organisation", async (t) => {
  const api = await startTestApi(t);
  await orgItem(api, 'race-put');
  raceOnce(api, 'update', giveAway(api, 'race-put', 'private'));
  const res = await api.app.inject({
    method: 'PUT',
    url: '/v1/items/race-put/files/note.txt',
    headers: api.auth.contributorA,
    payload: '不该进去的字节\n',
  });
  t.equal(res.statusCode, 404, `the item is hidden from it now: ${res.body}`);
  const item = await api.items.get('race-put');
  t.equal(item.version, 'v2');
  t.same(item.files, [], 'no file was added');
  t.same(await stagingLeft(api.blobs), [], 'its staged bytes are gone');
});

t.test(
  'an upload whose race changes nothing it rests on lands on the new head, its bytes kept for it',
  async (t) => {
    const api = await startTestApi(t);
    await orgItem(api, 'race-put-ok');
    raceOnce(api, 'update', () =>
      api.items.update('race-put-ok', { metadata: { description: '副题' } }, archivist),
    );
    const res = await api.app.inject({
      method: 'PUT',
      url: '/v1/items/race-put-ok/files/note.txt',
      headers: api.auth.contributorA,
      payload: '进去的字节\n',
    });
    t.equal(res.statusCode, 201, res.body);
    const item = await api.items.get('race-put-ok');
    t.equal(item.version, 'v3');
    t.same(
      item.files.map((f) => f.name),
      ['note.txt'],
    );
    t.equal((await api.app.inject({ url: '/v1/items/race-put-ok/files/note.txt' })).body, '进去的字节\n');
    t.same(await stagingLeft(api.blobs), []);
  },
);

t.test("a contributor's DELETE does not land on a version that gave the item away", async (t) => {
  const api = await startTestApi(t);
  await orgItem(api, 'race-delete');
  raceOnce(api, 'delete', giveAway(api, 'race-delete', 'public'));
  const res = await api.app.inject({
    method: 'DELETE',
    url: '/v1/items/race-delete',
    headers: api.auth.contributorA,
  });
  t.equal(res.statusCode, 403, res.body);
  const item = await api.items.get('race-delete');
  t.equal(item.tombstone, undefined, 'not deleted');
  t.equal(item.version, 'v2');
});

import t from 'tap';
import { newItem, startTestApi } from '../helpers/api.ts';

/**
 * Anonymous callers have two allowances per minute and address: one for API calls and searches, and a larger one
 * per derivative route (thumbnails, proxies, IIIF tiles), so a deep-zoom session does not use up the other.
 */

t.test('derivative and tile reads do not spend the allowance of searches and API calls', async (t) => {
  const api = await startTestApi(t, { anonymousRateLimit: 5, anonymousMediaRateLimit: 40 });
  await newItem(api, 'tiles', 'collection_object', 'public');
  const tile = '/v1/items/tiles/files/scan.tif/derivatives/iiif/full/max/0/default.jpg';
  for (let i = 0; i < 30; i += 1) {
    const res = await api.app.inject({ url: tile });
    t.not(res.statusCode, 429, `tile read ${i + 1} is not limited (${res.statusCode})`);
  }
  for (let i = 0; i < 5; i += 1) {
    const res = await api.app.inject({ url: '/v1/search?q=青花' });
    t.equal(res.statusCode, 200, `search ${i + 1} is within the API allowance`);
  }
  const sixth = await api.app.inject({ url: '/v1/search?q=青花' });
  t.equal(sixth.statusCode, 429, 'the sixth search is over it');
  t.equal(sixth.json<{ code: string }>().code, 'CIKU_ERR_RATE_LIMITED');
  t.not(
    (await api.app.inject({ url: tile })).statusCode,
    429,
    'tiles still answer after the API allowance is spent',
  );
});

t.test('the derivative allowance is a limit too', async (t) => {
  const api = await startTestApi(t, { anonymousRateLimit: 5, anonymousMediaRateLimit: 10 });
  const thumb = '/v1/items/x/files/a.jpg/derivatives/thumbnail';
  const codes: number[] = [];
  for (let i = 0; i < 11; i += 1) codes.push((await api.app.inject({ url: thumb })).statusCode);
  t.notOk(codes.slice(0, 10).includes(429), `ten reads answered: ${codes.slice(0, 10).join(' ')}`);
  t.equal(codes[10], 429, 'the eleventh is refused');
});

t.test('callers with a key are not limited on either', async (t) => {
  const api = await startTestApi(t, { anonymousRateLimit: 2, anonymousMediaRateLimit: 2 });
  for (let i = 0; i < 6; i += 1) {
    t.not((await api.app.inject({ url: '/v1/search?q=瓷', headers: api.auth.researcher })).statusCode, 429);
    t.not(
      (
        await api.app.inject({
          url: '/v1/items/x/files/a.jpg/derivatives/thumbnail',
          headers: api.auth.researcher,
        })
      ).statusCode,
      429,
    );
  }
});

import t from 'tap';
import type { ReadScope } from '../../services/archive/access.ts';
import { buildDocuments } from '../../services/search/documents.ts';
import type { SearchRequest } from '../../services/search/search-index.ts';
import {
  aclExpression,
  aclTokens,
  filterSql,
  residualSql,
  scopeSql,
} from '../../services/search/sqlite-access.ts';
import { item } from './contract.ts';

const staff: ReadScope = { all: true };
const visitor: ReadScope = { all: false, levels: ['public'], today: '2026-03-01' };
const contributor: ReadScope = {
  all: false,
  levels: ['public'],
  today: '2026-03-01',
  organisation: '景德镇御窑博物馆',
};

const request = (more: Partial<Pick<SearchRequest, 'filters' | 'scope'>> = {}) => ({
  filters: {},
  scope: staff,
  ...more,
});

/** The `acl` tokens a MATCH names, in the order it names them. */
const tokensIn = (expr: string | undefined) =>
  [...(expr ?? '').matchAll(/\b(a[loe]\w+|f[a-z][0-9a-f]+)\b/g)].map((m) => m[1]);

t.test('staff see everything: the scope adds no SQL and no parameter', async (t) => {
  const params: unknown[] = [];
  t.equal(scopeSql(staff, params), '1');
  t.same(params, []);
});

t.test('a visitor sees their levels, unembargoed or past the embargo, as SQL over docs', async (t) => {
  const params: unknown[] = [];
  const sql = scopeSql({ ...visitor, levels: ['public', 'restricted'] }, params);
  t.equal(sql, '(d.acc_level IN (?, ?) AND (d.acc_embargo IS NULL OR d.acc_embargo <= ?))');
  t.same(params, ['public', 'restricted', '2026-03-01']);
});

t.test("a contributor also sees their own organisation's items, whatever their level", async (t) => {
  const params: unknown[] = [];
  const sql = scopeSql(contributor, params);
  t.match(sql, /^\(\(d\.acc_level IN \(\?\) AND .+\) OR d\.acc_org = \?\)$/);
  t.same(params, ['public', '2026-03-01', '景德镇御窑博物馆']);
});

t.test('staff with no filters add nothing to the MATCH', async (t) => {
  t.equal(
    aclExpression(request(), () => t.fail('embargo days are not needed') as never),
    undefined,
  );
});

t.test('the scope as tokens lets through only the embargoes that have passed', async (t) => {
  const expr = aclExpression(request({ scope: visitor }), () => ['2025-12-31', '2026-03-01', '2026-03-02']);
  t.equal(expr, 'acl : ((alpublic) AND (aenone OR ae20251231 OR ae20260301))');
});

t.test(
  "the organisation token a contributor's scope matches is the one their items are indexed with",
  async (t) => {
    const own = buildDocuments(
      item(
        'O-1',
        'archive_document',
        { title: '档案' },
        { level: 'private', organisation: '景德镇御窑博物馆' },
      ),
    ).doc;
    const other = buildDocuments(
      item('O-2', 'archive_document', { title: '档案' }, { level: 'private', organisation: '别的博物馆' }),
    ).doc;
    const expr = aclExpression(request({ scope: contributor }), () => []);
    const orgToken = tokensIn(expr).find((tok) => tok!.startsWith('ao'));
    t.ok(orgToken, 'the expression names an organisation token');
    t.ok(aclTokens(own).includes(orgToken!), 'their own item carries it');
    t.notOk(aclTokens(other).includes(orgToken!), "another organisation's item does not");
  },
);

t.test('a list filter matches the token of the items that have the value, and no other', async (t) => {
  const site = buildDocuments(item('K-1', 'heritage_site', { title: '窑址' })).doc;
  const media = buildDocuments(item('K-2', 'media', { title: '录像' })).doc;
  const expr = aclExpression(request({ filters: { kind: ['heritage_site'] } }), () => []);
  t.match(expr, /^acl : \(fk[0-9a-f]{16}\)$/);
  const [kindToken] = tokensIn(expr);
  t.ok(aclTokens(site).includes(kindToken!));
  t.notOk(aclTokens(media).includes(kindToken!));
});

t.test('an item is indexed with its level, its embargo (or aenone) and its media flag', async (t) => {
  const doc = buildDocuments(
    item('E-1', 'archive_document', { title: '档案' }, { level: 'restricted', embargo_until: '2030-01-02' }),
  ).doc;
  const tokens = aclTokens(doc);
  t.equal(tokens[0], 'alrestricted');
  t.ok(tokens.includes('ae20300102'));
  t.notOk(tokens.includes('aenone'));
  const withMedia = aclExpression(request({ filters: { has_media: doc.has_media } }), () => []);
  t.ok(aclTokens(doc).includes(tokensIn(withMedia)[0]!), 'the has_media filter names its token');
});

t.test('an empty list filter matches nothing in SQL', async (t) => {
  const params: unknown[] = [];
  t.equal(filterSql(request({ filters: { museum: [] } }), params), '0');
  t.same(params, []);
});

t.test('a box across the antimeridian keeps longitudes on either side of it', async (t) => {
  const params: unknown[] = [];
  const sql = filterSql(request({ filters: { bbox: [170, -10, -170, 10] } }), params);
  t.equal(sql, 'd.lat BETWEEN ? AND ? AND (d.lon >= ? OR d.lon <= ?)');
  t.same(params, [-10, 10, 170, -170]);
});

t.test('a radius filter is a bounding box first, then the great-circle distance', async (t) => {
  const params: unknown[] = [];
  const sql = filterSql(request({ filters: { near: { lat: 29, lon: 117, radius_km: 111 } } }), params);
  t.equal(sql, 'd.lat BETWEEN ? AND ? AND geo_km(d.lat, d.lon, ?, ?) <= ?');
  t.same(params, [28, 30, 29, 117, 111]);
});

t.test(
  'beside a MATCH, SQL says only what tokens cannot: years and geography, never scope or lists',
  async (t) => {
    const params: unknown[] = [];
    const sql = residualSql(
      { filters: { kind: ['media'], year_from: 1900, year_to: 1950, has_media: true } },
      params,
    );
    t.same(sql, ['d.year >= ?', 'd.year <= ?']);
    t.same(params, [1900, 1950]);
    t.same(residualSql({ filters: { kind: ['media'] } }, []), [], 'list filters alone leave nothing');
  },
);

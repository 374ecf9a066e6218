import t from 'tap';
import type { ReadScope } from '../../services/archive/access.ts';
import { analyzer } from '../../services/search/analyzer.ts';
import { ftsExpression, type FtsColumns } from '../../services/search/fts-query.ts';
import { planSearch } from '../../services/search/sqlite-query.ts';
import { req } from './contract.ts';

const titles: FtsColumns = { grams: ['title'], words: ['title_w'], pinyin: 'py' };
const parse = (q: string) => analyzer().parseQuery(q);
const fts = (q: string, strict = true) => ftsExpression(parse(q), titles, { strict });
const visitor: ReadScope = { all: false, levels: ['public'], today: '2026-03-01' };
const noEmbargoes = () => [];

t.test('a Latin word of three letters or more matches as a prefix, a shorter one as written', async (t) => {
  t.equal(fts('kiln'), '{title} : "kiln"*');
  t.equal(fts('ab'), '{title} : "ab"');
});

t.test('query syntax in the text stays text: quotes, stars and operators become quoted tokens', async (t) => {
  const expr = fts('"foo" OR bar* NEAR(x)')!;
  t.notMatch(expr, /NEAR\(/, 'no NEAR group reaches FTS5');
  t.match(expr, /\{title\} : "or"/, 'OR is a word to find, lower-cased and quoted');
  t.match(expr, /\{title\} : "bar"\*/, 'the star is ours, after the closing quote');
  t.equal(expr.split('"').length % 2, 1, 'every quote is closed');
});

t.test('a Han run must occur as written when strict, with its dictionary words as boosts only', async (t) => {
  t.equal(fts('景德镇'), '({title} : "景德 德镇" AND ({title} : "景德 德镇" OR {title_w} : "景德镇"))');
});

t.test('relaxed, a long Han run needs each of its words somewhere, not the run as written', async (t) => {
  const relaxed = fts('景德镇的瓷器历史', false)!;
  t.match(
    relaxed,
    /^\(\(\{title\} : "景德 德镇" AND \{title\} : "的"\* AND \{title\} : "瓷器" AND \{title\} : "历史"\) AND/,
  );
  t.notSame(relaxed, fts('景德镇的瓷器历史', true));
});

t.test('every part of the query must match', async (t) => {
  t.equal(fts('瓷 kiln'), '{title} : "瓷"* AND {title} : "kiln"*');
});

t.test('a Latin-only query also matches as pinyin, word by word and as one phrase', async (t) => {
  t.equal(
    fts('Tu Jinshui'),
    '(({title} : "tu" OR py : "tu") AND ({title} : "jinshui"* OR py : "jin shui")) OR py : "tu jin shui"',
  );
  t.notMatch(
    ftsExpression(parse('Tu Jinshui'), { grams: ['text'], words: [] })!,
    /py/,
    'not without a pinyin column',
  );
});

t.test('a query with no searchable token has no expression', async (t) => {
  t.equal(fts('!!!'), undefined);
});

t.test(
  'browsing (no words) reads docs with the scope and filters as SQL, without embargo tokens',
  async (t) => {
    const plan = planSearch(
      req('', { scope: visitor, filters: { year_from: 1900 } }),
      parse(''),
      true,
      () => {
        t.fail('embargo days are asked only for a MATCH');
        return [];
      },
    );
    t.ok(plan);
    t.equal(plan!.match, undefined);
    t.equal(plan!.from, 'docs d');
    t.equal(
      plan!.where,
      '(d.acc_level IN (?) AND (d.acc_embargo IS NULL OR d.acc_embargo <= ?)) AND d.year >= ?',
    );
    t.same(plan!.params, ['public', '2026-03-01', 1900]);
    t.equal(plan!.score, '0');
  },
);

t.test('words ranked by relevance with token filters only are answered by the FTS table alone', async (t) => {
  const plan = planSearch(req('kiln', { scope: visitor }), parse('kiln'), true, () => ['2026-01-01']);
  t.equal(plan!.joined, false);
  t.equal(plan!.from, 'docs_fts');
  t.equal(plan!.where, 'docs_fts MATCH ?');
  t.same(plan!.params, ['({title meta body} : "kiln"*) AND acl : ((alpublic) AND (aenone OR ae20260101))']);
  t.match(plan!.score, /^bm25\(docs_fts, /);
});

t.test('a year range beside words joins docs for what the tokens cannot say', async (t) => {
  const plan = planSearch(req('kiln', { filters: { year_to: 1950 } }), parse('kiln'), true, noEmbargoes);
  t.equal(plan!.joined, true);
  t.equal(plan!.from, 'docs_fts JOIN docs d ON d.rid = docs_fts.rowid');
  t.equal(plan!.where, 'docs_fts MATCH ? AND d.year <= ?');
  t.same(plan!.params, ['{title meta body} : "kiln"*', 1950]);
});

t.test('a sort other than relevance joins docs for its column', async (t) => {
  const plan = planSearch(req('kiln', { sort: 'date' }), parse('kiln'), true, noEmbargoes);
  t.equal(plan!.joined, true);
});

t.test('an empty list filter plans nothing: the answer is empty without reading the index', async (t) => {
  t.equal(planSearch(req('kiln', { filters: { kind: [] } }), parse('kiln'), true, noEmbargoes), undefined);
  t.equal(planSearch(req('', { filters: { kind: [] } }), parse(''), true, noEmbargoes), undefined);
});

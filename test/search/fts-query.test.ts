import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { analyzer } from '../../services/search/analyzer.ts';
import { canRelax, ftsExpression, type FtsColumns } from '../../services/search/fts-query.ts';

/**
 * Unit tests of the FTS5 query builder: the expressions as strings, and the same expressions run against a small
 * in-memory FTS5 table shaped like the embedded engine's (bigram, word and pinyin columns, unicode61, prefix 1),
 * so "FTS5 accepts it" and "it finds what it should" are both checked without an index or Redis.
 */

const a = analyzer();
const COLS: FtsColumns = { grams: ['title', 'body'], words: ['title_w', 'body_w'], pinyin: 'py' };
const NO_WORDS: FtsColumns = { grams: ['text'], words: [] };
const expr = (q: string, c: FtsColumns = COLS, strict = true) =>
  ftsExpression(a.parseQuery(q), c, { strict });

const RECORDS: Record<string, string> = {
  jdz: '景德镇的青花瓷器',
  history: '瓷器历史与景德镇的窑',
  pending: '待处理的档案',
  kiln: 'Kiln firing VIII-7 at 1.5 metres',
  tu: '涂金水口述',
  quote: 'say "near" or not',
};

/** A contentless-like FTS5 table filled the way the engine fills it (grams, words and pinyin of each record). */
function table(t: Test): (match: string) => string[] {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.exec(
    `CREATE VIRTUAL TABLE f USING fts5(id UNINDEXED, title, body, title_w, body_w, py, tokenize='unicode61', prefix='1')`,
  );
  const insert = db.prepare('INSERT INTO f (id, title, body, title_w, body_w, py) VALUES (?, ?, ?, ?, ?, ?)');
  for (const [id, text] of Object.entries(RECORDS)) {
    const folded = a.fold(text);
    insert.run(id, a.grams(folded), '', a.words(folded), '', a.pinyin(text));
  }
  const select = db.prepare<[string], { id: string }>('SELECT id FROM f WHERE f MATCH ? ORDER BY id');
  return (match) => select.all(match).map((r) => r.id);
}

function finds(t: Test, q: string, ids: string[], strict = true): void {
  const search = table(t);
  const e = expr(q, COLS, strict);
  if (e === undefined) {
    t.fail(`${q}: no expression`);
    return;
  }
  t.same(search(e), [...ids].sort(), `${q} → ${ids.join(', ') || 'nothing'}`);
}

t.test('an empty or blank query has no expression, so nothing matches', async (t) => {
  for (const q of ['', '   ', '\t\n\u0000']) t.equal(expr(q), undefined, JSON.stringify(q));
});

t.test('a query of punctuation and operators only has no expression', async (t) => {
  for (const q of ['*', '"', '()', ':', '- ^ +', '"" ""']) t.equal(expr(q), undefined, JSON.stringify(q));
});

t.test('a Han run must occur as a phrase of its bigrams in the bigram columns', async (t) => {
  t.equal(expr('景德镇', NO_WORDS), '{text} : "景德 德镇"');
});

t.test('a Han run is boosted by its dictionary words where the table has word columns', async (t) => {
  t.equal(
    expr('景德镇'),
    '({title body} : "景德 德镇" AND ({title body} : "景德 德镇" OR {title_w body_w} : "景德镇"))',
  );
});

t.test('a single Han character is a prefix query (it is the prefix of its bigrams)', async (t) => {
  t.equal(expr('瓷', NO_WORDS), '{text} : "瓷"*');
});

t.test('a Latin word of three or more letters is a prefix query, a shorter one is exact', async (t) => {
  t.equal(expr('kiln', NO_WORDS), '{text} : "kiln"*');
  t.equal(expr('ki', NO_WORDS), '{text} : "ki"');
  t.equal(expr('123', NO_WORDS), '{text} : "123"', 'digits are never a prefix');
});

t.test('letters and digits joined by punctuation in one part form one phrase', async (t) => {
  t.equal(expr('VIII-7', NO_WORDS), '{text} : "viii 7"');
  t.equal(expr('1.5', NO_WORDS), '{text} : "1 5"');
});

t.test('every whitespace-separated part must match (AND)', async (t) => {
  t.equal(expr('景德镇 kiln', NO_WORDS), '{text} : "景德 德镇" AND {text} : "kiln"*');
});

t.test('Han and Latin runs in one part are separate terms', async (t) => {
  t.equal(expr('青花abc瓷', NO_WORDS), '{text} : "青花" AND {text} : "abc"* AND {text} : "瓷"*');
});

t.test('a Latin-only query also tries pinyin syllables when the table has a pinyin column', async (t) => {
  t.equal(expr('jingdezhen'), '({title body} : "jingdezhen"* OR py : "jing de zhen")');
  t.equal(expr('jingdezhen', NO_WORDS), '{text} : "jingdezhen"*', 'no pinyin column, no pinyin');
  t.equal(expr('kiln'), '{title body} : "kiln"*', 'letters that are not pinyin get no pinyin term');
});

t.test('a Latin-only query of several words also matches as one pinyin phrase', async (t) => {
  t.equal(
    expr('Tu Jinshui'),
    '(({title body} : "tu" OR py : "tu") AND ({title body} : "jinshui"* OR py : "jin shui")) OR py : "tu jin shui"',
  );
});

t.test('a query with Han in it never tries pinyin, even for its Latin part', async (t) => {
  t.notMatch(expr('jingdezhen 瓷') ?? '', /py :/);
});

t.test(
  'FTS5 syntax in a query is only characters: operators and quotes end up inside quoted tokens',
  async (t) => {
    t.equal(
      expr('NEAR(a b) OR c*', NO_WORDS),
      '{text} : "near a" AND {text} : "b" AND {text} : "or" AND {text} : "c"',
    );
    t.equal(expr('abc"def', NO_WORDS), '{text} : "abc def"*', 'a quote splits a word, never closes a string');
    t.equal(expr('title:kiln', NO_WORDS), '{text} : "title kiln"*', 'no column filter from the user');
    t.equal(expr('-kiln ^glaze', NO_WORDS), '{text} : "kiln"* AND {text} : "glaze"*');
  },
);

t.test('SQL-injection-looking input is a search for its words', async (t) => {
  t.equal(expr(`"; DROP TABLE f; --`, NO_WORDS), '{text} : "drop"* AND {text} : "table"* AND {text} : "f"');
  t.equal(expr(`' OR 1=1 --`, NO_WORDS), '{text} : "or" AND {text} : "1 1"');
});

t.test('every hostile query yields an expression FTS5 accepts', async (t) => {
  const search = table(t);
  const hostile = [
    'NEAR(a b) OR c*',
    '"unbalanced',
    '((( kiln',
    'title:kiln',
    'a AND OR NOT b',
    `"; DROP TABLE f; --`,
    '^kiln -glaze +x',
    '景德镇" OR "1',
    '*景*',
    'ＮＥＡＲ（景德鎮）',
  ];
  for (const q of hostile) {
    const e = expr(q);
    t.ok(e, `${q}: has words`);
    t.doesNotThrow(() => search(e!), `${q}: ${e}`);
  }
});

t.test('a strict Han query finds the run as a substring: 处理 finds 待处理', async (t) => {
  finds(t, '处理', ['pending']);
});

t.test('a strict Han query does not find records holding only some of its characters', async (t) => {
  finds(t, '景德镇的瓷器历史', []);
});

t.test('a relaxed Han query finds records holding each of its words somewhere', async (t) => {
  finds(t, '景德镇的瓷器历史', ['history'], false);
});

t.test('a traditional-character query finds simplified records', async (t) => {
  finds(t, '景德鎮', ['history', 'jdz']);
});

t.test('a single character finds every record with it', async (t) => {
  finds(t, '瓷', ['history', 'jdz']);
});

t.test('a Latin prefix finds the word, and a numbered phrase finds its record', async (t) => {
  finds(t, 'kil', ['kiln']);
  finds(t, 'viii-7', ['kiln']);
  finds(t, '1.5', ['kiln']);
});

t.test('a pinyin query finds a Han record by its syllables', async (t) => {
  finds(t, 'tu jinshui', ['tu']);
  finds(t, 'Jingdezhen', ['history', 'jdz']);
});

t.test('operator words in a query are searched as words', async (t) => {
  finds(t, '"near" OR', ['quote']);
  finds(t, 'NEAR(kiln firing)', []);
});

t.test('relaxing is offered only when a Han run splits into several words', async (t) => {
  t.equal(canRelax(a.parseQuery('景德镇的瓷器历史')), true);
  t.equal(canRelax(a.parseQuery('景德镇')), false, 'one word');
  t.equal(canRelax(a.parseQuery('kiln glaze firing')), false, 'no Han');
  t.equal(canRelax(a.parseQuery('')), false, 'nothing');
});

t.test('a relaxed query needs each jieba word and scores the whole run too', async (t) => {
  t.equal(
    expr('景德镇的瓷器历史', NO_WORDS, false),
    '(({text} : "景德 德镇" AND {text} : "的"* AND {text} : "瓷器" AND {text} : "历史") AND ' +
      '({text} : "景德 德镇 镇的 的瓷 瓷器 器历 历史" OR {text} : "景德 德镇" OR {text} : "的"* OR {text} : "瓷器" OR {text} : "历史"))',
  );
  t.equal(expr('景德镇', NO_WORDS, false), expr('景德镇', NO_WORDS), 'a one-word run is the same relaxed');
});

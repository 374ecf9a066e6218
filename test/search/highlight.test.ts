import t from 'tap';
import { analyzer } from '../../services/search/analyzer.ts';
import { docSnippet, escapeHtml, markAll, needlesOf, snippet } from '../../services/search/highlight.ts';

/** Unit tests of the highlighter (needles, <mark>, snippets): pure functions over strings. */

const needles = (q: string) => needlesOf(analyzer().parseQuery(q));

t.test('the needles of a query are its runs and their words, longest first', async (t) => {
  t.same(needles('景德镇的瓷器 kiln'), ['景德镇的瓷器', 'kiln', '景德镇', '瓷器', '的']);
});

t.test('the needles of a query are folded: traditional and upper case meet the stored text', async (t) => {
  t.same(needles('景德鎮 KILN').sort(), ['kiln', '景德镇']);
});

t.test('an empty or punctuation-only query has no needles', async (t) => {
  t.same(needles(''), []);
  t.same(needles('*** "" :'), []);
});

t.test('a repeated word is one needle', async (t) => {
  t.same(needles('kiln KILN kiln'), ['kiln']);
});

t.test('escapeHtml escapes the five characters that matter in text and attributes', async (t) => {
  t.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  t.equal(escapeHtml('景德镇'), '景德镇');
});

t.test('a simplified query marks the traditional characters of the record as written', async (t) => {
  t.equal(markAll('景德鎮瓷器', needles('景德镇')), '<mark>景德鎮</mark>瓷器');
});

t.test('marking is case-insensitive and keeps the original case', async (t) => {
  t.equal(markAll('The KILN and the kiln', ['kiln']), 'The <mark>KILN</mark> and the <mark>kiln</mark>');
});

t.test('marked text is HTML-escaped inside and outside the marks', async (t) => {
  t.equal(
    markAll('<b>景德鎮</b> & <i>Kiln</i>', needles('景德镇 kiln')),
    '&lt;b&gt;<mark>景德鎮</mark>&lt;/b&gt; &amp; &lt;i&gt;<mark>Kiln</mark>&lt;/i&gt;',
  );
});

t.test('markup in a query cannot reach the output as markup', async (t) => {
  const out = markAll('a <script> b', needles('<script>'));
  t.equal(out, 'a &lt;<mark>script</mark>&gt; b');
  t.notMatch(out, /<script/);
});

t.test('overlapping and adjacent matches become one mark', async (t) => {
  t.equal(markAll('景德镇瓷器', ['景德镇', '德镇瓷']), '<mark>景德镇瓷</mark>器');
  t.equal(markAll('青花瓷器', ['青花', '瓷器']), '<mark>青花瓷器</mark>');
});

t.test('a needle is matched without overlapping itself', async (t) => {
  t.equal(markAll('aaa', ['aa']), '<mark>aa</mark>a');
});

t.test('a character NFKC expands is marked whole when a needle covers part of it', async (t) => {
  t.equal(markAll('ﬁne', ['f']), '<mark>ﬁ</mark>ne');
  t.equal(markAll('ﬁne ﬁle', ['fi']), '<mark>ﬁ</mark>ne <mark>ﬁ</mark>le');
});

t.test('astral characters and lone surrogates do not shift the marks', async (t) => {
  t.equal(markAll('😀景德鎮😀', ['景德镇']), '😀<mark>景德鎮</mark>😀');
  t.equal(markAll('\ud800景德镇', ['景德镇']), '\ufffd<mark>景德镇</mark>', 'a lone surrogate is replaced');
});

t.test('text without a match and no needles at all are returned escaped and unmarked', async (t) => {
  t.equal(markAll('a < b', ['kiln']), 'a &lt; b');
  t.equal(markAll('a < b', []), 'a &lt; b');
  t.equal(markAll('', ['kiln']), '');
});

t.test('a snippet is a window around the first match, with an ellipsis where it was cut', async (t) => {
  const text = 'x'.repeat(300) + '景德镇' + 'y'.repeat(300);
  t.equal(
    snippet([text], ['景德镇'], 30),
    '…' + 'x'.repeat(10) + '<mark>景德镇</mark>' + 'y'.repeat(17) + '…',
  );
});

t.test('a snippet of a match near the start is not cut at the start', async (t) => {
  t.equal(snippet(['景德镇' + 'y'.repeat(100)], ['景德镇'], 10), '<mark>景德镇</mark>yyyyyyy…');
});

t.test('a snippet comes from the first text with a match, skipping empty ones', async (t) => {
  t.equal(snippet(['', 'nothing here', 'the kiln'], ['kiln']), 'the <mark>kiln</mark>');
});

t.test('a snippet falls back to the start of the first non-empty text when nothing matches', async (t) => {
  t.equal(snippet(['', 'nothing here'.repeat(30), 'other'], ['景德镇'], 20), 'nothing herenothing …');
  t.equal(snippet(['short <text>'], ['景德镇']), 'short &lt;text&gt;', 'no ellipsis when nothing was cut');
});

t.test('a snippet of no text is undefined', async (t) => {
  t.equal(snippet([], ['kiln']), undefined);
  t.equal(snippet(['', ''], ['kiln']), undefined);
});

t.test('a snippet never cuts a surrogate pair', async (t) => {
  const out = snippet(['😀'.repeat(20) + '景德镇' + '😀'.repeat(20)], ['景德镇'], 13)!;
  t.notMatch(out, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u, out);
  t.match(out, /<mark>景德镇<\/mark>/);
});

t.test('a snippet is still marked right when folding changes the length of the text', async (t) => {
  const out = snippet(['ﬁ'.repeat(50) + '景德鎮' + 'z'.repeat(100)], ['景德镇'], 30);
  t.equal(out, '…' + 'ﬁ'.repeat(10) + '<mark>景德鎮</mark>' + 'z'.repeat(17) + '…');
});

t.test("a hit's snippet comes from the body first, else from the short fields joined by ·", async (t) => {
  t.equal(docSnippet({ body: 'the kiln', meta: 'kiln\nglaze' }, ['kiln']), 'the <mark>kiln</mark>');
  t.equal(docSnippet({ body: '', meta: '青花\n景德镇' }, ['景德镇']), '青花 · <mark>景德镇</mark>');
});

t.test(
  'a snippet is centred on its match even when folding lengthens one part of the text and shortens another',
  {
    todo: 'snippet() takes offsets in the folded text for offsets in the original whenever the two have the same length; ligatures before the match and combining marks after it keep the length but shift the offsets, and the window misses the match',
  },
  async (t) => {
    const text = 'ﬁ'.repeat(40) + 'x'.repeat(5) + '景德镇' + 'y'.repeat(5) + 'e\u0301'.repeat(40);
    t.match(snippet([text], ['景德镇'], 12) ?? '', /<mark>景德镇<\/mark>/);
  },
);

t.test(
  'a pinyin query marks the characters that read so, in simplified and traditional script',
  async (t) => {
    const needles = needlesOf(analyzer().parseQuery('jingdezhen'));
    t.equal(markAll('景德镇手工制瓷技艺', needles), '<mark>景德镇</mark>手工制瓷技艺');
    t.equal(markAll('景德鎮的窑', needles), '<mark>景德鎮</mark>的窑');
    t.equal(
      markAll('精的真', needles),
      '<mark>精的真</mark>',
      'homophones read the same (the search matched them too)',
    );
    t.equal(markAll('景德', needles), '景德', 'a part of the reading is not a match');
    t.equal(markAll('拉坯与利坯', needlesOf(analyzer().parseQuery('lapi'))), '<mark>拉坯</mark>与利坯');
  },
);

t.test(
  'a pinyin snippet is centred on the characters it matched, past the start of a long text',
  async (t) => {
    const needles = needlesOf(analyzer().parseQuery('jingdezhen'));
    const out = docSnippet(
      { body: '这是一段很长的文字。'.repeat(30) + '御窑厂遗址位于景德镇珠山区', meta: '' },
      needles,
    );
    t.match(out ?? '', /^….*位于<mark>景德镇<\/mark>珠山区$/);
  },
);

t.test('words that are not pinyin, and queries with Han characters, add no pinyin needle', async (t) => {
  t.same(needlesOf(analyzer().parseQuery('kiln')), ['kiln']);
  t.notOk(needlesOf(analyzer().parseQuery('青花 jingdezhen')).some((n) => n.includes(' ')));
});

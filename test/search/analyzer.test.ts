import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import {
  analyzer,
  bigramsOf,
  createAnalyzer,
  MAX_QUERY_SEGMENTS,
  queryKey,
  splitPinyin,
  wellFormed,
} from '../../services/search/analyzer.ts';
import { tempDir } from '../helpers/env.ts';

/** Unit tests of the Chinese analyzer: no Redis, no index, only the functions. */

const a = analyzer();

t.test('folding turns traditional characters into simplified ones', async (t) => {
  t.equal(a.fold('景德鎮'), '景德镇');
  t.equal(a.fold('臺灣'), '台湾');
  t.equal(a.fold('青花瓷器與釉裏紅'), '青花瓷器与釉里红');
});

t.test('folding keeps a phrase OpenCC knows as written (乾隆 is not turned into 干隆)', async (t) => {
  t.equal(a.fold('乾隆'), '乾隆');
});

t.test(
  'folding maps full-width letters, roman numerals and upper case to plain lower-case ASCII',
  async (t) => {
    t.equal(a.fold('ＶＩＩＩ－７'), 'viii-7');
    t.equal(a.fold('Ⅷ'), 'viii');
    t.equal(a.fold('KILN ＡＢＣ'), 'kiln abc');
  },
);

t.test('folding replaces a lone surrogate instead of passing it on', async (t) => {
  t.equal(wellFormed('a\ud800b'), 'a\ufffdb');
  t.equal(wellFormed('😀'), '😀', 'a whole surrogate pair is kept');
  t.equal(a.fold('x\udc00'), 'x\ufffd');
});

t.test('foldChars gives one folded string per code point, even when NFKC expands one', async (t) => {
  t.same(a.foldChars('景德鎮'), ['景', '德', '镇']);
  t.same(a.foldChars('ﬁ景'), ['fi', '景'], 'the ligature folds to two letters, still one entry');
  t.same(a.foldChars('😀A'), ['😀', 'a'], 'an astral character is one entry');
});

t.test('a Han run is indexed as overlapping bigrams plus its last character', async (t) => {
  t.equal(a.grams('景德镇'), '景德 德镇 镇');
  t.equal(a.grams('瓷'), '瓷', 'a single character is its own token');
});

t.test(
  'letters and digits are indexed as words, split at punctuation and at a change of script',
  async (t) => {
    t.equal(a.grams(a.fold('景德镇瓷器 VIII-7 abc')), '景德 德镇 镇瓷 瓷器 器 viii 7 abc');
    t.equal(a.grams('青花abc瓷'), '青花 花 abc 瓷');
    t.equal(a.grams('1.5'), '1 5');
    t.equal(a.grams('!!! --- '), '', 'punctuation alone gives no token');
  },
);

t.test('jieba words keep only Han words of two or more characters', async (t) => {
  const words = a.words(a.fold('景德镇的青花瓷器历史 kiln 7'));
  t.same(words.split(' '), ['景德镇', '青花', '青花瓷', '历史']);
  t.notOk(words.split(' ').includes('的'), 'a single character is not a word here');
  t.equal(a.words('kiln 123'), '', 'no Latin words');
});

t.test('pinyin is toneless, one syllable per Han character, with Latin words kept', async (t) => {
  t.equal(a.pinyin('景德鎮 kiln'), 'jing de zhen kiln', 'traditional text is folded first');
  t.equal(a.pinyin('绿'), 'lv', 'ü is written v');
  t.equal(a.pinyin(''), '');
});

t.test('a query is parsed into whitespace-separated segments of Han and Latin runs', async (t) => {
  t.same(a.parseQuery('景德镇abc 瓷'), {
    segments: [
      [
        { type: 'han', text: '景德镇' },
        { type: 'latin', text: 'abc' },
      ],
      [{ type: 'han', text: '瓷' }],
    ],
    latinOnly: false,
  });
});

t.test('a query is folded before it is parsed (traditional and full-width input)', async (t) => {
  t.same(a.parseQuery('景德鎮 ＫＩＬＮ').segments, [
    [{ type: 'han', text: '景德镇' }],
    [{ type: 'latin', text: 'kiln' }],
  ]);
});

t.test('an empty, blank or punctuation-only query has no segments', async (t) => {
  for (const q of ['', '   ', '\u0000\t\n', '*** ::: --- ""'])
    t.same(a.parseQuery(q), { segments: [], latinOnly: true }, JSON.stringify(q));
});

t.test('control characters separate query parts like whitespace', async (t) => {
  t.same(a.parseQuery('kiln\u0000glaze').segments, [
    [{ type: 'latin', text: 'kiln' }],
    [{ type: 'latin', text: 'glaze' }],
  ]);
});

t.test('query syntax characters are dropped and the words around them kept', async (t) => {
  t.same(a.parseQuery('NEAR(x) "OR" c*').segments, [
    [
      { type: 'latin', text: 'near' },
      { type: 'latin', text: 'x' },
    ],
    [{ type: 'latin', text: 'or' }],
    [{ type: 'latin', text: 'c' }],
  ]);
});

t.test('a query is Latin-only exactly when it holds no Han character', async (t) => {
  t.equal(a.parseQuery('kiln jingdezhen').latinOnly, true);
  t.equal(a.parseQuery('kiln 瓷').latinOnly, false);
  t.equal(a.parseQuery('景德鎮').latinOnly, false, 'traditional Han counts as Han');
});

t.test('a query Han run is cut into jieba words without overlapping sub-words', async (t) => {
  t.same(a.queryWords('景德镇的瓷器历史'), ['景德镇', '的', '瓷器', '历史']);
  t.same(a.queryWords('景德镇abc'), ['景德镇'], 'Latin pieces are not query words');
});

t.test("the project's ceramics dictionary keeps a craft term whole that plain jieba cuts", async (t) => {
  const dir = tempDir(t);
  const empty = path.join(dir, 'empty.txt');
  fs.writeFileSync(empty, '');
  t.same(createAnalyzer({ userDict: empty }).queryWords('青花釉里红'), ['青花', '釉里红']);
  t.same(a.queryWords('青花釉里红'), ['青花釉里红']);
});

t.test('a dictionary file given to createAnalyzer teaches jieba a name it does not know', async (t) => {
  const name = '涂金水';
  t.notOk(a.queryWords(`${name}师傅`).includes(name), 'the default dictionaries cut the name');
  const dict = path.join(tempDir(t), 'dict.txt');
  fs.writeFileSync(dict, `${name} 90000 nr\n`);
  t.same(createAnalyzer({ userDict: dict }).queryWords(`${name}师傅`), [name, '师傅']);
});

t.test('an analyzer without its dictionary file fails to start', async (t) => {
  t.throws(() => createAnalyzer({ userDict: path.join(tempDir(t), 'missing.txt') }), { code: 'ENOENT' });
});

t.test('bigramsOf gives the phrase a Han string is indexed as, and nothing for one character', async (t) => {
  t.same(bigramsOf('景德镇'), ['景德', '德镇']);
  t.same(bigramsOf('景德'), ['景德']);
  t.same(bigramsOf('景'), []);
  t.same(bigramsOf('𠀀𠀁'), ['𠀀𠀁'], 'astral Han characters count as one each');
});

t.test('splitPinyin splits letters into the fewest pinyin syllables', async (t) => {
  t.same(splitPinyin('jingdezhen'), ['jing', 'de', 'zhen']);
  t.same(splitPinyin('xian'), ['xian'], 'one syllable rather than xi + an');
  t.same(splitPinyin('tujinshui'), ['tu', 'jin', 'shui']);
});

t.test('splitPinyin refuses letters that are not pinyin', async (t) => {
  for (const s of ['kiln', 'Jing', 'jing1', '', 'a'.repeat(61), 'ü'])
    t.equal(splitPinyin(s), undefined, JSON.stringify(s));
});

t.test('parseQuery keeps every segment of a long query (cutting is left to the engines)', async (t) => {
  const q = Array.from({ length: MAX_QUERY_SEGMENTS + 8 }, (_, i) => `w${i}`).join(' ');
  t.equal(a.parseQuery(q).segments.length, MAX_QUERY_SEGMENTS + 8);
});

t.test('the process-wide analyzer is created once', async (t) => {
  t.equal(analyzer(), a);
});

t.test(
  'a title and a query meet as the same title key whatever their script, width, case and punctuation',
  async (t) => {
    const key = (q: string) => queryKey(a.parseQuery(q));
    t.equal(a.titleKey('《景德鎮手工製瓷技藝》'), key('景德镇手工制瓷技艺'), 'traditional, in title marks');
    t.equal(a.titleKey('Ⅷ-7'), key('ＶＩＩＩ－７'), 'Roman numeral and full width fold alike');
    t.equal(
      a.titleKey('2024 瓷博会开幕式'),
      key(' 2024瓷博会开幕式 '),
      'spacing between runs does not count',
    );
    t.not(
      a.titleKey('胡长青（景德镇手工制瓷技艺·满窑）'),
      key('景德镇手工制瓷技艺'),
      'containing is not being',
    );
    t.ok(
      a.titleKey('景德镇手工制瓷技艺·满窑').startsWith(key('景德鎮手工製瓷技藝')),
      'a title that starts with it',
    );
    t.equal(key('!!!'), '', 'a query without words has no key');
  },
);

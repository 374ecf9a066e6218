import t from 'tap';
import { dublinCore, itemKinds, metadataSchemas } from '../../schemas/item.ts';
import { chooseLocale, isMessageKey, translator } from '../../services/web/i18n.ts';
import { citation, fieldOrder, wholeSegments } from '../../services/web/item-data.ts';
import { localPath } from '../../services/web/plugin.tsx';
import { en } from '../../services/web/messages/en.ts';
import { zhCN, type MessageKey } from '../../services/web/messages/zh-CN.ts';
import { byteSize, clock, withParams } from '../../services/web/page-context.ts';
import { altText } from '../../services/web/pages/item.tsx';
import { safeMarks } from '../../services/web/pages/parts.tsx';

t.test('every field of every kind has a label in both languages', async (t) => {
  for (const kind of itemKinds) {
    const props = Object.keys((metadataSchemas[kind] as unknown as { properties: object }).properties);
    for (const field of props) {
      const key = `field.${field}`;
      t.ok(isMessageKey(key), `${kind}.${field} has a label`);
      t.not(en[key as MessageKey], zhCN[key as MessageKey], `${field} is translated`);
    }
    t.ok(isMessageKey(`kind.${kind}`), `kind ${kind} has a name`);
  }
});

t.test('the two catalogues have the same keys and the same placeholders', async (t) => {
  t.same(Object.keys(en).sort(), Object.keys(zhCN).sort());
  const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(zhCN) as MessageKey[]) {
    t.same(names(en[key]), names(zhCN[key]), `${key} has the same placeholders`);
  }
});

t.test('the language comes from ?lang, then the cookie, then Accept-Language, else 简体中文', async (t) => {
  t.equal(chooseLocale({ query: 'en', cookie: 'zh-CN', acceptLanguage: 'zh' }), 'en');
  t.equal(chooseLocale({ query: undefined, cookie: 'en', acceptLanguage: 'zh-CN' }), 'en');
  t.equal(chooseLocale({ query: 'xx', cookie: undefined, acceptLanguage: 'en-GB,en;q=0.9' }), 'en');
  t.equal(chooseLocale({ query: undefined, cookie: undefined, acceptLanguage: 'zh-TW,en;q=0.5' }), 'zh-CN');
  t.equal(chooseLocale({ query: undefined, cookie: undefined, acceptLanguage: 'fr' }), 'zh-CN');
  t.equal(chooseLocale({ query: undefined, cookie: undefined, acceptLanguage: undefined }), 'zh-CN');
});

t.test('placeholders are filled and unknown ones left visible', async (t) => {
  const tr = translator('en');
  t.equal(tr('search.total', { total: 3 }), '3 results');
  t.equal(translator('zh-CN')('search.showing', { from: 1, to: 20, total: 33 }), '第 1–20 条，共 33 条');
  t.equal(tr('search.total'), '{total} results');
});

t.test(
  'highlighted text keeps only <mark> tags: any other markup an engine let through is escaped',
  async (t) => {
    t.equal(safeMarks('<mark>青花</mark>瓷'), '<mark>青花</mark>瓷');
    t.equal(safeMarks('a &lt;b&gt; &amp; c'), 'a &lt;b&gt; &amp; c');
    t.equal(
      safeMarks('<img src=x onerror=alert(1)><mark>x</mark>'),
      '&lt;img src=x onerror=alert(1)&gt;<mark>x</mark>',
    );
    t.equal(safeMarks('<mark onclick=1>x</mark>'), '&lt;mark onclick=1&gt;x</mark>');
    t.equal(safeMarks('Tom & Jerry'), 'Tom &amp; Jerry');
  },
);

t.test('URLs keep the other parameters when one is set or removed', async (t) => {
  t.equal(
    withParams('/search?q=%E9%9D%92&kind=a&kind=b', { lang: 'en' }),
    '/search?q=%E9%9D%92&kind=a&kind=b&lang=en',
  );
  t.equal(withParams('/items/x?t=3&lang=en', { t: undefined }), '/items/x?lang=en');
  t.equal(withParams('/', {}), '/');
});

t.test('times and sizes read as a player and a file list show them', async (t) => {
  t.equal(clock(0), '00:00');
  t.equal(clock(83.7), '01:23');
  t.equal(clock(3 * 3600 + 5), '3:00:05');
  t.equal(byteSize(900), '900 B');
  t.equal(byteSize(1536), '1.5 KiB');
  t.equal(byteSize(5 * 1024 ** 3), '5.0 GiB');
});

t.test('fields come Dublin Core first, then the kind’s own, in schema order', async (t) => {
  const order = fieldOrder('collection_object');
  const dc = Object.keys(dublinCore).length;
  t.equal(order[0], 'title');
  t.ok(order.indexOf('rights') < order.indexOf('museum'));
  t.same(order.slice(dc, dc + 2), ['museum', 'accession_number']);
});

t.test('a citation follows GB/T 7714-2015 for an online resource', async (t) => {
  const now = new Date('2026-12-02T10:00:00Z');
  const url = 'https://ciku.example/items/oh-1';
  const dates = { created: '2025-01-01T00:00:00Z', updated: '2025-03-04T00:00:00Z' };
  t.equal(
    citation(
      { kind: 'oral_history', metadata: { creator: '瓷库口述史项目组', date: '2024-05-18' }, ...dates },
      '老艺人谈青花分水技法',
      url,
      now,
    ),
    '瓷库口述史项目组. 老艺人谈青花分水技法[EB/OL]. 景德镇: 瓷库, 2024(2025-03-04)[2026-12-02]. https://ciku.example/items/oh-1.',
  );
  t.match(
    citation({ kind: 'archive_document', metadata: { fonds: '景德镇市档案馆' }, ...dates }, '档案', url, now),
    /^景德镇市档案馆\. 档案\[A\/OL\]\. 景德镇: 瓷库, 2025\(2025-03-04\)/,
  );
  t.match(
    citation({ kind: 'media', metadata: { creator: ['甲', '乙', '丙', '丁'] }, ...dates }, 'x', url, now),
    /^甲, 乙, 丙, 等\. x/,
  );
});

t.test('alt text is the title with what the object is and when it was made', async (t) => {
  t.equal(
    altText({ metadata: { object_name: '梅瓶', period: '明永乐' } }, '青花缠枝莲纹梅瓶'),
    '青花缠枝莲纹梅瓶（明永乐）',
  );
  t.equal(altText({ metadata: {} }, '湖田窑遗址'), '湖田窑遗址');
});

t.test('after sign-in a reader returns only to a path on our own origin', async (t) => {
  const origin = 'https://ciku.example';
  t.equal(localPath('/items/x?lang=en#player', origin), '/items/x?lang=en#player');
  t.equal(localPath('/search?q=青花', origin), '/search?q=%E9%9D%92%E8%8A%B1');
  for (const hostile of [
    '//evil.example/x',
    '/\\evil.example',
    '/\t/evil.example/x',
    '/\n/evil.example',
    'https://evil.example',
    'evil',
    undefined,
  ])
    t.equal(localPath(hostile, origin), '/', `${JSON.stringify(hostile)} goes home`);
});

t.test('a segments file cut at a byte limit keeps its whole segments and parses', async (t) => {
  const full = JSON.stringify({
    version: 1,
    segments: [
      { start: 0, end: 1, text: 'a},{"b' },
      { start: 1, end: 2, text: '第二' },
      { start: 2, end: 3, text: '三' },
    ],
  });
  const head = full.slice(0, full.indexOf('三'));
  const parsed = JSON.parse(wholeSegments(head)) as { segments: { text: string }[] };
  t.same(
    parsed.segments.map((s) => s.text),
    ['a},{"b', '第二'],
  );
  t.same(JSON.parse(wholeSegments('{"version":1,"segments":[{"sta')), { segments: [] });
});

import t from 'tap';
import { SEARCH1_CONTEXT } from '../../schemas/iiif-search.ts';
import { canvasId } from '../../services/iiif/ids.ts';
import {
  searchAnnotationList1,
  searchAnnotationPage,
  transcriptMatches,
  type SearchedItem,
} from '../../services/iiif/search.ts';

/**
 * The Content Search 1.0 view of a search answer (`/iiif/{id}/search1`), built from the same matches as the 2.0
 * page: the shape Mirador 4 reads (`resources`, `hits` with before/match/after, `within.total`).
 */

const PUBLIC = 'https://archive.ciku.test';
const ITEM: SearchedItem = {
  id: 'OH-1',
  version: 'v3',
  files: [
    { name: 'talk.mp4', role: 'original', media_type: 'video/mp4' },
    { name: 'talk.vtt', role: 'transcript', media_type: 'text/vtt' },
  ],
};
const CANVAS = canvasId(PUBLIC, ITEM.id, ITEM.version, 'talk.mp4');
const SEGMENTS = [
  { file: 'talk.vtt', start: 10.5, end: 13.9, text: '然后学<mark>拉坯</mark>，手要稳，转盘要匀。' },
  { file: 'talk.vtt', start: 40, end: 42.25, text: '<mark>拉坯</mark>之后利坯，再<mark>拉坯</mark>。' },
];

function answer(page: number, total: number) {
  const input = {
    publicUrl: PUBLIC,
    item: ITEM,
    params: { q: '拉坯' },
    page,
    pageSize: 2,
    total,
    matches: transcriptMatches(PUBLIC, ITEM, SEGMENTS),
    ignored: ['user'],
  };
  return { v1: searchAnnotationList1(input), v2: searchAnnotationPage(input) };
}

t.test('each matching cue is an oa:Annotation on the canvas, its time as a fragment selector', async (t) => {
  const { v1 } = answer(1, 2);
  t.equal(v1['@context'], SEARCH1_CONTEXT);
  t.equal(v1['@type'], 'sc:AnnotationList');
  t.equal(v1['@id'], `${PUBLIC}/iiif/OH-1/search1?q=${encodeURIComponent('拉坯')}&page=1`);
  t.same(
    v1.resources.map((r) => ({ chars: r.resource.chars, full: r.on.full, t: r.on.selector.value })),
    [
      { chars: '然后学拉坯，手要稳，转盘要匀。', full: CANVAS, t: 't=10.5,13.9' },
      { chars: '拉坯之后利坯，再拉坯。', full: CANVAS, t: 't=40,42.25' },
    ],
  );
});

t.test('the resources carry the 2.0 answer’s annotation ids, so both views name the same cues', async (t) => {
  const { v1, v2 } = answer(1, 2);
  t.same(
    v1.resources.map((r) => r['@id']),
    v2.items.map((a) => a.id),
  );
});

t.test('a hit per highlighted range, pointing at its cue, with the words before and after', async (t) => {
  const { v1 } = answer(1, 2);
  const [first, second] = v1.resources.map((r) => r['@id']);
  t.same(v1.hits, [
    {
      '@type': 'search:Hit',
      annotations: [first],
      match: '拉坯',
      before: '然后学',
      after: '，手要稳，转盘要匀。',
    },
    { '@type': 'search:Hit', annotations: [second], match: '拉坯', before: '', after: '之后利坯，再拉坯。' },
    { '@type': 'search:Hit', annotations: [second], match: '拉坯', before: '拉坯之后利坯，再', after: '。' },
  ]);
});

t.test(
  'within counts the cues as the 2.0 total does, pages link by URL and ignored parameters are named',
  async (t) => {
    const { v1, v2 } = answer(2, 5);
    t.equal(v1.within.total, v2.partOf.total);
    t.equal(v1.within.total, 5);
    t.equal(v1.startIndex, 2);
    const url = (n: number) => `${PUBLIC}/iiif/OH-1/search1?q=${encodeURIComponent('拉坯')}&page=${n}`;
    t.equal(v1.within.first, url(1));
    t.equal(v1.within.last, url(3));
    t.equal(v1.next, url(3));
    t.equal(v1.prev, url(1));
    t.same(v1.within.ignored, ['user']);
    const lone = answer(1, 2).v1;
    t.notOk('next' in lone || 'prev' in lone, 'a single page links nowhere');
  },
);

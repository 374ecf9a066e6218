import t from 'tap';
import { searchablePageText } from '../../services/search/documents.ts';

t.test('a line break inside Chinese text is layout: removed for search, other breaks kept', async (t) => {
  t.equal(searchablePageText('景德镇创办\n湖南瓷业'), '景德镇创办湖南瓷业', 'a phrase across a wrapped line');
  t.equal(
    searchablePageText('青花 \r\n  釉里红，\n粉彩'),
    '青花釉里红，粉彩',
    'spaces around the break and CJK punctuation',
  );
  t.equal(searchablePageText('Blue and\nwhite'), 'Blue and\nwhite', 'a Latin line break separates words');
  t.equal(searchablePageText('青花\nBlue'), '青花\nBlue', 'and so does one between scripts');
  t.equal(searchablePageText('青花\n\n釉里红'), '青花\n\n釉里红', 'a paragraph break stays');
});

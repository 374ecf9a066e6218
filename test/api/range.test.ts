import t from 'tap';
import { contentTypeHeader, inlineSafe, parseRange } from '../../services/api/range.ts';

/** Unit tests of Range header parsing (RFC 9110 §14) and the download type helpers beside it. */

t.test('no Range header asks for the whole file', async (t) => {
  t.equal(parseRange(undefined, 10), undefined);
});

t.test('a first-last range is inclusive', async (t) => {
  t.same(parseRange('bytes=0-0', 10), { start: 0, end: 0 });
  t.same(parseRange('bytes=2-5', 10), { start: 2, end: 5 });
  t.same(parseRange('bytes=0-9', 10), { start: 0, end: 9 });
});

t.test('an open-ended range runs to the last byte', async (t) => {
  t.same(parseRange('bytes=3-', 10), { start: 3, end: 9 });
  t.same(parseRange('bytes=9-', 10), { start: 9, end: 9 });
});

t.test('a range past the end is cut at the last byte', async (t) => {
  t.same(parseRange('bytes=3-100', 10), { start: 3, end: 9 });
  t.same(parseRange('bytes=0-99999999999999999999', 10), { start: 0, end: 9 }, 'even past 2^53');
});

t.test('a suffix range asks for the last n bytes', async (t) => {
  t.same(parseRange('bytes=-3', 10), { start: 7, end: 9 });
  t.same(parseRange('bytes=-1', 1), { start: 0, end: 0 });
});

t.test('a suffix longer than the file asks for the whole file as a range', async (t) => {
  t.same(parseRange('bytes=-20', 10), { start: 0, end: 9 });
});

t.test('a zero-length suffix is unsatisfiable', async (t) => {
  t.equal(parseRange('bytes=-0', 10), 'unsatisfiable');
});

t.test('a range starting at or past the end is unsatisfiable', async (t) => {
  t.equal(parseRange('bytes=10-', 10), 'unsatisfiable');
  t.equal(parseRange('bytes=10-20', 10), 'unsatisfiable');
  t.equal(parseRange('bytes=99999999999999999999-', 10), 'unsatisfiable');
});

t.test('a range whose last byte comes before its first is unsatisfiable', async (t) => {
  t.equal(parseRange('bytes=5-2', 10), 'unsatisfiable');
});

t.test('every range of an empty file is unsatisfiable', async (t) => {
  for (const h of ['bytes=0-', 'bytes=0-0', 'bytes=-5']) t.equal(parseRange(h, 0), 'unsatisfiable', h);
});

t.test('leading zeros and surrounding whitespace are accepted', async (t) => {
  t.same(parseRange('bytes=007-009', 10), { start: 7, end: 9 });
  t.same(parseRange('  bytes=0-1  ', 10), { start: 0, end: 1 });
});

t.test('a multi-range request gets the whole file, not a multipart answer', async (t) => {
  t.equal(parseRange('bytes=0-1,3-4', 10), undefined);
  t.equal(parseRange('bytes=0-1, 3-4', 10), undefined);
  t.equal(parseRange('bytes=0-5,2-8', 10), undefined, 'overlapping ranges too');
});

t.test('a malformed Range header is ignored and the whole file is sent', async (t) => {
  for (const h of [
    '',
    'bytes=',
    'bytes=-',
    'bytes=a-b',
    'bytes=0--1',
    'bytes=1e3-',
    'bytes=0x10-',
    'bytes=1.5-2',
    'bytes 0-1',
    'bytes=0-1;x',
  ])
    t.equal(parseRange(h, 10_000), undefined, JSON.stringify(h));
});

t.test('a Range in another unit is ignored', async (t) => {
  t.equal(parseRange('items=0-1', 10), undefined);
  t.equal(parseRange('none', 10), undefined);
});

t.test('only types a browser renders without script may be shown inline', async (t) => {
  for (const type of [
    'image/jpeg',
    'image/png',
    'audio/mpeg',
    'video/mp4',
    'text/plain',
    'text/vtt',
    'application/pdf',
  ])
    t.ok(inlineSafe(type), type);
  for (const type of [
    'text/html',
    'application/xhtml+xml',
    'image/svg+xml',
    'application/xml',
    'text/xml',
    'application/javascript',
    'image/jpeg; charset=x',
    ' image/jpeg',
  ])
    t.notOk(inlineSafe(type), type);
});

t.test('text types are declared UTF-8 and binary types are left alone', async (t) => {
  t.equal(contentTypeHeader('text/plain'), 'text/plain; charset=utf-8');
  t.equal(contentTypeHeader('application/json'), 'application/json; charset=utf-8');
  t.equal(contentTypeHeader('application/x-subrip'), 'application/x-subrip; charset=utf-8');
  t.equal(contentTypeHeader('image/jpeg'), 'image/jpeg');
  t.equal(contentTypeHeader('application/jsonx'), 'application/jsonx');
});

import { LRUCache } from 'lru-cache';
import { anonymous, canRead, readScope, scopeAllows, type ReadScope } from '../archive/access.ts';
import type { Items, ItemView } from '../archive/items.ts';
import { isCikuError } from '../errors.ts';
import type { ListAfter, SearchIndex } from '../search/search-index.ts';
import { zhCN } from '../web/messages/zh-CN.ts';
import { en } from '../web/messages/en.ts';
import { itemKinds } from '../../schemas/item.ts';
import { oaiDcXml, OAI_DC_NS } from './dublin-core.ts';
import { CIKU_NS, CIKU_XSD_PATH, nativeXml } from './native.ts';
import {
  encodeSetValue,
  inSet,
  kindOfFilter,
  parseSet,
  setFamilies,
  setSpecsOf,
  setValuesOf,
  type SetFamily,
  type SetFilter,
} from './sets.ts';
import { decodeToken, encodeToken, type HarvestState, type ListVerb } from './tokens.ts';
import { element, openTag, textElement } from './xml.ts';

/**
 * The OAI-PMH 2.0 provider (https://www.openarchives.org/OAI/openarchivesprotocol.html): the six verbs over the
 * item catalogue, answered as the anonymous principal whatever the caller sent — harvesters publish what they
 * gather, so only what anonymous may read is ever a record.
 *
 * Records and datestamps. Each item is one record whose datestamp is its head version's (`updated`, to the
 * second). An item anonymous may read is a record. An item it may not read (a tombstone, or an item made
 * restricted, private or embargoed) is a *deleted record* if anonymous could read it once — some earlier version
 * was readable under the access decision on the day the next version replaced it — and is not in the repository at
 * all otherwise, so an item that was always private never shows, not even its identifier (its existence does not
 * leak; nor is it counted). A deleted record keeps the sets of the last version harvesters could read.
 *
 * Lists walk the catalogue in `(updated, id)` order (`SearchIndex.listChanges`, every row, any access) and decide
 * each row with `canRead`; a page is written to the response record by record as it is found.
 */
export interface OaiOptions {
  /** CIKU_PUBLIC_URL: the base URL is `<publicUrl>/oai`, and every link in a record starts with it. */
  publicUrl: string;
  adminEmail: string;
  repositoryName?: string;
  /** Records (or headers) a list answers before its resumption token. */
  pageSize?: number;
  /** How long a resumption token stays good after it is handed out. */
  tokenTtlMs?: number;
}

export interface OaiDeps {
  search: Pick<SearchIndex, 'listChanges' | 'listChangeHeads'>;
  items: Pick<Items, 'get' | 'versions'>;
  clock: () => Date;
}

/** The protocol's error conditions. Two never arise here: every item has both formats and sets are supported. */
type OaiErrorCode =
  | 'badArgument'
  | 'badResumptionToken'
  | 'badVerb'
  | 'cannotDisseminateFormat'
  | 'idDoesNotExist'
  | 'noRecordsMatch';

class OaiError extends Error {
  constructor(
    readonly oaiCode: OaiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const VERBS = {
  Identify: { required: [], optional: [] },
  ListMetadataFormats: { required: [], optional: ['identifier'] },
  ListSets: { required: [], optional: [] },
  GetRecord: { required: ['identifier', 'metadataPrefix'], optional: [] },
  ListIdentifiers: { required: ['metadataPrefix'], optional: ['from', 'until', 'set'] },
  ListRecords: { required: ['metadataPrefix'], optional: ['from', 'until', 'set'] },
} as const satisfies Record<string, { required: readonly string[]; optional: readonly string[] }>;
type Verb = keyof typeof VERBS;

const FORMATS = {
  oai_dc: { schema: 'http://www.openarchives.org/OAI/2.0/oai_dc.xsd', namespace: OAI_DC_NS },
  ciku: { schema: '', namespace: CIKU_NS },
} as const;
type Prefix = keyof typeof FORMATS;

const OAI_NS = 'http://www.openarchives.org/OAI/2.0/';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const WALK_BATCH = 500;
const MAX_BATCH = 2000;
/** Text sent in pieces of about this many characters (one piece per record costs a stream chunk each). */
const PIECE = 64 * 1024;
const COUNT_BATCH = 2000;

/** A row's fate for harvesters. */
interface Rec {
  id: string;
  key: ListAfter;
  datestamp: string;
  deleted: boolean;
  /** The head (a live record) or the last version harvesters could read (a deleted one): what sets come from. */
  view: ItemView;
}

/** `2026-12-03T06:47:16.123Z` → `2026-12-03T06:47:16Z`. */
export function secondOf(iso: string): string {
  // The archive writes `toISOString()` (…ss.sssZ): cut it; anything else is parsed first.
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(iso)
    ? `${iso.slice(0, 19)}Z`
    : `${new Date(iso).toISOString().slice(0, 19)}Z`;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const SECOND = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/**
 * The harvest's upper bound: the last millisecond of the second before the one it began in. Datestamps are
 * seconds (a version's `created`), so a record changed later in the harvest's own second carries a datestamp of
 * that second, not after the moment the harvest began: a bound of "now" would let it in half-way (a repeat, or an
 * add the harvest's first pages never saw). Records of the harvest's second wait for the next harvest, whose
 * `from` (this responseDate, inclusive) takes them; none is lost.
 */
export function harvestBound(now: Date): number {
  return Math.floor(now.getTime() / 1000) * 1000 - 1;
}

/** A from/until argument → its first (or last) millisecond and granularity; undefined if not a valid UTCdatetime. */
function parseDatestamp(text: string, end: boolean): { ms: number; day: boolean } | undefined {
  const day = DAY.exec(text);
  const sec = day ? undefined : SECOND.exec(text);
  if (!day && !sec) return undefined;
  const iso = day ? `${text}T00:00:00.000Z` : `${text.slice(0, -1)}.000Z`;
  const ms = Date.parse(iso);
  // Date.parse rolls 2026-02-30 over; a date that does not print back as given does not exist.
  if (Number.isNaN(ms) || new Date(ms).toISOString() !== iso) return undefined;
  return { ms: ms + (end ? (day ? 86_399_999 : 999) : 0), day: day !== null };
}

export function createOaiProvider(deps: OaiDeps, options: OaiOptions) {
  const base = options.publicUrl.replace(/\/+$/, '');
  const baseUrl = `${base}/oai`;
  const host = new URL(base).hostname;
  const idPrefix = `oai:${host}:`;
  const pageSize = options.pageSize ?? 100;
  const ttl = options.tokenTtlMs ?? 60 * 60 * 1000;
  const repositoryName = options.repositoryName ?? `${zhCN['site.name']} ciku — ${en['site.tagline']}`;

  /** The last version anonymous could read, of an item it cannot read now (immutable per head version). */
  const exposedCache = new LRUCache<string, { view: ItemView | null }>({ max: 100_000 });

  async function lastExposed(head: Pick<ItemView, 'id' | 'version'>): Promise<ItemView | undefined> {
    const key = `${head.id}@${head.version}`;
    const hit = exposedCache.get(key);
    if (hit) return hit.view ?? undefined;
    let versions: Awaited<ReturnType<OaiDeps['items']['versions']>>;
    try {
      versions = await deps.items.versions(head.id);
    } catch (err) {
      // A catalogue row whose object is gone from the store (purged, or a catalogue ahead of its archive): nothing
      // of it was ever readable here.
      if (isCikuError(err, 'CIKU_ERR_ITEM_NOT_FOUND')) return undefined;
      throw err;
    }
    let found: ItemView | undefined;
    for (let i = versions.length - 2; i >= 0 && found === undefined; i--) {
      const view = await deps.items.get(head.id, versions[i]!.version);
      // Readable under the access decision on the day the next version replaced it.
      if (!view.tombstone && canRead(anonymous, view.access, new Date(versions[i + 1]!.created)))
        found = view;
    }
    exposedCache.set(key, { view: found ?? null });
    return found;
  }

  /** A row anonymous may read now: its record (no archive read); undefined otherwise. */
  function liveRecord(row: ItemView, scope: ReadScope): Rec | undefined {
    if (row.tombstone || !scopeAllows(scope, row.access)) return undefined;
    const key = { updated: Date.parse(row.updated), id: row.id };
    return { id: row.id, key, datestamp: secondOf(row.updated), deleted: false, view: row };
  }

  async function recordOf(row: ItemView, now: Date): Promise<Rec | undefined> {
    const live = liveRecord(row, readScope(anonymous, now));
    if (live) return live;
    const exposed = await lastExposed(row);
    if (exposed === undefined) return undefined;
    const key = { updated: Date.parse(row.updated), id: row.id };
    return { id: row.id, key, datestamp: secondOf(row.updated), deleted: true, view: exposed };
  }

  const itemUrl = (id: string) => `${base}/items/${encodeURIComponent(id)}`;
  const fileUrl = (id: string) => (name: string) =>
    `${base}/v1/items/${encodeURIComponent(id)}/files/${name.split('/').map(encodeURIComponent).join('/')}`;

  function headerXml(rec: Rec): string {
    const sets = setSpecsOf(rec.view)
      .map((s) => textElement('setSpec', s))
      .join('');
    return element(
      'header',
      rec.deleted ? { status: 'deleted' } : undefined,
      textElement('identifier', idPrefix + rec.id) + textElement('datestamp', rec.datestamp) + sets,
    );
  }

  function recordXml(rec: Rec, prefix: Prefix): string {
    if (rec.deleted) return element('record', undefined, headerXml(rec));
    const metadata =
      prefix === 'oai_dc' ? oaiDcXml(rec.view, itemUrl(rec.id)) : nativeXml(rec.view, base, fileUrl(rec.id));
    return element('record', undefined, headerXml(rec) + element('metadata', undefined, metadata));
  }

  function envelope(now: Date, request: Record<string, string> | undefined): string {
    return (
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      openTag('OAI-PMH', {
        xmlns: OAI_NS,
        'xmlns:xsi': XSI,
        'xsi:schemaLocation': `${OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd`,
      }) +
      textElement('responseDate', secondOf(now.toISOString())) +
      textElement('request', baseUrl, request)
    );
  }

  /** The request's arguments, each at most once; `verb` checked first (badVerb), then the verb's arguments. */
  function parseArgs(pairs: [string, string][]): { verb: Verb; args: Record<string, string> } {
    const verbs = pairs.filter(([k]) => k === 'verb');
    if (verbs.length !== 1)
      throw new OaiError('badVerb', verbs.length === 0 ? 'no verb' : 'the verb is repeated');
    const verb = verbs[0]![1];
    if (!Object.hasOwn(VERBS, verb)) throw new OaiError('badVerb', `${verb} is not an OAI-PMH verb`);
    const spec = VERBS[verb as Verb];
    const args: Record<string, string> = Object.create(null) as Record<string, string>;
    const allowed = new Set<string>([...spec.required, ...spec.optional]);
    const listVerb = verb === 'ListRecords' || verb === 'ListIdentifiers' || verb === 'ListSets';
    if (listVerb) allowed.add('resumptionToken');
    for (const [k, v] of pairs) {
      if (k === 'verb') continue;
      if (!allowed.has(k)) throw new OaiError('badArgument', `${verb} takes no argument ${k}`);
      if (Object.hasOwn(args, k)) throw new OaiError('badArgument', `argument ${k} is repeated`);
      args[k] = v;
    }
    if (args.resumptionToken !== undefined) {
      const others = Object.keys(args).filter((k) => k !== 'resumptionToken');
      if (others.length > 0)
        throw new OaiError(
          'badArgument',
          `resumptionToken is an exclusive argument (also given: ${others.join(', ')})`,
        );
      return { verb: verb as Verb, args };
    }
    for (const r of spec.required)
      if (args[r] === undefined) throw new OaiError('badArgument', `${verb} needs the argument ${r}`);
    return { verb: verb as Verb, args };
  }

  function prefixOf(given: string): Prefix {
    if (!/^[A-Za-z0-9\-_.!~*'()]+$/.test(given))
      throw new OaiError('badArgument', `${given} is not a metadataPrefix`);
    if (!Object.hasOwn(FORMATS, given))
      throw new OaiError('cannotDisseminateFormat', `no metadata format ${given}: use oai_dc or ciku`);
    return given as Prefix;
  }

  /** An OAI identifier of ours → the item id (badArgument if not an identifier at all). */
  function itemIdOf(identifier: string): string {
    if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(identifier))
      throw new OaiError('badArgument', `${identifier} is not an identifier (a URI)`);
    const id = identifier.startsWith(idPrefix) ? identifier.slice(idPrefix.length) : '';
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id))
      throw new OaiError('idDoesNotExist', `${identifier} is not an identifier of this repository`);
    return id;
  }

  async function recordById(identifier: string, now: Date): Promise<Rec> {
    const id = itemIdOf(identifier);
    let head: ItemView;
    try {
      head = await deps.items.get(id);
    } catch (err) {
      if (isCikuError(err, 'CIKU_ERR_ITEM_NOT_FOUND') || isCikuError(err, 'CIKU_ERR_ID_INVALID'))
        throw new OaiError('idDoesNotExist', `no record ${identifier}`);
      throw err;
    }
    const rec = await recordOf(head, now);
    if (rec === undefined) throw new OaiError('idDoesNotExist', `no record ${identifier}`);
    return rec;
  }

  interface Walk {
    set?: SetFilter;
    kind?: (typeof itemKinds)[number];
    fromMs?: number;
    untilMs: number;
  }

  /** The records of a list from just after `after`, in order, each decided as it is reached. */
  async function* walk(w: Walk, now: Date, after?: ListAfter, first = WALK_BATCH): AsyncGenerator<Rec> {
    let position = after;
    // Anonymous's read scope, once per walk (canRead is this scope applied to one item).
    const scope = readScope(anonymous, now);
    // A page needs pageSize + 1 rows when every row is a record; more are read only when rows fall out.
    for (let batch = first; ; batch = Math.min(batch * 2, MAX_BATCH)) {
      const page = await deps.search.listChanges({
        limit: batch,
        untilMs: w.untilMs,
        ...(w.kind === undefined ? {} : { kind: w.kind }),
        ...(w.fromMs === undefined ? {} : { fromMs: w.fromMs }),
        ...(position === undefined ? {} : { after: position }),
      });
      for (const row of page.items) {
        const rec = liveRecord(row, scope) ?? (await recordOf(row, now));
        if (rec !== undefined && (w.set === undefined || inSet(rec.view, w.set))) yield rec;
      }
      if (page.next === undefined) return;
      position = page.next;
    }
  }

  /**
   * How many records a list has: from the rows' heads (no item view read) unless a set other than a kind needs
   * the metadata; hidden rows are asked whether harvesters could once read them, as the list itself does.
   */
  async function countOf(w: Walk, now: Date): Promise<number> {
    let n = 0;
    if (w.set !== undefined && w.set.family !== 'kind') {
      for await (const rec of walk(w, now, undefined, COUNT_BATCH)) if (rec) n++;
      return n;
    }
    const scope = readScope(anonymous, now);
    let after: ListAfter | undefined;
    for (;;) {
      const page = await deps.search.listChangeHeads({
        limit: COUNT_BATCH,
        untilMs: w.untilMs,
        ...(w.kind === undefined ? {} : { kind: w.kind }),
        ...(w.fromMs === undefined ? {} : { fromMs: w.fromMs }),
        ...(after === undefined ? {} : { after }),
      });
      for (const h of page.rows)
        if ((!h.deleted && scopeAllows(scope, h.access)) || (await lastExposed(h)) !== undefined) n++;
      if (page.next === undefined) return n;
      after = page.next;
    }
  }

  /** The state of a list request: from its arguments (a new harvest) or from its token. */
  async function harvestOf(
    verb: ListVerb,
    args: Record<string, string>,
    now: Date,
  ): Promise<HarvestState & { walk: Walk }> {
    const walkOf = (set: string | undefined, fromMs: number | undefined, untilMs: number): Walk => {
      const filter = set === undefined ? undefined : parseSet(set);
      if (filter === 'bad') throw new OaiError('badArgument', `${set} is not a setSpec`);
      if (set !== undefined && filter === undefined)
        throw new OaiError('noRecordsMatch', `no set ${set} in this repository`);
      const kind = kindOfFilter(filter);
      return {
        untilMs,
        ...(filter === undefined ? {} : { set: filter }),
        ...(kind === undefined ? {} : { kind }),
        ...(fromMs === undefined ? {} : { fromMs }),
      };
    };
    if (args.resumptionToken !== undefined) {
      const state = decodeToken(args.resumptionToken);
      if (state === undefined || state.verb !== verb)
        throw new OaiError('badResumptionToken', 'the resumption token is not one this repository gave out');
      if (state.expiresMs < now.getTime())
        throw new OaiError('badResumptionToken', 'the resumption token has expired: harvest again');
      prefixOf(state.metadataPrefix);
      return { ...state, walk: walkOf(state.set, state.fromMs, state.untilMs) };
    }
    const metadataPrefix = args.metadataPrefix!;
    const from = args.from === undefined ? undefined : parseDatestamp(args.from, false);
    const until = args.until === undefined ? undefined : parseDatestamp(args.until, true);
    if (args.from !== undefined && from === undefined)
      throw new OaiError(
        'badArgument',
        `from=${args.from} is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)`,
      );
    if (args.until !== undefined && until === undefined)
      throw new OaiError(
        'badArgument',
        `until=${args.until} is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)`,
      );
    if (from && until && from.day !== until.day)
      throw new OaiError('badArgument', 'from and until must have the same granularity');
    if (from && until && from.ms > until.ms) throw new OaiError('badArgument', 'from is after until');
    prefixOf(metadataPrefix);
    const untilMs = Math.min(until?.ms ?? Number.MAX_SAFE_INTEGER, harvestBound(now));
    const w = walkOf(args.set, from?.ms, untilMs);
    return {
      verb,
      metadataPrefix,
      ...(args.set === undefined ? {} : { set: args.set }),
      ...(from === undefined ? {} : { fromMs: from.ms }),
      untilMs,
      after: { updated: 0, id: '' },
      cursor: 0,
      completeListSize: -1,
      expiresMs: 0,
      walk: w,
    };
  }

  async function* list(verb: ListVerb, args: Record<string, string>, now: Date): AsyncGenerator<string> {
    const h = await harvestOf(verb, args, now);
    const resumed = args.resumptionToken !== undefined;
    const records = walk(h.walk, now, resumed ? h.after : undefined, pageSize + 1);
    const first = await records.next();
    if (first.done) {
      if (resumed)
        throw new OaiError('badResumptionToken', 'the records this token led to are gone: harvest again');
      throw new OaiError('noRecordsMatch', 'no records match the request');
    }
    const total = resumed ? h.completeListSize : await countOf(h.walk, now);
    const prefix = h.metadataPrefix as Prefix;
    const request: Record<string, string> = { verb, ...args };
    let piece = envelope(now, request) + openTag(verb);
    let sent = 0;
    let last: Rec | undefined;
    let rec: Rec | undefined = first.value;
    for (; rec !== undefined && sent < pageSize; sent++) {
      piece += verb === 'ListRecords' ? recordXml(rec, prefix) : headerXml(rec);
      if (piece.length >= PIECE) {
        yield piece;
        piece = '';
      }
      last = rec;
      const next = await records.next();
      rec = next.done ? undefined : next.value;
    }
    await records.return(undefined);
    if (piece !== '') yield piece;
    const cursor = h.cursor;
    // The list may have grown past the count made when the harvest began (an item made public again): never less.
    const size = Math.max(total, cursor + sent + (rec === undefined ? 0 : 1));
    if (rec !== undefined && last !== undefined) {
      const expiresMs = now.getTime() + ttl;
      const token = encodeToken({
        verb,
        metadataPrefix: prefix,
        ...(h.set === undefined ? {} : { set: h.set }),
        ...(h.fromMs === undefined ? {} : { fromMs: h.fromMs }),
        untilMs: h.untilMs,
        after: last.key,
        cursor: cursor + sent,
        completeListSize: size,
        expiresMs,
      });
      yield textElement('resumptionToken', token, {
        expirationDate: secondOf(new Date(expiresMs).toISOString()),
        completeListSize: size,
        cursor,
      });
    } else if (resumed) {
      // The last page of a resumed list: an empty token says the list is complete.
      yield element('resumptionToken', { completeListSize: cursor + sent, cursor }, '');
    }
    yield `</${verb}></OAI-PMH>\n`;
  }

  async function identify(now: Date): Promise<string> {
    const first = await deps.search.listChanges({ limit: 1 });
    const earliest = first.items[0] ? secondOf(first.items[0].updated) : secondOf(now.toISOString());
    return element(
      'Identify',
      undefined,
      textElement('repositoryName', repositoryName) +
        textElement('baseURL', baseUrl) +
        textElement('protocolVersion', '2.0') +
        textElement('adminEmail', options.adminEmail) +
        textElement('earliestDatestamp', earliest) +
        textElement('deletedRecord', 'persistent') +
        textElement('granularity', 'YYYY-MM-DDThh:mm:ssZ'),
    );
  }

  function metadataFormats(): string {
    return element(
      'ListMetadataFormats',
      undefined,
      (Object.keys(FORMATS) as Prefix[])
        .map((p) =>
          element(
            'metadataFormat',
            undefined,
            textElement('metadataPrefix', p) +
              textElement('schema', p === 'ciku' ? `${base}${CIKU_XSD_PATH}` : FORMATS[p].schema) +
              textElement('metadataNamespace', FORMATS[p].namespace),
          ),
        )
        .join(''),
    );
  }

  const FAMILY_NAMES: Record<SetFamily, string> = {
    kind: `${zhCN['facet.kind']} / ${en['facet.kind']}`,
    series: `${zhCN['facet.series']} / ${en['facet.series']}`,
    museum: `${zhCN['facet.museum']} / ${en['facet.museum']}`,
    region: `${zhCN['facet.region']} / ${en['facet.region']}`,
    project: `${zhCN['kind.ich_project']} / ${en['kind.ich_project']}`,
  };

  /** Every set some record is in (records and deleted records alike), families first. */
  async function sets(now: Date): Promise<string> {
    const seen = new Map<string, string>();
    for await (const rec of walk({ untilMs: harvestBound(now) }, now, undefined, COUNT_BATCH))
      for (const [family, value] of setValuesOf(rec.view)) {
        const spec = `${family}:${encodeSetValue(value)}`;
        if (!seen.has(spec))
          seen.set(
            spec,
            family === 'kind' && (itemKinds as string[]).includes(value)
              ? `${zhCN[`kind.${value as (typeof itemKinds)[number]}`]} / ${en[`kind.${value as (typeof itemKinds)[number]}`]}`
              : `${FAMILY_NAMES[family]}: ${value}`,
          );
      }
    const setXml = (spec: string, name: string) =>
      element('set', undefined, textElement('setSpec', spec) + textElement('setName', name));
    const families = setFamilies.map((f) => setXml(f, FAMILY_NAMES[f])).join('');
    const values = [...seen.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([spec, name]) => setXml(spec, name))
      .join('');
    return element('ListSets', undefined, families + values);
  }

  function errorXml(now: Date, err: OaiError, request: Record<string, string> | undefined): string {
    return envelope(now, request) + textElement('error', err.message, { code: err.oaiCode }) + '</OAI-PMH>\n';
  }

  /**
   * Answers one request, given its arguments as name/value pairs (the query string of a GET or the form body of a
   * POST, repeats kept so they can be refused). The answer is XML text in pieces, to be sent as they come.
   */
  async function* respond(pairs: [string, string][]): AsyncGenerator<string> {
    const now = deps.clock();
    let parsed: { verb: Verb; args: Record<string, string> };
    try {
      parsed = parseArgs(pairs);
    } catch (err) {
      // A badVerb or badArgument answer echoes no arguments (the protocol's rule for the request element).
      if (err instanceof OaiError) {
        yield errorXml(now, err, undefined);
        return;
      }
      throw err;
    }
    const { verb, args } = parsed;
    const request = { verb, ...args };
    try {
      switch (verb) {
        case 'Identify': {
          yield envelope(now, request) + (await identify(now)) + '</OAI-PMH>\n';
          return;
        }
        case 'ListMetadataFormats':
          if (args.identifier !== undefined) await recordById(args.identifier, now);
          {
            yield envelope(now, request) + metadataFormats() + '</OAI-PMH>\n';
            return;
          }
        case 'ListSets':
          if (args.resumptionToken !== undefined)
            throw new OaiError(
              'badResumptionToken',
              'ListSets answers in one response: it gives out no token',
            );
          {
            yield envelope(now, request) + (await sets(now)) + '</OAI-PMH>\n';
            return;
          }
        case 'GetRecord': {
          const prefix = prefixOf(args.metadataPrefix!);
          const rec = await recordById(args.identifier!, now);
          {
            yield (
              envelope(now, request) +
              element('GetRecord', undefined, recordXml(rec, prefix)) +
              '</OAI-PMH>\n'
            );
            return;
          }
        }
        case 'ListIdentifiers':
        case 'ListRecords': {
          const pieces = list(verb, args, now);
          // The first piece decides between an answer and an error; after it, pieces stream as they come.
          const first = await pieces.next();
          if (!first.done) yield first.value;
          yield* pieces;
          return;
        }
      }
    } catch (err) {
      if (!(err instanceof OaiError)) throw err;
      const echo = err.oaiCode === 'badArgument' ? undefined : request;
      {
        yield errorXml(now, err, echo);
        return;
      }
    }
  }

  return { respond, baseUrl, identifierOf: (id: string) => idPrefix + id };
}

export type OaiProvider = ReturnType<typeof createOaiProvider>;

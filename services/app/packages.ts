import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PremisEvent } from '../../schemas/event.ts';
import { ThreadHash } from '../archive/hash-thread.ts';
import type { Items, ItemView } from '../archive/items.ts';
import { CikuError } from '../errors.ts';

/**
 * Packages out: items as a BagIt 1.0 bag (RFC 8493) on disk, one bag for the items given. The payload:
 *
 *   data/manifest.jsonl                  one batch row per item (id, kind, access, metadata, files): what
 *                                        `ciku batch` reads to import the bag back as the same items
 *   data/items/<id>/item.json            the head as the archive holds it (DESIGN.md "Item JSON")
 *   data/items/<id>/premis.xml           the item's event log, every version, as PREMIS 3 XML
 *   data/items/<id>/files/<name>         the head's files
 *   data/items/<id>/versions/<v>/…       with `allVersions`: every version's item.json and files
 *
 * with manifest-sha512.txt over the payload and tagmanifest-sha512.txt over the tag files. Every payload byte is
 * hashed as it is copied out of the archive (on the hashing thread) and checked against the sha512 the archive
 * recorded for it, so a bag never carries bytes that differ from what was ingested.
 */
export interface BagResult {
  dir: string;
  items: number;
  files: number;
  bytes: number;
}

const PREMIS_NS = 'http://www.loc.gov/premis/v3';

function xmlText(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** The event log as a PREMIS 3 document: one <event> per event, its agent and the files it concerns. */
export function premisXml(itemId: string, events: PremisEvent[]): string {
  const ev = events
    .map(
      (e) =>
        `  <event>\n    <eventIdentifier><eventIdentifierType>ciku</eventIdentifierType><eventIdentifierValue>${xmlText(e.id)}</eventIdentifierValue></eventIdentifier>\n` +
        `    <eventType>${xmlText(e.type)}</eventType>\n    <eventDateTime>${xmlText(e.date_time)}</eventDateTime>\n` +
        (e.detail === undefined
          ? ''
          : `    <eventDetailInformation><eventDetail>${xmlText(e.detail)}</eventDetail></eventDetailInformation>\n`) +
        `    <eventOutcomeInformation><eventOutcome>${e.outcome}</eventOutcome></eventOutcomeInformation>\n` +
        `    <linkingAgentIdentifier><linkingAgentIdentifierType>ciku</linkingAgentIdentifierType><linkingAgentIdentifierValue>${xmlText(e.agent)}</linkingAgentIdentifierValue></linkingAgentIdentifier>\n` +
        `    <linkingObjectIdentifier><linkingObjectIdentifierType>ciku-version</linkingObjectIdentifierType><linkingObjectIdentifierValue>${xmlText(`${itemId}/${e.version}`)}</linkingObjectIdentifierValue></linkingObjectIdentifier>\n` +
        (e.objects ?? [])
          .map(
            (o) =>
              `    <linkingObjectIdentifier><linkingObjectIdentifierType>ciku-file</linkingObjectIdentifierType><linkingObjectIdentifierValue>${xmlText(o)}</linkingObjectIdentifierValue></linkingObjectIdentifier>\n`,
          )
          .join('') +
        '  </event>\n',
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<premis xmlns="${PREMIS_NS}" version="3.0">\n  <object xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="intellectualEntity">\n    <objectIdentifier><objectIdentifierType>ciku</objectIdentifierType><objectIdentifierValue>${xmlText(itemId)}</objectIdentifierValue></objectIdentifier>\n  </object>\n${ev}</premis>\n`;
}

/** RFC 8493 §2.1.3: a manifest path with CR, LF and % percent-encoded. */
function manifestPath(p: string): string {
  return p.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** The batch row that imports the item back (services/batch/plan-row.ts: reserved columns + `metadata`). */
function rowOf(item: ItemView, filePath: (name: string) => string): Record<string, unknown> {
  const byRole = (role: string) => item.files.filter((f) => f.role === role).map((f) => filePath(f.name));
  return {
    id: item.id,
    kind: item.kind,
    access: item.access.level,
    ...(item.access.embargo_until === undefined ? {} : { embargo_until: item.access.embargo_until }),
    ...(item.access.organisation === undefined ? {} : { organisation: item.access.organisation }),
    metadata: item.metadata,
    files: byRole('original'),
    transcript: byRole('transcript'),
    supplement: byRole('supplement'),
  };
}

export function createPackageService(deps: {
  items: Pick<Items, 'get' | 'versions' | 'events' | 'openFile'>;
  clock: () => Date;
}) {
  async function writeBag(
    dir: string,
    ids: string[],
    options: { allVersions?: boolean } = {},
  ): Promise<BagResult> {
    const root = path.resolve(dir);
    const existing = await fs.readdir(root).catch(() => undefined);
    if (existing !== undefined && existing.length > 0)
      throw new CikuError(
        'CIKU_ERR_REQUEST_INVALID',
        `${dir} exists and is not empty: a bag is written into a new folder`,
      );
    await fs.mkdir(path.join(root, 'data'), { recursive: true });
    const manifest: string[] = [];
    let bytes = 0;
    let files = 0;

    /** A payload file from text. */
    async function putText(rel: string, text: string): Promise<void> {
      const buf = Buffer.from(text, 'utf8');
      await fs.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
      await fs.writeFile(path.join(root, rel), buf, { flag: 'wx' });
      manifest.push(`${createHash('sha512').update(buf).digest('hex')}  ${manifestPath(rel)}`);
      bytes += buf.length;
      files++;
    }

    /** A payload file copied from the archive, hashed on the way and checked against the recorded digest. */
    async function putFile(rel: string, item: ItemView, name: string, version: string): Promise<void> {
      const target = path.join(root, rel);
      await fs.mkdir(path.dirname(target), { recursive: true });
      const { stream, file } = await deps.items.openFile(item.id, name, { version });
      const out = await fs.open(target, 'wx');
      const hash = new ThreadHash(['sha512']);
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          const wait = hash.update(chunk);
          await out.write(chunk);
          if (wait) await wait;
          bytes += chunk.length;
        }
        const { sha512 } = await hash.digests();
        if (sha512 !== file.digests.sha512)
          throw new CikuError(
            'CIKU_ERR_OBJECT_INVALID',
            `item ${item.id} file ${name} (${version}) does not match its recorded sha512`,
          );
        manifest.push(`${sha512}  ${manifestPath(rel)}`);
        files++;
      } finally {
        hash.close();
        await out.close();
      }
    }

    const rows: string[] = [];
    for (const id of ids) {
      const head = await deps.items.get(id);
      if (head.tombstone)
        throw new CikuError('CIKU_ERR_ITEM_DELETED', `item ${id} was deleted: nothing to package`);
      const base = `data/items/${id}`;
      const fileRel = (name: string) => `${base}/files/${name}`;
      await putText(`${base}/item.json`, `${JSON.stringify(head, null, 2)}\n`);
      await putText(`${base}/premis.xml`, premisXml(id, await deps.items.events(id)));
      for (const f of head.files) await putFile(fileRel(f.name), head, f.name, head.version);
      if (options.allVersions)
        for (const v of await deps.items.versions(id)) {
          const view = v.version === head.version ? head : await deps.items.get(id, v.version);
          await putText(`${base}/versions/${v.version}/item.json`, `${JSON.stringify(view, null, 2)}\n`);
          for (const f of view.files)
            await putFile(`${base}/versions/${v.version}/files/${f.name}`, view, f.name, v.version);
        }
      // Paths in the row are relative to the manifest (data/).
      rows.push(JSON.stringify(rowOf(head, (name) => fileRel(name).slice('data/'.length))));
    }
    await putText('data/manifest.jsonl', `${rows.join('\n')}\n`);

    const tags: [string, string][] = [
      ['bagit.txt', 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n'],
      [
        'bag-info.txt',
        [
          'Source-Organization: 瓷库 ciku',
          `Bagging-Date: ${deps.clock().toISOString().slice(0, 10)}`,
          `Payload-Oxum: ${bytes}.${files}`,
          'Bag-Software-Agent: ciku export',
          ...ids.map((id) => `External-Identifier: ${id}`),
          `Internal-Sender-Description: ${ids.length} item(s)${options.allVersions ? ', every version' : ', head files'}`,
        ].join('\n') + '\n',
      ],
      ['manifest-sha512.txt', `${manifest.sort().join('\n')}\n`],
    ];
    const tagLines: string[] = [];
    for (const [name, text] of tags) {
      await fs.writeFile(path.join(root, name), text, { flag: 'wx' });
      tagLines.push(`${createHash('sha512').update(text, 'utf8').digest('hex')}  ${name}`);
    }
    await fs.writeFile(path.join(root, 'tagmanifest-sha512.txt'), `${tagLines.join('\n')}\n`, { flag: 'wx' });
    return { dir: root, items: ids.length, files, bytes };
  }

  return { writeBag };
}

export type PackageService = ReturnType<typeof createPackageService>;

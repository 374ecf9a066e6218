import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot, sharedPath, tempDir } from '../helpers/env.ts';
import type { TestApi } from '../helpers/api.ts';

/** The OAI-PMH schemas in ../shared (the envelope + oai_dc entry point). */
export const OAI_SCHEMAS = 'fixtures/oai-pmh/oai-pmh-with-dc.xsd';
export const CIKU_XSD = path.join(projectRoot, 'storage-config/oai/ciku-item.xsd');

/** One OAI-PMH request through inject (GET with the query, or POST with it as a form body). */
export async function oai(api: TestApi, query: string, method: 'GET' | 'POST' = 'GET'): Promise<string> {
  const res =
    method === 'GET'
      ? await api.app.inject({ url: `/oai?${query}` })
      : await api.app.inject({
          method: 'POST',
          url: '/oai',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: query,
        });
  if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/xml'))
    throw new Error(`OAI-PMH answered ${res.statusCode} ${String(res.headers['content-type'])}: ${res.body}`);
  return res.body;
}

export const errorCode = (xml: string): string | undefined => /<error code="(\w+)"/.exec(xml)?.[1];
export const tokenOf = (xml: string): string | undefined =>
  /<resumptionToken[^>]*>([^<]+)<\/resumptionToken>/.exec(xml)?.[1];
export const identifiers = (xml: string): string[] =>
  [...xml.matchAll(/<identifier>([^<]+)<\/identifier>/g)].map((m) => m[1]!);
export const deletedIds = (xml: string): string[] =>
  [...xml.matchAll(/<header status="deleted"><identifier>([^<]+)<\/identifier>/g)].map((m) => m[1]!);

/** Every page of a list, following resumption tokens. */
export async function harvest(api: TestApi, query: string): Promise<string[]> {
  const pages = [await oai(api, query)];
  for (let token = tokenOf(pages[0]!); token !== undefined; token = tokenOf(pages[pages.length - 1]!))
    pages.push(
      await oai(api, `verb=${/verb=(\w+)/.exec(query)![1]}&resumptionToken=${encodeURIComponent(token)}`),
    );
  return pages;
}

/**
 * Validates XML documents with xmllint against a schema; returns each invalid one's findings. Responses holding
 * native records are checked against a schema that loads the envelope, oai_dc and ciku together (the envelope's
 * metadata is a strict wildcard), and each `<ciku:item>` alone against storage-config/oai/ciku-item.xsd.
 */
export function makeValidator(t: { teardown(fn: () => unknown): void }) {
  const dir = tempDir(t, 'ciku-oai-xml-');
  const withDc = sharedPath(OAI_SCHEMAS)!;
  const shared = path.dirname(withDc);
  const withCiku = path.join(dir, 'oai-pmh-with-ciku.xsd');
  writeFileSync(
    withCiku,
    `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/" schemaLocation="${path.join(shared, 'OAI-PMH.xsd')}"/>
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/oai_dc/" schemaLocation="${path.join(shared, 'oai_dc.xsd')}"/>
  <xs:import namespace="urn:ciku:xml:item:1" schemaLocation="${CIKU_XSD}"/>
</xs:schema>
`,
  );
  let n = 0;
  const lint = (xml: string, schema: string): string | undefined => {
    const file = path.join(dir, `doc-${n++}.xml`);
    writeFileSync(file, xml);
    try {
      execFileSync('xmllint', ['--noout', '--schema', schema, file], { stdio: 'pipe' });
      return undefined;
    } catch (err) {
      return String((err as { stderr?: Buffer }).stderr ?? err);
    }
  };
  return (xml: string): string[] => {
    const findings: string[] = [];
    const native = xml.includes('<ciku:item ');
    const env = lint(xml, native ? withCiku : withDc);
    if (env !== undefined) findings.push(env);
    for (const m of xml.matchAll(/<ciku:item [\s\S]*?<\/ciku:item>/g)) {
      const alone = lint(`<?xml version="1.0" encoding="UTF-8"?>\n${m[0]}`, CIKU_XSD);
      if (alone !== undefined) findings.push(alone);
    }
    return findings;
  };
}

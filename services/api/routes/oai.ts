import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createOaiProvider } from '../../oai/provider.ts';
import { CIKU_XSD_PATH } from '../../oai/native.ts';
import { projectFile } from '../../project-file.ts';
import type { AppDeps } from '../deps.ts';

/** The admin address Identify names when none is configured: the public host's, made a valid OAI emailType. */
function defaultAdminEmail(publicUrl: string): string {
  const host = new URL(publicUrl).hostname;
  return `archive@${host.includes('.') ? host : `${host}.localdomain`}`;
}

/** `a=1&b=2&a=3` → pairs in order, repeats kept (the provider refuses a repeated argument). */
function pairsOf(text: string): [string, string][] {
  return [...new URLSearchParams(text).entries()];
}

/**
 * OAI-PMH 2.0 at /oai: GET with a query string, or POST with an `application/x-www-form-urlencoded` body, as the
 * protocol requires both. Every answer is 200 text/xml (protocol errors are `<error>` elements), streamed as the
 * provider writes it. Harvesters count as anonymous whatever they send: only what anonymous may read is exposed.
 * Requests count in a bucket of their own, larger than the API's: a harvest of 100,000 records is 1,000 requests.
 */
export const oaiRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function oai(app) {
    const provider = createOaiProvider(
      { search: deps.search, items: deps.items, clock: deps.clock },
      {
        publicUrl: deps.options.publicUrl,
        adminEmail: deps.options.oaiAdminEmail ?? defaultAdminEmail(deps.options.publicUrl),
        ...(deps.options.oaiPageSize === undefined ? {} : { pageSize: deps.options.oaiPageSize }),
      },
    );
    const config = {
      rateLimit: {
        max: deps.options.anonymousMediaRateLimit ?? 10 * deps.options.anonymousRateLimit,
        timeWindow: 60_000,
      },
    };
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 64 * 1024 },
      (_request, body, done) => done(null, body),
    );

    const answer = (reply: FastifyReply, pairs: [string, string][]) =>
      reply
        .header('content-type', 'text/xml; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(Readable.from(provider.respond(pairs)));

    const schema = {
      tags: ['oai-pmh'],
      summary:
        'OAI-PMH 2.0 (verbs Identify, ListMetadataFormats, ListSets, GetRecord, ListIdentifiers, ListRecords)',
      description:
        'Formats oai_dc and ciku (XSD at /oai/ciku-item.xsd); sets kind:, series:, museum:, region:, project:; ' +
        'deletedRecord=persistent; second granularity. Answers text/xml; only what anonymous may read.',
    };
    app.get('/oai', { config, schema }, async (request: FastifyRequest, reply) => {
      const q = request.url.indexOf('?');
      return answer(reply, q < 0 ? [] : pairsOf(request.url.slice(q + 1)));
    });
    app.post('/oai', { config, schema }, async (request: FastifyRequest, reply) => {
      const body = typeof request.body === 'string' ? request.body : '';
      return answer(reply, pairsOf(body));
    });

    const xsdFile = projectFile(import.meta.url, 'storage-config/oai/ciku-item.xsd');
    let xsd: Promise<string> | undefined;
    app.get(
      CIKU_XSD_PATH,
      { schema: { tags: ['oai-pmh'], summary: 'XSD of the ciku metadata format' } },
      async (_r, reply) => {
        xsd ??= readFile(xsdFile, 'utf8');
        return reply.header('content-type', 'application/xml; charset=utf-8').send(await xsd);
      },
    );
  };

import type { FastifyInstance } from 'fastify';
import { CikuError } from '../../errors.ts';

/** Deepest nesting of objects/arrays a JSON body may have (item metadata needs 3; batch mappings 4). */
export const MAX_JSON_DEPTH = 32;
/** Most object keys a JSON body may hold in all (an item's metadata has a few dozen). */
export const MAX_JSON_KEYS = 10_000;

/**
 * Measures a JSON text's nesting depth and key count without parsing it: one pass over the characters, skipping
 * string contents. Validators and serialisers walk parsed values recursively, so a 30 KB body nested 5,000 levels
 * deep reached them as a stack overflow (a 500); measured first, it is a coded 400 before anything walks it.
 */
export function jsonShape(text: string): { depth: number; keys: number } {
  let depth = 0;
  let max = 0;
  let keys = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i += 1;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth += 1;
      if (depth > max) max = depth;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth -= 1;
    else if (c === 0x3a /* : */) keys += 1;
  }
  return { depth: max, keys };
}

/**
 * `application/json` bodies: bounded in depth and key count (coded 400), then parsed by Fastify's own parser
 * (prototype-poisoning keys refused). Routes that stream their bodies (files, tus) replace the parsers in their
 * own scope.
 */
export function registerJsonBody(
  app: FastifyInstance,
  limits: { maxDepth?: number; maxKeys?: number } = {},
): void {
  const maxDepth = limits.maxDepth ?? MAX_JSON_DEPTH;
  const maxKeys = limits.maxKeys ?? MAX_JSON_KEYS;
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    const shape = jsonShape(text);
    const over =
      shape.depth > maxDepth
        ? { limit: 'depth', max: maxDepth, what: `nested deeper than ${maxDepth} levels` }
        : shape.keys > maxKeys
          ? { limit: 'keys', max: maxKeys, what: `with more than ${maxKeys} keys` }
          : undefined;
    if (over) {
      done(
        new CikuError('CIKU_ERR_REQUEST_INVALID', `JSON body ${over.what}`, {
          details: { limit: over.limit, max: over.max },
        }),
        undefined,
      );
      return;
    }
    void parse(request, text, done);
  });
}

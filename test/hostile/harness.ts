import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { ocflIdFor } from '../../services/archive/items.ts';
import { ORG_B, stagingLeft, startTestApi, type TestApi } from '../helpers/api.ts';

/**
 * The hostile-input suite's bookkeeping (hardening issue, "Must show"). Every probe is one request an attacker or a
 * careless client could send; the harness counts what was tried and checks, for each one:
 *  - no 5xx (a hostile input is a clear coded 4xx, never an internal error),
 *  - no leak: a canary planted in an item the caller may not read (its title, a file's bytes, a transcript cue)
 *    never appears in an answer's body or headers,
 *  - no change: after a refused request (4xx) no item's head moved,
 *  - no staging left behind after a refused or aborted upload.
 * Each file prints its tally; the closing note of the hardening issue adds them up.
 */
export type Role = keyof TestApi['auth'];

export interface Tally {
  category: string;
  tried: number;
  refused: number;
  serverErrors: string[];
  leaks: string[];
  headChanges: string[];
  stagingLeft: string[];
}

export interface Hostile {
  api: TestApi;
  tally: Tally;
  /** Text that must never reach a caller who may not read the canary item. */
  canaries: string[];
  /** The canary item: private to organisation B, with a private file and a restricted transcript beside it. */
  canaryItem: string;
  /** Items whose heads are compared around every refused request (the canaries and any `watch`ed). */
  watch(...ids: string[]): void;
  /** One request as `role`; `ok` lists the statuses that are an acceptable answer (default: any non-5xx). */
  probe(
    label: string,
    role: Role,
    request: InjectOptions,
    options?: { ok?: (status: number) => boolean; allowCanary?: boolean },
  ): Promise<LightMyRequestResponse>;
  /** Prints the tally and asserts every count of harm is zero. */
  report(t: Test): Promise<void>;
}

const staff: Role[] = ['admin', 'archivist'];

export async function hostileEnv(
  t: Test,
  category: string,
  options: Parameters<typeof startTestApi>[1] = {},
): Promise<Hostile> {
  const api = await startTestApi(t, options);
  const tag = randomBytes(6).toString('hex');
  const canaries = [`CANARY-秘密-${tag}`, `canary-bytes-${tag}`, `CANARY-CUE-${tag}`];
  const canaryItem = `canary-${tag}`;
  const post = await api.app.inject({
    method: 'POST',
    url: '/v1/items',
    headers: api.auth.contributorB,
    payload: {
      id: canaryItem,
      kind: 'oral_history',
      metadata: { title: canaries[0], description: `${canaries[0]} 受访者要求保密` },
      access: { level: 'private', organisation: ORG_B },
    },
  });
  if (post.statusCode !== 201) throw new Error(post.body);
  for (const [name, body] of [
    ['secret.txt', `${canaries[1]}\n`],
    ['interview.vtt', `WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v 受访者>${canaries[2]} 这段不公开\n`],
  ] as const) {
    const put = await api.app.inject({
      method: 'PUT',
      url: `/v1/items/${canaryItem}/files/${name}`,
      headers: api.auth.contributorB,
      payload: body,
    });
    if (put.statusCode !== 201) throw new Error(put.body);
  }
  await api.indexer.upsertItem(canaryItem);
  const watched = new Set<string>([canaryItem]);
  const tally: Tally = {
    category,
    tried: 0,
    refused: 0,
    serverErrors: [],
    leaks: [],
    headChanges: [],
    stagingLeft: [],
  };
  const heads = async (): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    for (const id of watched) {
      try {
        out.set(id, (await api.ocfl.getInventory(ocflIdFor(id))).head);
      } catch {
        out.set(id, 'absent');
      }
    }
    return out;
  };
  return {
    api,
    tally,
    canaries,
    canaryItem,
    watch(...ids) {
      for (const id of ids) watched.add(id);
    },
    async probe(label, role, request, probeOptions = {}) {
      const before = await heads();
      const res = await api.app.inject({
        ...request,
        headers: { ...api.auth[role], ...(request.headers ?? {}) },
      });
      tally.tried += 1;
      const what = `${label} [${role}] → ${res.statusCode}`;
      if (res.statusCode >= 500) tally.serverErrors.push(`${what}: ${res.body.slice(0, 200)}`);
      if (probeOptions.ok && !probeOptions.ok(res.statusCode))
        t.fail(`${what}: unexpected status (${res.body.slice(0, 200)})`);
      if (!staff.includes(role) && role !== 'contributorB' && !probeOptions.allowCanary) {
        const seen = `${JSON.stringify(res.headers)}\n${res.body}`;
        for (const c of canaries) if (seen.includes(c)) tally.leaks.push(`${what}: shows ${c}`);
      }
      if (res.statusCode >= 400) {
        tally.refused += 1;
        const after = await heads();
        for (const [id, v] of before)
          if (after.get(id) !== v) tally.headChanges.push(`${what}: ${id} ${v} → ${after.get(id)}`);
        const left = (await stagingLeft(api.blobs)).filter((k) => !k.startsWith('staging/tus/'));
        if (left.length > 0) tally.stagingLeft.push(`${what}: ${left.join(', ')}`);
      }
      return res;
    },
    async report(t) {
      const line = `${category}: ${tally.tried} inputs tried (${tally.refused} refused), ${tally.serverErrors.length} 5xx, ${tally.leaks.length} leaks, ${tally.headChanges.length} heads changed by a refused request, ${tally.stagingLeft.length} with staging left`;
      t.comment(line);
      // The figures the closing note adds up, on stdout for the CI log.
      console.log(
        `HOSTILE ${JSON.stringify({ ...tally, serverErrors: tally.serverErrors.length, leaks: tally.leaks.length, headChanges: tally.headChanges.length, stagingLeft: tally.stagingLeft.length })}`,
      );
      t.same(tally.serverErrors, [], `${category}: no 5xx`);
      t.same(tally.leaks, [], `${category}: no leak`);
      t.same(tally.headChanges, [], `${category}: no head changed by a refused request`);
      t.same(tally.stagingLeft, [], `${category}: no staging left`);
      t.ok(tally.tried > 0, `${category}: inputs were tried`);
    },
  };
}

/** `n` chosen elements of `xs` × `ys`, in order: for probing every combination of a few lists. */
export function* product<A, B>(xs: readonly A[], ys: readonly B[]): Generator<[A, B]> {
  for (const x of xs) for (const y of ys) yield [x, y];
}

import type { Redis } from 'ioredis';
import { rowStatuses, type BatchCounts, type RowStatus } from '../../schemas/batch.ts';

/**
 * Live batch progress in Redis: one hash of row outcomes and one of counters per batch, updated together by a
 * script so a row recorded twice (a job retried after a kill) moves its count instead of adding to it. The
 * durable copy (plan, final report) lives in the blob store; this is what `GET /v1/batches/:id` and the
 * progress bar read while a batch runs.
 */
export interface RowOutcome {
  row: number;
  status: RowStatus;
  item?: string;
  version?: string;
  reason?: string;
  bytes?: number;
}

const SET_ROW = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if old then
  local oldStatus = string.match(old, '^[^\\t]+')
  redis.call('HINCRBY', KEYS[2], oldStatus, -1)
else
  redis.call('HINCRBY', KEYS[2], 'done', 1)
  redis.call('HINCRBY', KEYS[2], 'bytes', tonumber(ARGV[4]))
end
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
return old and 0 or 1`;

export interface BatchState {
  init(id: string, meta: Record<string, string>, total: number): Promise<void>;
  setRow(id: string, outcome: RowOutcome): Promise<void>;
  /** Many outcomes at once (a plan's failed rows), pipelined. */
  setRows(id: string, outcomes: RowOutcome[]): Promise<void>;
  hasRow(id: string, row: number): Promise<boolean>;
  counts(id: string): Promise<BatchCounts | undefined>;
  meta(id: string): Promise<Record<string, string> | undefined>;
  setMeta(id: string, fields: Record<string, string>): Promise<void>;
  rows(id: string): Promise<RowOutcome[]>;
}

export function createBatchState(redis: Redis, prefix = 'ciku'): BatchState {
  const key = (id: string, part: string) => `${prefix}:batch:${id}:${part}`;
  const setRowArgs = (id: string, o: RowOutcome): string[] => [
    key(id, 'rows'),
    key(id, 'counts'),
    String(o.row),
    [o.status, o.item ?? '', o.version ?? '', (o.reason ?? '').replace(/[\t\n]/g, ' ')].join('\t'),
    o.status,
    String(o.bytes ?? 0),
  ];
  return {
    async init(id, meta, total) {
      await redis
        .multi()
        .hset(key(id, 'meta'), meta)
        .hset(key(id, 'counts'), {
          total,
          done: 0,
          bytes: 0,
          ...Object.fromEntries(rowStatuses.map((s) => [s, 0])),
        })
        .exec();
    },
    async setRow(id, o) {
      await redis.eval(SET_ROW, 2, ...setRowArgs(id, o));
    },
    async setRows(id, outcomes) {
      for (let i = 0; i < outcomes.length; i += 1000) {
        const pipeline = redis.pipeline();
        for (const o of outcomes.slice(i, i + 1000)) pipeline.eval(SET_ROW, 2, ...setRowArgs(id, o));
        const results = await pipeline.exec();
        const failed = results?.find(([err]) => err)?.[0];
        if (failed) throw failed;
      }
    },
    async hasRow(id, row) {
      return (await redis.hexists(key(id, 'rows'), String(row))) === 1;
    },
    async counts(id) {
      const c = await redis.hgetall(key(id, 'counts'));
      if (Object.keys(c).length === 0) return undefined;
      const n = (k: string) => Number(c[k] ?? 0);
      return {
        total: n('total'),
        done: n('done'),
        ingested: n('ingested'),
        updated: n('updated'),
        skipped: n('skipped'),
        failed: n('failed'),
        bytes: n('bytes'),
      };
    },
    async meta(id) {
      const m = await redis.hgetall(key(id, 'meta'));
      return Object.keys(m).length === 0 ? undefined : m;
    },
    async setMeta(id, fields) {
      await redis.hset(key(id, 'meta'), fields);
    },
    async rows(id) {
      const all = await redis.hgetall(key(id, 'rows'));
      return Object.entries(all)
        .map(([row, v]) => {
          const [status, item, version, reason] = v.split('\t');
          return {
            row: Number(row),
            status: status as RowStatus,
            ...(item ? { item } : {}),
            ...(version ? { version } : {}),
            ...(reason ? { reason } : {}),
          };
        })
        .sort((a, b) => a.row - b.row);
    },
  };
}

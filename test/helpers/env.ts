import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import S3rver from 's3rver';
import { createRedis, deleteKeysWithPrefix, type Redis } from '../../services/adapters/redis.ts';
import { createFsBlobStore } from '../../services/adapters/blob-fs.ts';
import { createS3BlobStore } from '../../services/adapters/blob-s3.ts';
import type { BlobStore } from '../../services/archive/blob-store.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const projectRoot = path.resolve(here, '..', '..');
/** ../shared beside the checkout (fixtures and corpus are read there, never copied into the project). */
export const sharedDir = process.env.CIKU_SHARED_DIR ?? path.resolve(projectRoot, '..', 'shared');

/** A path under ../shared, or undefined when the shared data is absent (tests then skip, saying why). */
export function sharedPath(rel: string): string | undefined {
  const p = path.join(sharedDir, rel);
  return fs.existsSync(p) ? p : undefined;
}

/**
 * tap's `skip` option for a test that needs `rel` under ../shared: the reason names the shared data, where it was
 * looked for and how to point elsewhere, so a summary's skips say what was not tested and why.
 */
export function skipUnlessShared(rel: string): false | string {
  return sharedPath(rel)
    ? false
    : `needs ../shared/${rel} (the shared test data), absent at ${path.join(sharedDir, rel)}; set CIKU_SHARED_DIR to where it is`;
}

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function tempDir(t: { teardown(fn: () => unknown): void }, prefix = 'ciku-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A Redis client plus a key prefix unique to this test; its keys are deleted at teardown. */
export function testRedis(t: { teardown(fn: () => unknown): void }): { redis: Redis; prefix: string } {
  const redis = createRedis(REDIS_URL);
  const prefix = `ciku-test:${process.pid}:${Math.random().toString(36).slice(2)}:`;
  t.teardown(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  });
  return { redis, prefix };
}

/** An in-process s3rver on a free port with its own directory and bucket. */
export async function startS3(t: {
  teardown(fn: () => unknown): void;
}): Promise<{ store: BlobStore; endpoint: string; bucket: string }> {
  const dir = tempDir(t, 'ciku-s3rver-');
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true });
  const { port } = await server.run();
  t.teardown(() => server.close());
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket = `ciku-test-${Math.random().toString(36).slice(2, 10)}`;
  const store = await createS3BlobStore({
    endpoint,
    bucket,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    partSize: 5 * 1024 * 1024,
    // s3rver omits common prefixes that hold only deeper prefixes (real S3 and MinIO do not).
    delimiterListing: false,
  });
  return { store, endpoint, bucket };
}

/**
 * A real S3 server (Ceph's RADOS Gateway, started by `scripts/dev/s3-ceph.sh start`, as `.ci/run` does): its
 * endpoint and keys from the environment, or undefined when none is configured.
 */
export const realS3 =
  process.env.CIKU_TEST_S3_ENDPOINT === undefined
    ? undefined
    : {
        endpoint: process.env.CIKU_TEST_S3_ENDPOINT,
        accessKey: process.env.CIKU_TEST_S3_ACCESS_KEY ?? '',
        secretKey: process.env.CIKU_TEST_S3_SECRET_KEY ?? '',
      };

/** Why suites on the real S3 server did not run, in words a CI log reader understands. */
export const realS3Skipped =
  'Ceph RGW suites skipped: CIKU_TEST_S3_ENDPOINT is not set (run `scripts/dev/s3-ceph.sh start` and export what it prints)';

/** A fresh bucket on the real S3 server, emptied at teardown; multipart copies from 5 MiB up (UploadPartCopy). */
export async function startRealS3(t: {
  teardown(fn: () => unknown): void;
}): Promise<{ store: BlobStore; endpoint: string; bucket: string }> {
  if (!realS3) throw new Error(realS3Skipped);
  const bucket = `ciku-test-${Math.random().toString(36).slice(2, 10)}`;
  const store = await createS3BlobStore({
    ...realS3,
    bucket,
    partSize: 5 * 1024 * 1024,
    copyPartSize: 5 * 1024 * 1024,
  });
  t.teardown(() => store.deletePrefix(''));
  return { store, endpoint: realS3.endpoint, bucket };
}

export type AdapterName = 'fs' | 's3' | 'rgw';

/** Each adapter, for contract suites that must pass on each. */
export async function openAdapter(
  t: { teardown(fn: () => unknown): void },
  name: AdapterName,
): Promise<BlobStore> {
  if (name === 'fs') return createFsBlobStore(tempDir(t, 'ciku-fs-'));
  if (name === 'rgw') return (await startRealS3(t)).store;
  return (await startS3(t)).store;
}

/** fs, s3rver, and Ceph RGW when one is configured (`realS3`). */
export const adapters: AdapterName[] = realS3 ? ['fs', 's3', 'rgw'] : ['fs', 's3'];

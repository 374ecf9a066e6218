import type { Logger } from '../adapters/logger.ts';
import type { HealthT } from '../../schemas/api.ts';
import type { JobQueue } from '../adapters/queue.ts';
import type { Application } from '../app/application.ts';
import type { BlobStore } from '../archive/blob-store.ts';
import type { Ingest } from '../archive/ingest.ts';
import type { Items } from '../archive/items.ts';
import type { OcflStore } from '../archive/ocfl/store.ts';
import type { ApiKeys } from '../auth/api-keys.ts';
import type { Batches } from '../batch/batches.ts';
import type { SearchIndex } from '../search/search-index.ts';
import type { TusLocker } from '../adapters/tus.ts';

/** What the API is built from (buildApp's input), in a module of its own: the routes import it, not the builder. */
export interface AppOptions {
  /** Requests per minute per IP for anonymous callers; authenticated callers are not limited. */
  anonymousRateLimit: number;
  /**
   * The same for each derivative route (thumbnails, previews, proxies, IIIF info.json and tiles): its own, larger
   * bucket, so one deep-zoom session does not spend the allowance of searches and API calls.
   */
  anonymousMediaRateLimit?: number;
  /** Largest JSON body (item metadata) accepted. */
  jsonBodyLimit: number;
  /** Largest upload (each kind's own limit applies too). */
  maxUploadBytes: number;
  /** Unfinished tus uploads older than this are deleted. */
  tusExpiryHours: number;
  /** The origin every absolute URL the API writes starts with (CIKU_PUBLIC_URL); never the Host header. */
  publicUrl: string;
  /** Fastify's trustProxy (CIKU_TRUST_PROXY): whose X-Forwarded-For gives the client address. */
  trustProxy?: boolean | string | number;
  /** The adminEmail OAI-PMH Identify names (CIKU_OAI_ADMIN_EMAIL; default archive@ the public host). */
  oaiAdminEmail?: string;
  /** Records per OAI-PMH list response before its resumption token (default 100). */
  oaiPageSize?: number;
  /** The portal's built client files (default: dist/web/assets of the project). */
  assetsDir?: string;
}

export interface AppDeps {
  blobs: BlobStore;
  ocfl: OcflStore;
  items: Items;
  ingest: Ingest;
  keys: ApiKeys;
  queue: JobQueue;
  search: SearchIndex;
  /** Batches (POST/GET /v1/batches) from sources in `dropDir`; absent: batches are refused. */
  batches?: Batches;
  dropDir?: string;
  clock: () => Date;
  logger: Logger | false;
  options: AppOptions;
  /**
   * While this answers a status, the archive is still being prepared (`ciku start`: recovery, demo data, the
   * first index build): /healthz reports it and every other route answers 503 with Retry-After.
   */
  starting?: () => HealthT | undefined;
  /** The application layer (services/app) the routes call, built from the others by buildApp. */
  app: Application;
  /** Locks on tus uploads shared by every API process (Redis); absent: one process's own (enough for one). */
  tusLocker?: TusLocker;
}

import type { Logger } from '../adapters/logger.ts';
import type { Application } from '../app/application.ts';
import type { ApiKeys } from '../auth/api-keys.ts';
import type { StatsService } from '../stats/stats.ts';

/** What the portal is built from: the application layer (the same services and access decisions as /v1). */
export interface WebDeps {
  app: Application;
  keys: ApiKeys;
  /** The statistics (/stats, /stats/report), counted in each reader's scope as /v1/stats counts them. */
  stats: StatsService;
  clock: () => Date;
  publicUrl: string;
  logger: Logger | false;
  /** The built client files (dist/web/assets); found next to the project when not given. */
  assetsDir?: string;
}

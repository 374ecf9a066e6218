import type { Logger } from '../adapters/logger.ts';
import type { Application } from '../app/application.ts';
import type { ApiKeys } from '../auth/api-keys.ts';

/** What the portal is built from: the application layer (the same services and access decisions as /v1). */
export interface WebDeps {
  app: Application;
  keys: ApiKeys;
  clock: () => Date;
  publicUrl: string;
  logger: Logger | false;
  /** The built client files (dist/web/assets); found next to the project when not given. */
  assetsDir?: string;
}

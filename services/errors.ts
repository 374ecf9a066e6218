/**
 * The catalogue of coded errors. Every error a user can see has a stable `CIKU_ERR_<AREA>_<WHAT>` code and an
 * HTTP status; callers and tests assert on `code`, never on message text.
 */
export const errorCatalogue = {
  CIKU_ERR_CONFIG_INVALID: 500,
  CIKU_ERR_PATH_INVALID: 400,
  CIKU_ERR_ID_INVALID: 400,
  CIKU_ERR_BLOB_NOT_FOUND: 404,
  CIKU_ERR_BLOB_EXISTS: 409,
  CIKU_ERR_BLOB_RANGE: 416,
  CIKU_ERR_OBJECT_NOT_FOUND: 404,
  CIKU_ERR_OBJECT_EXISTS: 409,
  CIKU_ERR_OBJECT_INVALID: 500,
  CIKU_ERR_VERSION_NOT_FOUND: 404,
  CIKU_ERR_VERSION_CONFLICT: 412,
  CIKU_ERR_FILE_NOT_FOUND: 404,
  CIKU_ERR_FILE_EXISTS: 409,
  CIKU_ERR_LOCK_TIMEOUT: 503,
  CIKU_ERR_LOCK_LOST: 503,
  CIKU_ERR_STORAGE_ROOT_INVALID: 500,
  CIKU_ERR_ITEM_KIND_UNKNOWN: 400,
  CIKU_ERR_ITEM_METADATA_INVALID: 400,
  CIKU_ERR_ITEM_NOT_FOUND: 404,
  CIKU_ERR_ITEM_EXISTS: 409,
  CIKU_ERR_ITEM_DELETED: 410,
  CIKU_ERR_AUTH_INVALID: 401,
  CIKU_ERR_AUTH_KEY_INVALID: 400,
  CIKU_ERR_AUTH_KEY_NOT_FOUND: 404,
  CIKU_ERR_FORBIDDEN: 403,
  CIKU_ERR_UPLOAD_DIGEST_MISMATCH: 400,
  CIKU_ERR_UPLOAD_DIGEST_INVALID: 400,
  CIKU_ERR_UPLOAD_TYPE_REFUSED: 415,
  CIKU_ERR_UPLOAD_TOO_LARGE: 413,
  CIKU_ERR_UPLOAD_INCOMPLETE: 400,
  CIKU_ERR_UPLOAD_NOT_FOUND: 404,
  CIKU_ERR_REQUEST_INVALID: 400,
  CIKU_ERR_REQUEST_TOO_LARGE: 413,
  CIKU_ERR_URI_TOO_LONG: 414,
  CIKU_ERR_NOT_FOUND: 404,
  CIKU_ERR_RATE_LIMITED: 429,
  CIKU_ERR_MEDIA_UNREADABLE: 422,
  CIKU_ERR_MEDIA_UNSUPPORTED: 415,
  CIKU_ERR_MEDIA_TOO_LARGE: 413,
  CIKU_ERR_DERIVATIVE_NOT_FOUND: 404,
  CIKU_ERR_DERIVATIVE_NOT_READY: 409,
  /** A valid IIIF Image API request that level 0 (pre-made files only) cannot answer: 400, as the spec says. */
  CIKU_ERR_IIIF_UNSUPPORTED: 400,
  CIKU_ERR_IIIF_NO_MEDIA: 404,
  CIKU_ERR_IIIF_COLLECTION_NOT_FOUND: 404,
  CIKU_ERR_JOB_PAYLOAD_INVALID: 400,
  CIKU_ERR_WORKER_REGISTRY: 500,
  CIKU_ERR_BATCH_SOURCE: 400,
  CIKU_ERR_BATCH_NOT_FOUND: 404,
  CIKU_ERR_INTERNAL: 500,
  CIKU_ERR_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class CikuError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CikuError';
    this.code = code;
    this.statusCode = errorCatalogue[code];
    this.details = options.details;
  }
}

export function isCikuError(err: unknown, code?: ErrorCode): err is CikuError {
  return err instanceof CikuError && (code === undefined || err.code === code);
}

/** Node's errno-style errors (`ENOENT`, `EEXIST`…) carry a string `code`. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

import path from 'node:path';
import { CikuError } from './errors.ts';

/**
 * Env → typed config, parsed once. Every key is optional with a documented default (see .env.example). Parsing
 * collects every bad variable before failing, so an operator fixes them all in one go.
 */
export interface Config {
  dataDir: string;
  http: { host: string; port: number };
  /**
   * The origin users and harvesters see (`CIKU_PUBLIC_URL`, default `http://HOST:PORT`), without a trailing
   * slash; it may carry a path prefix. Every absolute URL the service writes starts with it: the Host header is
   * never used for them (DESIGN.md principle 10).
   */
  publicUrl: string;
  /** Fastify's `trustProxy`: which proxies' X-Forwarded-For to believe for client addresses (never for URLs). */
  trustProxy: boolean | string | number;
  /** Redis URL, and the prefix of every key the archive keeps there: job queues, batch counts, item locks, live instances (one Redis can serve several archives). */
  redis: { url: string; queuePrefix: string };
  storage:
    | { kind: 'fs'; root: string }
    | { kind: 's3'; endpoint: string; bucket: string; accessKey: string; secretKey: string; region: string };
  search:
    { kind: 'sqlite' } | { kind: 'meilisearch'; url: string; key: string | undefined; indexPrefix: string };
  adminKey: string | undefined;
  lock: { ttlMs: number; waitMs: number };
  api: {
    maxUploadBytes: number;
    anonymousRateLimit: number;
    /** Anonymous requests per minute per IP for each derivative route (thumbnails, proxies, IIIF tiles). */
    anonymousMediaRateLimit: number;
    jsonBodyLimit: number;
    tusExpiryHours: number;
    /** The adminEmail OAI-PMH Identify names (undefined: archive@ the public host). */
    oaiAdminEmail: string | undefined;
  };
  worker: {
    /** Jobs run at once per queue (sharp work uses libvips threads; ffmpeg is multi-threaded itself). */
    concurrency: { image: number; av: number; transcript: number; index: number; document: number };
    /** How long a job's lock lives without renewal: a killed worker's job is taken over after this. */
    lockMs: number;
    /** On SIGTERM, how long active jobs may run on before they are stopped and put back in the queue. */
    graceMs: number;
    /** Largest image (width × height) decoded; bigger ones fail cleanly as possible decompression bombs. */
    maxImagePixels: number;
    /**
     * Bounds on audio/video work (a file past one fails with `media-limits-exceeded: …`, nothing is transcoded).
     * Defaults fit a 3-hour 4K interview, not a bomb.
     */
    av: AvLimits;
    /** Bounds on transcripts (WebVTT / SRT): bytes read and cues kept. */
    transcript: { maxBytes: number; maxCues: number };
    /** Bounds and settings of document work (PDF, office files, OCR of scans). */
    document: DocumentLimits;
    /** Scratch space for derivatives in the making (per job, cleared when the job starts and ends). */
    tmpDir: string;
  };
  /** Batches and the scheduled jobs (cron patterns in UTC; `off` disables a schedule). */
  batch: {
    /** Batch rows ingested at once (each row streams and hashes its files; the rest of the machine stays free). */
    concurrency: number;
    dropDir: string;
    dropCron: string | undefined;
    /** A drop-zone entry changed more recently than this is left for the next scan (it may still be copying). */
    settleMs: number;
    fixityCron: string | undefined;
    /** The yearly statistics snapshot (of the year just ended). */
    statsSnapshotCron: string | undefined;
    /** Bytes per second the fixity audit reads at most. */
    fixityRateBytes: number;
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface AvLimits {
  /** Longest duration (seconds) worked on. */
  maxDurationS: number;
  /** Largest video frame (width × height). */
  maxFramePixels: number;
  /** Most decoded pixels (width × height × frames) over the whole duration. */
  maxPixelFrames: number;
  /** Most decoded pixels per stored byte: a few KB declaring minutes of 4K is a decompression bomb. */
  maxPixelsPerByte: number;
  /** Audio sample rates outside this range are refused (a 1 Hz WAV makes hours of output from 8 KB). */
  minSampleRate: number;
  maxSampleRate: number;
  maxChannels: number;
  /** ffmpeg's wall-clock budget: `budgetBaseS + budgetPerMediaS × duration` seconds, then it is stopped. */
  budgetBaseS: number;
  budgetPerMediaS: number;
  /** Largest proxy: `proxyBaseBytes + proxyBytesPerS × duration`. */
  proxyBaseBytes: number;
  proxyBytesPerS: number;
}

export interface DocumentLimits {
  /** A PDF (or an office file's PDF) declaring more pages is refused before anything is rendered. */
  maxPages: number;
  /** Most pixels of one page render (its long side is capped at √ of this); a page of absurd size is refused. */
  maxRenderPixels: number;
  /** Resolution of the renders pages with a text layer get (their thumbnail and preview). */
  previewDpi: number;
  /** Resolution of the renders OCR reads (pages without a usable text layer); they also give the deep-zoom tiles. */
  ocrDpi: number;
  /** Characters of text kept per document; past it the text is cut (with a warning), not failed. */
  maxCharacters: number;
  /** Wall-clock budget of one document (all its pages, OCR and LibreOffice included), then it fails. */
  timeLimitS: number;
  /** Pages of one document rendered / OCR'd at once (each page's render is removed once it is done). */
  pageConcurrency: number;
}

type Env = Record<string, string | undefined>;

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const problems: string[] = [];
  const str = (key: string, fallback: string): string => {
    const v = env[key];
    return v === undefined || v === '' ? fallback : v;
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const raw = env[key];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const raw = str(key, fallback);
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${key}=${JSON.stringify(raw)}: expected one of ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  };
  const required = (key: string, because: string): string => {
    const v = env[key];
    if (v === undefined || v === '') {
      problems.push(`${key}: required when ${because}`);
      return '';
    }
    return v;
  };
  const url = (key: string, fallback: string | undefined, because?: string): string => {
    const raw = because === undefined ? str(key, fallback ?? '') : required(key, because);
    if (raw === '') return raw;
    try {
      new URL(raw);
    } catch {
      problems.push(`${key}=${JSON.stringify(raw)}: not a URL`);
    }
    return raw;
  };

  const cron = (key: string, fallback: string): string | undefined => {
    const raw = str(key, fallback).trim();
    if (raw === 'off') return undefined;
    const fields = raw.split(/\s+/);
    if (fields.length < 5 || fields.length > 6 || !fields.every((f) => /^[0-9*/,?LW#A-Za-z-]+$/.test(f))) {
      problems.push(`${key}=${JSON.stringify(raw)}: expected a cron pattern (5 or 6 fields) or off`);
      return undefined;
    }
    return raw;
  };

  const dataDir = path.resolve(cwd, str('CIKU_DATA_DIR', './data'));
  const host = str('HOST', '127.0.0.1');
  const port = int('PORT', 3000, 0, 65535);
  const publicUrl = (() => {
    const fallback = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const raw = str('CIKU_PUBLIC_URL', fallback);
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      problems.push(`CIKU_PUBLIC_URL=${JSON.stringify(raw)}: not a URL`);
      return fallback;
    }
    if (!['http:', 'https:'].includes(parsed.protocol) || parsed.search !== '' || parsed.hash !== '') {
      problems.push(
        `CIKU_PUBLIC_URL=${JSON.stringify(raw)}: expected an http(s) origin (and path), no query`,
      );
      return fallback;
    }
    return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
  })();
  const trustProxy = ((): Config['trustProxy'] => {
    const raw = str('CIKU_TRUST_PROXY', 'off').trim();
    if (raw === 'off' || raw === 'false') return false;
    if (raw === 'on' || raw === 'true') return true;
    if (/^\d{1,2}$/.test(raw)) return Number(raw);
    if (/^[0-9a-fA-F.:/, ]+$/.test(raw)) return raw;
    problems.push(
      `CIKU_TRUST_PROXY=${JSON.stringify(raw)}: expected off, on, a hop count or addresses/CIDRs separated by commas`,
    );
    return false;
  })();
  const storageKind = oneOf('CIKU_STORAGE', ['fs', 's3'] as const, 'fs');
  const storage: Config['storage'] =
    storageKind === 's3'
      ? {
          kind: 's3',
          endpoint: url('S3_ENDPOINT', undefined, 'CIKU_STORAGE=s3'),
          bucket: required('S3_BUCKET', 'CIKU_STORAGE=s3'),
          accessKey: required('S3_ACCESS_KEY', 'CIKU_STORAGE=s3'),
          secretKey: required('S3_SECRET_KEY', 'CIKU_STORAGE=s3'),
          region: str('S3_REGION', 'us-east-1'),
        }
      : { kind: 'fs', root: path.join(dataDir, 'store') };
  const searchKind = oneOf('CIKU_SEARCH', ['sqlite', 'meilisearch'] as const, 'sqlite');
  const search: Config['search'] =
    searchKind === 'meilisearch'
      ? {
          kind: 'meilisearch',
          url: url('MEILI_URL', undefined, 'CIKU_SEARCH=meilisearch'),
          key: env.MEILI_KEY === '' ? undefined : env.MEILI_KEY,
          indexPrefix: str('MEILI_INDEX_PREFIX', 'ciku'),
        }
      : { kind: 'sqlite' };

  const config: Config = {
    dataDir,
    http: { host, port },
    publicUrl,
    trustProxy,
    redis: { url: url('REDIS_URL', 'redis://127.0.0.1:6379'), queuePrefix: str('CIKU_QUEUE_PREFIX', 'ciku') },
    storage,
    search,
    adminKey: env.CIKU_ADMIN_KEY === '' ? undefined : env.CIKU_ADMIN_KEY,
    lock: {
      ttlMs: int('CIKU_LOCK_TTL_MS', 30_000, 1_000, 3_600_000),
      waitMs: int('CIKU_LOCK_WAIT_MS', 120_000, 0, 3_600_000),
    },
    api: {
      maxUploadBytes: int('CIKU_MAX_UPLOAD_BYTES', 256 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
      anonymousRateLimit: int('CIKU_ANON_RATE_LIMIT', 300, 1, 1_000_000),
      // A deep-zoom session fetches hundreds of tiles a minute: they are cheap and cacheable, and must not spend the
      // allowance searches and API calls share.
      anonymousMediaRateLimit: int('CIKU_ANON_MEDIA_RATE_LIMIT', 3_000, 1, 10_000_000),
      jsonBodyLimit: int('CIKU_JSON_BODY_LIMIT', 1024 * 1024, 1024, 64 * 1024 * 1024),
      tusExpiryHours: int('CIKU_TUS_EXPIRY_HOURS', 72, 1, 24 * 365),
      oaiAdminEmail:
        env.CIKU_OAI_ADMIN_EMAIL === undefined || env.CIKU_OAI_ADMIN_EMAIL === ''
          ? undefined
          : env.CIKU_OAI_ADMIN_EMAIL,
    },
    worker: {
      concurrency: {
        image: int('CIKU_WORKER_IMAGE_CONCURRENCY', 2, 1, 64),
        av: int('CIKU_WORKER_AV_CONCURRENCY', 1, 1, 16),
        transcript: int('CIKU_WORKER_TRANSCRIPT_CONCURRENCY', 4, 1, 64),
        index: int('CIKU_WORKER_INDEX_CONCURRENCY', 4, 1, 64),
        // One document at a time: its pages already run in parallel (CIKU_DOCUMENT_PAGE_CONCURRENCY) and
        // Tesseract, poppler and LibreOffice are CPU-bound child processes.
        document: int('CIKU_WORKER_DOCUMENT_CONCURRENCY', 1, 1, 16),
      },
      lockMs: int('CIKU_WORKER_LOCK_MS', 30_000, 1_000, 600_000),
      graceMs: int('CIKU_WORKER_GRACE_MS', 30_000, 0, 3_600_000),
      maxImagePixels: int('CIKU_IMAGE_MAX_PIXELS', 200_000_000, 1, 2_000_000_000),
      av: {
        maxDurationS: int('CIKU_AV_MAX_DURATION_S', 8 * 3600, 1, 7 * 86_400),
        // 8K frames; 4K at 60 fps for 4 hours.
        maxFramePixels: int('CIKU_AV_MAX_FRAME_PIXELS', 7680 * 4320, 1, 2_000_000_000),
        maxPixelFrames: int(
          'CIKU_AV_MAX_PIXEL_FRAMES',
          3840 * 2160 * 60 * 4 * 3600,
          1,
          Number.MAX_SAFE_INTEGER,
        ),
        maxPixelsPerByte: int('CIKU_AV_MAX_PIXELS_PER_BYTE', 100_000, 1, Number.MAX_SAFE_INTEGER),
        minSampleRate: int('CIKU_AV_MIN_SAMPLE_RATE', 4_000, 1, 10_000_000),
        maxSampleRate: int('CIKU_AV_MAX_SAMPLE_RATE', 768_000, 1, 10_000_000),
        maxChannels: int('CIKU_AV_MAX_CHANNELS', 32, 1, 1024),
        budgetBaseS: int('CIKU_AV_BUDGET_BASE_S', 120, 1, 7 * 86_400),
        budgetPerMediaS: int('CIKU_AV_BUDGET_PER_MEDIA_S', 4, 1, 1000),
        proxyBaseBytes: int('CIKU_AV_PROXY_BASE_BYTES', 64 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
        proxyBytesPerS: int('CIKU_AV_PROXY_BYTES_PER_S', 2 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
      },
      transcript: {
        // 16 MiB: ~230,000 cues, far past a 3-hour interview; its segments stay within what the indexer reads.
        maxBytes: int('CIKU_TRANSCRIPT_MAX_BYTES', 16 * 1024 * 1024, 1024, 1024 ** 3),
        maxCues: int('CIKU_TRANSCRIPT_MAX_CUES', 500_000, 1, 100_000_000),
      },
      document: {
        maxPages: int('CIKU_DOCUMENT_MAX_PAGES', 2_000, 1, 1_000_000),
        // 64 MP: an A1 drawing at 250 dpi, an A4 page at 300 dpi is 8.7 MP. Long side ≤ 8000 px.
        maxRenderPixels: int('CIKU_DOCUMENT_MAX_RENDER_PIXELS', 64_000_000, 10_000, 2_000_000_000),
        previewDpi: int('CIKU_DOCUMENT_PREVIEW_DPI', 150, 36, 1200),
        ocrDpi: int('CIKU_DOCUMENT_OCR_DPI', 300, 72, 1200),
        // 20 million characters: 2,000 dense pages of 10,000 characters.
        maxCharacters: int('CIKU_DOCUMENT_MAX_CHARACTERS', 20_000_000, 1_000, 1_000_000_000),
        // 6 hours: 2,000 pages OCR'd at ~10 s a page on two cores.
        timeLimitS: int('CIKU_DOCUMENT_TIME_LIMIT_S', 6 * 3600, 1, 7 * 86_400),
        pageConcurrency: int('CIKU_DOCUMENT_PAGE_CONCURRENCY', 2, 1, 32),
      },
      tmpDir: path.join(dataDir, 'tmp'),
    },
    batch: {
      concurrency: int('CIKU_BATCH_CONCURRENCY', 2, 1, 64),
      dropDir: path.resolve(cwd, str('CIKU_DROP_DIR', path.join(dataDir, 'dropzone'))),
      dropCron: cron('CIKU_DROP_CRON', '15 1 * * *'),
      settleMs: int('CIKU_DROP_SETTLE_S', 60, 0, 86_400) * 1000,
      fixityCron: cron('CIKU_FIXITY_CRON', '30 2 * * *'),
      statsSnapshotCron: cron('CIKU_STATS_SNAPSHOT_CRON', '5 0 1 1 *'),
      fixityRateBytes: int('CIKU_FIXITY_RATE_MB', 50, 1, 100_000) * 1024 * 1024,
    },
    logLevel: oneOf('LOG_LEVEL', logLevels, 'info'),
  };
  if (config.worker.av.minSampleRate > config.worker.av.maxSampleRate)
    problems.push('CIKU_AV_MIN_SAMPLE_RATE is above CIKU_AV_MAX_SAMPLE_RATE');
  if (problems.length > 0) {
    throw new CikuError(
      'CIKU_ERR_CONFIG_INVALID',
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`,
      { details: problems },
    );
  }
  return config;
}

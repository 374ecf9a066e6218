import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startTestApi, type TestApi } from './api.ts';
import { startWorkersFor, until } from './api-workers.ts';
import { sharedPath, tempDir } from './env.ts';

type Teardown = { teardown(fn: () => unknown): void };

/** The interview's transcript: 8 cues, 拉坯 only in cue 3, 青花 in cues 4 and 5. */
export const CUES = [
  { start: 0, end: 3.4, speaker: '王师傅', text: '我十四岁进厂当学徒，跟着师傅学做瓷。' },
  { start: 3.5, end: 6.9, speaker: '访谈人', text: '您最先学的是哪一道工序？' },
  { start: 7, end: 10.4, speaker: '王师傅', text: '先学揉泥，泥要揉得没有一点气泡。' },
  { start: 10.5, end: 13.9, speaker: '王师傅', text: '然后学拉坯，手要稳，转盘要匀。' },
  { start: 14, end: 17.4, speaker: '访谈人', text: '画青花难不难？' },
  { start: 17.5, end: 20.9, speaker: '王师傅', text: '青花分水最难，要一笔一笔地练。' },
  { start: 21, end: 24.4, speaker: '王师傅', text: '窑火的好坏，全看烧窑师傅的眼力。' },
  { start: 24.5, end: 29, speaker: '访谈人', text: '谢谢王师傅，今天就谈到这里。' },
] as const;
export const LAPI_CUE = 3;

const vttTime = (s: number) => {
  const ms = Math.round(s * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
};
export const TRANSCRIPT_VTT = `WEBVTT\n\n${CUES.map(
  (c) => `${vttTime(c.start)} --> ${vttTime(c.end)}\n<v ${c.speaker}>${c.text}\n`,
).join('\n')}`;

export const ICH_TITLE = '景德镇手工制瓷技艺';
/** Words only the hidden items carry (titles, facet values): no page an anonymous reader sees may hold them. */
export const HIDDEN = {
  restricted: {
    id: 'CO-RESTR-7731',
    title: '青花残片研究样本 RESMARKERXQ',
    marker: 'RESMARKERXQ',
    museum: '秘藏陶瓷研究所',
    period: '五代',
  },
  private: {
    id: 'CO-PRIV-9152',
    title: '青花内部登记件 PRIVMARKERZK',
    marker: 'PRIVMARKERZK',
    museum: '内部库房乙',
    period: '元',
  },
} as const;

interface Seed {
  id: string;
  kind: string;
  level: 'public' | 'restricted' | 'private';
  metadata: Record<string, unknown>;
}

const MUSEUM_A = '景德镇中国陶瓷博物馆';
const MUSEUM_B = '景德镇御窑博物馆';

export const IDS = {
  ich: 'ICH-JDZ-SZ',
  inheritorA: 'INH-WANG',
  inheritorB: 'INH-LI',
  interview: 'OH-WANG-2023',
  image: 'CO-MEIPING',
  bowl: 'CO-BOWL',
  plate: 'CO-PLATE',
  slab: 'CO-SLAB',
  gone: 'CO-GONE',
} as const;

const SEEDS: Seed[] = [
  {
    id: IDS.ich,
    kind: 'ich_project',
    level: 'public',
    metadata: {
      title: ICH_TITLE,
      name: ICH_TITLE,
      code: 'Ⅷ-5',
      category: '传统技艺',
      level: '国家级',
      region: '珠山区',
      description: '景德镇手工制瓷技艺包括拉坯、利坯、画坯、施釉、烧窑等七十二道工序。',
    },
  },
  {
    id: IDS.inheritorA,
    kind: 'inheritor',
    level: 'public',
    metadata: {
      title: `王家明 · ${ICH_TITLE}代表性传承人`,
      name: '王家明',
      ich_projects: [ICH_TITLE],
      category: '传统技艺',
      level: '国家级',
      region: '珠山区',
      biography: '王家明十四岁进厂学艺，擅长拉坯与青花分水。',
    },
  },
  {
    id: IDS.inheritorB,
    kind: 'inheritor',
    level: 'public',
    metadata: {
      title: `李青 · ${ICH_TITLE}传承人`,
      name: '李青',
      ich_projects: [ICH_TITLE],
      category: '传统技艺',
      level: '省级',
      region: '昌江区',
    },
  },
  {
    id: IDS.interview,
    kind: 'oral_history',
    level: 'public',
    metadata: {
      title: '王师傅谈景德镇制瓷',
      interviewee: '王家明',
      interviewee_ref: IDS.inheritorA,
      interviewer: '访谈人',
      recorded_at: '2023-05-12',
      place: '景德镇珠山区',
      description: '王师傅讲述学艺经历与青花分水。',
    },
  },
  {
    id: IDS.image,
    kind: 'collection_object',
    level: 'public',
    metadata: {
      title: '青花缠枝莲纹梅瓶',
      object_name: '梅瓶',
      museum: MUSEUM_A,
      period: '明',
      glaze: '青花',
      creator: '王家明',
    },
  },
  {
    id: IDS.bowl,
    kind: 'collection_object',
    level: 'public',
    metadata: { title: '青花山水纹碗', object_name: '碗', museum: MUSEUM_B, period: '清', glaze: '青花' },
  },
  {
    id: IDS.plate,
    kind: 'collection_object',
    level: 'public',
    metadata: { title: '青花花鸟纹盘', object_name: '盘', museum: MUSEUM_A, period: '清', glaze: '青花' },
  },
  {
    id: IDS.slab,
    kind: 'collection_object',
    level: 'public',
    metadata: {
      title: '景德镇粉彩山水瓷板',
      object_name: '瓷板',
      museum: MUSEUM_B,
      period: '民国',
      glaze: '粉彩',
    },
  },
  {
    id: HIDDEN.restricted.id,
    kind: 'collection_object',
    level: 'restricted',
    metadata: {
      title: HIDDEN.restricted.title,
      museum: HIDDEN.restricted.museum,
      period: HIDDEN.restricted.period,
      glaze: '青花',
    },
  },
  {
    id: HIDDEN.private.id,
    kind: 'collection_object',
    level: 'private',
    metadata: {
      title: HIDDEN.private.title,
      museum: HIDDEN.private.museum,
      period: HIDDEN.private.period,
      glaze: '青花',
    },
  },
  {
    id: IDS.gone,
    kind: 'collection_object',
    level: 'public',
    metadata: { title: '待删除的登记记录', museum: MUSEUM_B },
  },
];

/** Items anyone may read once the setup is done (the deleted one excluded). */
export const PUBLIC_IDS = SEEDS.filter((s) => s.level === 'public' && s.id !== IDS.gone).map((s) => s.id);
export const LIVE_IDS = SEEDS.filter((s) => s.id !== IDS.gone).map((s) => s.id);
export const TITLES: Record<string, string> = Object.fromEntries(
  SEEDS.map((s) => [s.id, String(s.metadata.title)]),
);

export interface Portal {
  api: TestApi;
  /** The origin pages are read from: the listening server, or the inject-only public URL. */
  origin: string;
  researcherKey: string;
  /** Whether the interview has its media (ffmpeg made the proxy); without it only the transcript is shown. */
  hasMedia: boolean;
  /** Why there is no media, when there is none. */
  noMediaWhy?: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function hasFfmpeg(): boolean {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A 30 s web-ready H.264/AAC file (faststart, so the proxy is a stream copy): the fixtures are all ≤ 5 s. */
async function interviewMedia(t: Teardown): Promise<Buffer> {
  const out = path.join(tempDir(t, 'ciku-portal-av-'), 'interview.mp4');
  execFileSync(
    'ffmpeg',
    [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=480x270:rate=15:duration=30'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=30'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k'],
      ...['-movflags', '+faststart', '-shortest', out],
    ],
    { stdio: 'ignore' },
  );
  return fs.readFile(out);
}

interface FileView {
  name: string;
  derivatives?: Record<string, { status: string; reason?: string }>;
}

/**
 * A portal over a fresh archive with running workers and the records above: an ICH project, two inheritors, an
 * interview (30 s video + WebVTT transcript), museum objects in two museums and three periods (one with a
 * 5184×3456 scan, so IIIF tiles are made), a restricted and a private object, and one deleted item. Resolves once
 * every derivative is made and the search index holds every item. `listen` makes it a real server for a browser
 * (its public URL is the listening origin, so IIIF info.json points at it).
 */
export async function startPortal(t: Teardown, options: { listen: boolean }): Promise<Portal> {
  const port = options.listen ? await freePort() : 0;
  const origin = options.listen ? `http://127.0.0.1:${port}` : 'http://ciku.test';
  const api = await startTestApi(t, {
    publicUrl: origin,
    anonymousRateLimit: 1_000_000,
    anonymousMediaRateLimit: 1_000_000,
  });
  if (options.listen) await api.app.listen({ host: '127.0.0.1', port });
  await startWorkersFor(t, api);
  const as = api.auth.admin;
  for (const s of SEEDS) {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: as,
      payload: { id: s.id, kind: s.kind, metadata: s.metadata, access: { level: s.level } },
    });
    if (res.statusCode !== 201) throw new Error(`creating ${s.id}: ${res.statusCode} ${res.body}`);
  }
  const put = async (id: string, name: string, body: Buffer | string, role?: string) => {
    const res = await api.app.inject({
      method: 'PUT',
      url: `/v1/items/${id}/files/${encodeURIComponent(name)}${role ? `?role=${role}` : ''}`,
      headers: as,
      payload: body,
    });
    if (res.statusCode !== 201) throw new Error(`uploading ${name} to ${id}: ${res.statusCode} ${res.body}`);
  };
  const scan = sharedPath('fixtures/images/canon-dslr.jpg');
  if (scan === undefined)
    throw new Error('needs ../shared/fixtures/images/canon-dslr.jpg (a 5184×3456 scan)');
  await put(IDS.image, '青花缠枝莲纹梅瓶.jpg', await fs.readFile(scan));
  await put(HIDDEN.restricted.id, 'restricted.jpg', await fs.readFile(scan));
  const ffmpeg = hasFfmpeg();
  if (ffmpeg) await put(IDS.interview, 'interview.mp4', await interviewMedia(t));
  await put(IDS.interview, 'interview.vtt', TRANSCRIPT_VTT, 'transcript');
  const del = await api.app.inject({ method: 'DELETE', url: `/v1/items/${IDS.gone}`, headers: as });
  if (del.statusCode !== 200) throw new Error(`deleting ${IDS.gone}: ${del.statusCode} ${del.body}`);

  for (const id of [IDS.image, IDS.interview, HIDDEN.restricted.id]) {
    await until(
      async () => {
        const res = await api.app.inject({ url: `/v1/items/${id}`, headers: as });
        const files = res.json<{ files: FileView[] }>().files;
        const all = files.flatMap((f) => Object.entries(f.derivatives ?? {}).map(([k, d]) => ({ f, k, d })));
        const failed = all.find((x) => x.d.status === 'failed');
        if (failed) throw new Error(`${id}: ${failed.f.name} ${failed.k} failed: ${failed.d.reason ?? ''}`);
        return all.length > 0 && all.every((x) => x.d.status === 'ready') ? true : undefined;
      },
      `the derivatives of ${id}`,
      120_000,
    );
  }
  await until(
    async () => {
      const res = await api.app.inject({ url: '/v1/search?limit=100', headers: as });
      const ids = new Set(res.json<{ hits: { id: string }[] }>().hits.map((h) => h.id));
      return LIVE_IDS.every((id) => ids.has(id)) && !ids.has(IDS.gone) ? true : undefined;
    },
    'the search index to hold every item',
    60_000,
  );
  await until(
    async () => {
      const res = await api.app.inject({ url: `/v1/search?q=${encodeURIComponent('拉坯')}` });
      const hit = res
        .json<{ hits: { id: string; moments?: unknown[] }[] }>()
        .hits.find((h) => h.id === IDS.interview);
      return hit?.moments && hit.moments.length > 0 ? true : undefined;
    },
    'the transcript moments in the search index',
    60_000,
  );
  const researcherKey = api.auth.researcher.authorization!.replace(/^Bearer /, '');
  return {
    api,
    origin,
    researcherKey,
    hasMedia: ffmpeg,
    ...(ffmpeg
      ? {}
      : { noMediaWhy: 'SKIPPED: ffmpeg is not installed (scripts/setup-debian.sh installs it)' }),
  };
}

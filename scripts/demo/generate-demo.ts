import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { rasterizeSvg } from '../../services/adapters/image.ts';

/**
 * A demo archive of its own making, written as a batch source (a folder with `manifest.csv`): a few hundred items
 * of every kind with Chinese metadata composed from word lists, scans drawn by the image adapter (vases, plates and kiln
 * sites as shapes and glaze colours), short audio and video made by ffmpeg's test sources, WebVTT transcripts.
 * Deterministic (a seeded generator), so a re-run produces the same source and its batch skips every row.
 * No third-party data: nothing here comes from ../shared.
 */
const run = promisify(execFile);

const glazes = ['青花', '粉彩', '斗彩', '颜色釉', '青白瓷', '玲珑瓷', '釉里红', '霁蓝', '珐琅彩', '影青'];
const wares = ['梅瓶', '玉壶春瓶', '盘', '碗', '杯', '罐', '瓶', '洗', '炉', '盏'];
const motifs = [
  '缠枝莲纹',
  '花鸟纹',
  '山水纹',
  '云龙纹',
  '婴戏纹',
  '鱼藻纹',
  '折枝花卉纹',
  '八仙纹',
  '松竹梅纹',
  '海水纹',
];
const periods = [
  '宋',
  '元',
  '明洪武',
  '明永乐',
  '明宣德',
  '明成化',
  '清康熙',
  '清雍正',
  '清乾隆',
  '民国',
  '当代',
];
const museums = [
  '景德镇中国陶瓷博物馆',
  '景德镇御窑博物馆',
  '景德镇民窑博物馆',
  '浮梁县博物馆',
  '乐平市博物馆',
];
const regions = ['珠山区', '昌江区', '浮梁县', '乐平市', '昌南新区'] as const;
const crafts = ['拉坯', '利坯', '画坯', '施釉', '满窑', '烧窑', '青花分水', '粉彩填色', '玲珑雕刻', '看火'];
const surnames = [
  '王',
  '李',
  '张',
  '刘',
  '陈',
  '杨',
  '黄',
  '赵',
  '吴',
  '周',
  '徐',
  '孙',
  '胡',
  '朱',
  '高',
  '余',
];
const given = [
  '建国',
  '秀英',
  '国华',
  '志明',
  '桂兰',
  '德昌',
  '文斌',
  '丽华',
  '长青',
  '春生',
  '玉珍',
  '承德',
];
const siteTypes = ['窑址', '里弄', '工业遗产', '窑作坊', '瓷业会馆'];
const siteNames = [
  '湖田窑',
  '落马桥窑',
  '丽阳窑',
  '南市街窑',
  '观音阁窑',
  '三闾庙',
  '祥集弄',
  '彭家上弄',
  '宇宙瓷厂',
  '建国瓷厂',
];
const series = ['四有档案', '文物普查', '非遗', '保护工程', '公众参与'] as const;
const events = ['中国景德镇国际陶瓷博览会', '陶溪川春秋大集', '御窑厂开窑仪式', '非遗进校园', '瓷业祭窑神'];

/** A small seeded generator (mulberry32): the same demo every time. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const glazeColour: Record<string, string> = {
  青花: '#1f3f8f',
  粉彩: '#d98aa0',
  斗彩: '#4a8f4f',
  颜色釉: '#8f1f2a',
  青白瓷: '#bcd8d2',
  玲珑瓷: '#e9f0f4',
  釉里红: '#a3262a',
  霁蓝: '#1b2f6b',
  珐琅彩: '#e0a93b',
  影青: '#a7cfc8',
};

/** `scale` > 1 draws the same picture at a scan's resolution (the first objects get deep zoom from IIIF tiles). */
function vaseSvg(colour: string, shape: number, motif: number, scale = 1): string {
  const w = 800;
  const h = 600;
  const body =
    shape % 3 === 0
      ? `<path d="M370 90 h60 v40 q120 60 110 220 q-10 160 -110 190 h-60 q-100 -30 -110 -190 q-10 -160 110 -220 z"/>`
      : shape % 3 === 1
        ? `<ellipse cx="400" cy="330" rx="300" ry="120"/>`
        : `<path d="M300 150 h200 q40 200 -20 330 h-160 q-60 -130 -20 -330 z"/>`;
  const bands = Array.from(
    { length: 3 + (motif % 4) },
    (_, i) =>
      `<path d="M250 ${200 + i * 70} q150 ${i % 2 ? 40 : -40} 300 0" stroke="white" stroke-width="${4 + (i % 3)}" fill="none" opacity="0.7"/>`,
  ).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w * scale}" height="${h * scale}" viewBox="0 0 ${w} ${h}">
  <defs><radialGradient id="g" cx="40%" cy="35%" r="70%"><stop offset="0" stop-color="#fff" stop-opacity="0.6"/><stop offset="1" stop-color="${colour}"/></radialGradient></defs>
  <rect width="${w}" height="${h}" fill="#efe9df"/>
  <g fill="url(#g)" stroke="#333" stroke-width="2">${body}</g>${bands}</svg>`;
}

function siteSvg(seed: number): string {
  const r = rng(seed);
  const kilns = Array.from({ length: 4 + Math.floor(r() * 5) }, () => {
    const x = 50 + r() * 650;
    const y = 300 + r() * 200;
    return `<path d="M${x} ${y} q50 -${80 + r() * 60} 100 0 z" fill="#7a4b2a" opacity="0.85"/>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"><rect width="800" height="600" fill="#cfe3ef"/><rect y="380" width="800" height="220" fill="#8aa36b"/>${kilns}</svg>`;
}

const vtt = (lines: [number, string, string][]) => {
  const ts = (s: number) => new Date(s * 1000).toISOString().slice(11, 23);
  return `WEBVTT\n\n${lines.map(([s, who, text], i) => `${i + 1}\n${ts(s)} --> ${ts(s + 4.5)}\n<v ${who}>${text}\n`).join('\n')}`;
};

const csvCell = (v: string | number | undefined): string => {
  const s = v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export interface DemoSourceStats {
  rows: number;
  images: number;
  audio: number;
  video: number;
  transcripts: number;
}

/** Writes the demo source into `dir` (made if absent); returns what it made. `scale` multiplies the item count. */
export async function generateDemoSource(
  dir: string,
  options: { scale?: number } = {},
): Promise<DemoSourceStats> {
  const scale = options.scale ?? 1;
  const r = rng(20261129);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
  await fs.mkdir(path.join(dir, 'media'), { recursive: true });
  const stats: DemoSourceStats = { rows: 0, images: 0, audio: 0, video: 0, transcripts: 0 };
  /** Renders an SVG drawing to `file` (a JPEG at the given quality, or a PNG) and counts it. */
  const drawScan = async (svg: string, file: string, format: { jpeg: number } | 'png'): Promise<void> => {
    await rasterizeSvg(svg, path.join(dir, file), format);
    stats.images += 1;
  };
  const header = [
    'id',
    'kind',
    'access',
    'organisation',
    'title',
    'subject',
    'description',
    'date',
    'creator',
    'museum',
    'accession_number',
    'object_name',
    'period',
    'glaze',
    'decoration',
    'ware_type',
    'name',
    'gender',
    'birth_year',
    'level',
    'category',
    'region',
    'biography',
    'code',
    'site_type',
    'coordinates',
    'reference_code',
    'fonds',
    'year',
    'series',
    'interviewee',
    'interviewer',
    'place',
    'media_type',
    'event',
    'files',
    'transcript',
  ];
  const rows: Record<string, string | number | undefined>[] = [];
  const n = (k: number) => Math.max(1, Math.round(k * scale));
  const hasFfmpeg = await run('ffmpeg', ['-version']).then(
    () => true,
    () => false,
  );

  for (let i = 1; i <= n(90); i += 1) {
    const glaze = pick(glazes);
    const ware = pick(wares);
    const motif = pick(motifs);
    const period = pick(periods);
    const museum = pick(museums);
    const file = `media/obj-${i}.jpg`;
    await drawScan(vaseSvg(glazeColour[glaze]!, i, i * 7, i <= 3 ? 4 : 1), file, { jpeg: 80 });
    rows.push({
      id: `demo-co-${String(i).padStart(4, '0')}`,
      kind: 'collection_object',
      access: i % 10 === 0 ? 'restricted' : 'public',
      organisation: museum,
      title: `${period}${glaze}${motif}${ware}`,
      subject: `${glaze};${motif}`,
      description: `${museum}藏${period}${glaze}${ware}，饰${motif}，胎质细腻，釉色莹润。演示数据。`,
      museum,
      accession_number: `DEMO-${museum.slice(0, 2)}-${String(i).padStart(4, '0')}`,
      object_name: ware,
      period,
      glaze,
      decoration: motif,
      ware_type: ware,
      files: file,
    });
  }
  for (let i = 1; i <= n(30); i += 1) {
    const name = `${pick(siteNames)}${i > 10 ? `（${i}号点）` : ''}`;
    const file = `media/site-${i}.png`;
    await drawScan(siteSvg(i), file, 'png');
    rows.push({
      id: `demo-hs-${String(i).padStart(4, '0')}`,
      kind: 'heritage_site',
      access: 'public',
      title: `${name}遗址`,
      site_type: pick(siteTypes),
      period: pick(periods),
      region: pick(regions),
      coordinates: `${(29.25 + r() * 0.1).toFixed(5)},${(117.15 + r() * 0.1).toFixed(5)}`,
      description: `${name}，位于景德镇${pick(regions)}，保存有窑炉、作坊与瓷片堆积。演示数据。`,
      files: file,
    });
  }
  for (let i = 1; i <= n(40); i += 1) {
    const name = `${pick(surnames)}${pick(given)}`;
    const craft = pick(crafts);
    rows.push({
      id: `demo-in-${String(i).padStart(4, '0')}`,
      kind: 'inheritor',
      access: 'public',
      title: `${name}（景德镇手工制瓷技艺·${craft}）`,
      name,
      gender: r() < 0.5 ? '男' : '女',
      birth_year: 1930 + Math.floor(r() * 60),
      level: pick(['国家级', '省级', '市级', '县级']),
      category: '传统技艺',
      region: `江西省景德镇市${pick(regions)}`,
      biography: `${name}，自幼从艺，专攻${craft}，从业${20 + Math.floor(r() * 40)}年，带徒${Math.floor(r() * 30)}人。演示数据，人物虚构。`,
    });
  }
  for (let i = 1; i <= n(25); i += 1) {
    const craft = pick(crafts);
    rows.push({
      id: `demo-ip-${String(i).padStart(4, '0')}`,
      kind: 'ich_project',
      access: 'public',
      title: `景德镇${craft}技艺（演示${i}）`,
      code: `Ⅷ-${100 + i}`,
      level: pick(['国家级', '省级', '市级']),
      category: '传统技艺',
      region: `江西省景德镇市${pick(regions)}`,
      description: `${craft}是景德镇手工制瓷七十二道工序之一。演示数据。`,
    });
  }
  for (let i = 1; i <= n(60); i += 1) {
    const s = pick(series);
    const year = 1980 + Math.floor(r() * 45);
    const file = `media/doc-${i}.txt`;
    const text = `${pick(siteNames)}${s}档案（${year}年）\n${pick(glazes)}瓷片标本登记、${pick(crafts)}工序记录。演示数据。\n`;
    await fs.writeFile(path.join(dir, file), text);
    rows.push({
      id: `demo-ad-${String(i).padStart(4, '0')}`,
      kind: 'archive_document',
      access: i % 7 === 0 ? 'private' : 'public',
      organisation: '景德镇市档案馆',
      title: text.split('\n')[0],
      reference_code: `JDZ-${s.slice(0, 2)}-${year}-${String(i).padStart(3, '0')}`,
      fonds: '景德镇市档案馆',
      year,
      series: s,
      files: file,
    });
  }
  for (let i = 1; i <= n(25); i += 1) {
    const who = `${pick(surnames)}师傅`;
    const craft = pick(crafts);
    const transcript = `media/oh-${i}.vtt`;
    await fs.writeFile(
      path.join(dir, transcript),
      vtt([
        [0, who, `我从小跟着师傅学${craft}。`],
        [5, '记录员', `那时候${craft}最难的是什么？`],
        [10, who, `${pick(glazes)}的料性要摸透，${pick(crafts)}也不能马虎。`],
        [15, who, '景德镇的窑火一烧就是一千多年。'],
      ]),
    );
    stats.transcripts += 1;
    let files = '';
    if (hasFfmpeg && i <= n(4)) {
      const audio = `media/oh-${i}.m4a`;
      await run('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        `sine=frequency=${300 + i * 40}:duration=20`,
        '-c:a',
        'aac',
        '-b:a',
        '64k',
        path.join(dir, audio),
      ]);
      stats.audio += 1;
      files = audio;
    }
    rows.push({
      id: `demo-oh-1${String(i).padStart(3, '0')}`,
      kind: 'oral_history',
      access: i % 5 === 0 ? 'restricted' : 'public',
      title: `${who}谈${craft}`,
      subject: `${craft};口述史`,
      interviewee: `${who}（化名）`,
      interviewer: '瓷库口述史项目组',
      place: `江西省景德镇市${pick(regions)}`,
      date: `20${20 + Math.floor(r() * 6)}-0${1 + Math.floor(r() * 9)}-1${Math.floor(r() * 9)}`,
      files,
      transcript,
    });
  }
  for (let i = 1; i <= n(30); i += 1) {
    const event = pick(events);
    let file = `media/media-${i}.jpg`;
    let mediaType = 'photo';
    if (hasFfmpeg && i <= n(3)) {
      file = `media/media-${i}.mp4`;
      mediaType = 'video';
      await run('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        `testsrc=size=320x240:rate=25:duration=6`,
        '-f',
        'lavfi',
        '-i',
        `sine=frequency=${500 + i * 50}:duration=6`,
        '-shortest',
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-pix_fmt',
        'yuv420p',
        '-c:a',
        'aac',
        path.join(dir, file),
      ]);
      stats.video += 1;
    } else {
      await drawScan(vaseSvg(glazeColour[pick(glazes)]!, i + 1, i), file, { jpeg: 75 });
    }
    rows.push({
      id: `demo-me-${String(i).padStart(4, '0')}`,
      kind: 'media',
      access: 'public',
      title: `${2018 + (i % 7)}年${event}（${i}）`,
      media_type: mediaType,
      event,
      date: `${2018 + (i % 7)}-10-18`,
      files: file,
    });
  }
  const lines = [header.join(',')];
  for (const row of rows) lines.push(header.map((h) => csvCell(row[h])).join(','));
  await fs.writeFile(path.join(dir, 'manifest.csv'), `${lines.join('\n')}\n`);
  stats.rows = rows.length;
  return stats;
}

// `npm run demo:generate -- <dir>`: the source alone, e.g. to try `ciku batch` on it.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? 'demo-source';
  const stats = await generateDemoSource(dir);
  process.stdout.write(`demo source in ${dir}: ${JSON.stringify(stats)}\n`);
}

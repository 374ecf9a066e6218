import fs from 'node:fs/promises';
import path from 'node:path';
import { isCikuError } from '../../services/errors.ts';
import type { Items, NewFile } from '../../services/archive/items.ts';

const demoAgent = { name: 'system:demo', address: 'urn:ciku:agent:system:demo' };

interface DemoItem {
  id: string;
  kind: string;
  access: { level: 'public' | 'restricted' | 'private'; embargo_until?: string; organisation?: string };
  metadata: Record<string, unknown>;
  files?: NewFile[];
}

const transcript = (lines: [string, string, string][]): string =>
  `WEBVTT\n\n${lines.map(([start, end, text], i) => `${i + 1}\n${start} --> ${end}\n${text}\n`).join('\n')}`;

/** A small archive of every kind with Chinese metadata, made here (no third-party data). */
function demoItems(): DemoItem[] {
  return [
    {
      id: 'demo-oh-0001',
      kind: 'oral_history',
      access: { level: 'public' },
      metadata: {
        title: '老艺人谈青花分水技法',
        creator: '瓷库口述史项目组',
        subject: ['青花', '分水', '景德镇手工制瓷技艺'],
        description: '一位青花画师回忆学艺经历，讲述分水的浓淡层次与料性。',
        date: '2024-05-18',
        language: 'zh',
        interviewee: '王师傅（化名）',
        interviewer: '李记录员',
        recorded_at: '2024-05-18',
        place: '江西省景德镇市珠山区',
        dialect: '景德镇话',
        consent: '受访者书面同意公开',
      },
      files: [
        {
          name: '访谈逐字稿.vtt',
          role: 'transcript',
          mediaType: 'text/vtt',
          body: transcript([
            ['00:00:01.000', '00:00:06.000', '<v 王师傅>我十四岁进厂，跟着师傅学青花。'],
            ['00:00:06.500', '00:00:12.000', '<v 王师傅>分水讲究一笔下去浓淡有五个层次。'],
            ['00:00:12.500', '00:00:18.000', '<v 李记录员>那时候用的青料是哪里来的？'],
          ]),
        },
      ],
    },
    {
      id: 'demo-oh-0002',
      kind: 'oral_history',
      access: { level: 'restricted' },
      metadata: {
        title: '窑工口述：柴窑烧成与看火',
        subject: ['柴窑', '看火', '烧成'],
        interviewee: '余师傅（化名）',
        recorded_at: '2023-11-02',
        place: '景德镇古窑民俗博览区',
      },
    },
    {
      id: 'demo-doc-0001',
      kind: 'archive_document',
      access: { level: 'public' },
      metadata: {
        title: '御窑厂遗址保护工程档案（节选）',
        reference_code: 'JDZ-BH-2019-001',
        fonds: '景德镇市文物局',
        year: 2019,
        series: '保护工程',
        pages: 12,
        ocr_text: '御窑厂遗址位于珠山区，明清两代为皇家烧造瓷器。',
      },
      files: [
        { name: '说明.txt', body: '御窑厂遗址保护工程档案节选，供演示使用。\n', mediaType: 'text/plain' },
      ],
    },
    {
      id: 'demo-doc-0002',
      kind: 'archive_document',
      access: { level: 'private', organisation: '景德镇市档案馆' },
      metadata: { title: '第三次全国文物普查登记表（窑址）', series: '文物普查', year: 2009 },
    },
    {
      id: 'demo-obj-0001',
      kind: 'collection_object',
      access: { level: 'public', organisation: '景德镇中国陶瓷博物馆' },
      metadata: {
        title: '青花缠枝莲纹梅瓶',
        museum: '景德镇中国陶瓷博物馆',
        accession_number: 'TC-0001',
        object_name: '梅瓶',
        period: '明永乐',
        kiln: '景德镇御窑',
        ware_type: '瓶',
        glaze: '青花',
        decoration: ['缠枝莲纹'],
        dimensions: '高 36 厘米',
      },
      files: [
        {
          name: 'catalogue.csv',
          body: 'accession_number,object_name,period\nTC-0001,梅瓶,明永乐\n',
          mediaType: 'text/plain',
        },
      ],
    },
    {
      id: 'demo-obj-0002',
      kind: 'collection_object',
      access: { level: 'public', organisation: '景德镇御窑博物馆' },
      metadata: {
        title: '粉彩花鸟纹盘',
        museum: '景德镇御窑博物馆',
        period: '清雍正',
        glaze: '粉彩',
        ware_type: '盘',
      },
    },
    {
      id: 'demo-inh-0001',
      kind: 'inheritor',
      access: { level: 'public' },
      metadata: {
        title: '传承人档案：示例传承人甲',
        name: '示例传承人甲',
        gender: '男',
        birth_year: 1950,
        level: '国家级',
        ich_projects: ['景德镇手工制瓷技艺'],
        project_codes: ['Ⅷ-7'],
        category: '传统技艺',
        region: '江西省景德镇市',
        biography: '自幼学习拉坯与利坯，从业五十余年，带徒二十余人。',
      },
    },
    {
      id: 'demo-ich-0001',
      kind: 'ich_project',
      access: { level: 'public' },
      metadata: {
        title: '景德镇手工制瓷技艺',
        code: 'Ⅷ-7',
        name: '景德镇手工制瓷技艺',
        category: '传统技艺',
        level: '国家级',
        batch: 1,
        region: '江西省景德镇市',
      },
    },
    {
      id: 'demo-site-0001',
      kind: 'heritage_site',
      access: { level: 'public' },
      metadata: {
        title: '湖田窑遗址',
        site_type: '窑址',
        coordinates: { lat: 29.2736, lon: 117.2152 },
        period: '五代至明',
        protection_status: '全国重点文物保护单位',
        region: '珠山区',
      },
    },
    {
      id: 'demo-site-0002',
      kind: 'heritage_site',
      access: { level: 'public' },
      metadata: { title: '祥集弄民宅', site_type: '里弄', period: '明', region: '珠山区' },
    },
    {
      id: 'demo-media-0001',
      kind: 'media',
      access: { level: 'public' },
      metadata: {
        title: '2024 瓷博会开幕式',
        media_type: 'video',
        event: '中国景德镇国际陶瓷博览会',
        date: '2024-10-18',
      },
    },
  ];
}

/** Loads the demo items once (a marker in the data dir remembers it); returns how many were created. */
export async function loadDemoData(items: Items, dataDir: string): Promise<number> {
  const marker = path.join(dataDir, '.demo-loaded');
  if (
    await fs.stat(marker).then(
      () => true,
      () => false,
    )
  )
    return 0;
  let created = 0;
  for (const d of demoItems()) {
    try {
      await items.create(
        { id: d.id, kind: d.kind, metadata: d.metadata, access: d.access, files: d.files ?? [] },
        demoAgent,
      );
      created += 1;
    } catch (err) {
      if (!isCikuError(err, 'CIKU_ERR_ITEM_EXISTS')) throw err;
    }
  }
  await fs.writeFile(marker, new Date().toISOString());
  return created;
}

import type { SearchFiltersT } from '../../schemas/search.ts';

/**
 * The relevance test set over ../shared/corpus (projects as `ichp-<ihchina_id>`, inheritors as
 * `ichi-<ihchina_id>`): each query lists ids that must appear in the top 10 (chosen from the source rows, not from
 * what an engine answered), or `nothing: true` for queries that must find nothing.
 */
export interface RelevanceCase {
  q: string;
  group:
    'project name' | 'inheritor name' | 'infix' | 'traditional' | 'pinyin' | 'facet' | 'mixed' | 'nothing';
  want?: string[];
  filters?: SearchFiltersT;
  nothing?: true;
}

export const relevanceSet: RelevanceCase[] = [
  // Project names (the project itself among the first ten).
  { group: 'project name', q: '景德镇手工制瓷技艺', want: ['ichp-14270'] },
  { group: 'project name', q: '景德镇传统瓷窑作坊营造技艺', want: ['ichp-14311'] },
  { group: 'project name', q: '水碓营造技艺', want: ['ichp-23600'] },
  { group: 'project name', q: '龙泉青瓷烧制技艺', want: ['ichp-14272'] },
  { group: 'project name', q: '宜兴紫砂陶制作技艺', want: ['ichp-14261'] },
  { group: 'project name', q: '德化瓷烧制技艺', want: ['ichp-14274'] },
  { group: 'project name', q: '醴陵釉下五彩瓷烧制技艺', want: ['ichp-14451'] },
  { group: 'project name', q: '钧瓷烧制技艺', want: ['ichp-14449'] },
  { group: 'project name', q: '汝瓷烧制技艺', want: ['ichp-14704', 'ichp-14705'] },
  { group: 'project name', q: '昆曲', want: ['ichp-13133', 'ichp-13134', 'ichp-13135'] },
  { group: 'project name', q: '侗族大歌', want: ['ichp-12463', 'ichp-12465'] },
  { group: 'project name', q: '妈祖祭典', want: ['ichp-14984', 'ichp-14985'] },
  { group: 'project name', q: '苗族古歌', want: ['ichp-12177'] },
  { group: 'project name', q: '木版水印技艺', want: ['ichp-14404', 'ichp-14405', 'ichp-14406'] },
  // Inheritor names (personal names: no dictionary has them).
  { group: 'inheritor name', q: '王安江', want: ['ichi-716'] },
  { group: 'inheritor name', q: '陈圣发', want: ['ichi-3052'] },
  { group: 'inheritor name', q: '曹开永', want: ['ichi-3054'] },
  { group: 'inheritor name', q: '余云山', want: ['ichi-3061'] },
  { group: 'inheritor name', q: '胡家旺', want: ['ichi-3322'] },
  { group: 'inheritor name', q: '詹和安', want: ['ichi-30650'] },
  { group: 'inheritor name', q: '玉勐嘎', want: ['ichi-3079'] },
  { group: 'inheritor name', q: '阙太纯', want: ['ichi-1732'] },
  { group: 'inheritor name', q: '约相', want: ['ichi-1274'] },
  { group: 'inheritor name', q: '凌凤英', want: ['ichi-2223'] },
  { group: 'inheritor name', q: '傅长敏', want: ['ichi-3197'] },
  // Two- and three-character infixes (across word boundaries).
  { group: 'infix', q: '碓营', want: ['ichp-23600'] },
  { group: 'infix', q: '瓷窑作', want: ['ichp-14311'] },
  { group: 'infix', q: '下五彩', want: ['ichp-14451'] },
  { group: 'infix', q: '紫砂陶', want: ['ichp-14261'] },
  { group: 'infix', q: '族大歌', want: ['ichp-12463'] },
  { group: 'infix', q: '泉青瓷', want: ['ichp-14272'] },
  { group: 'infix', q: '圣发', want: ['ichi-3052'] },
  { group: 'infix', q: '勐嘎', want: ['ichi-3079'] },
  // Traditional characters against simplified records.
  { group: 'traditional', q: '景德鎮手工製瓷技藝', want: ['ichp-14270'] },
  { group: 'traditional', q: '景德鎮傳統瓷窯作坊營造技藝', want: ['ichp-14311'] },
  { group: 'traditional', q: '龍泉青瓷燒製技藝', want: ['ichp-14272'] },
  { group: 'traditional', q: '宜興紫砂陶製作技藝', want: ['ichp-14261'] },
  { group: 'traditional', q: '鈞瓷燒製技藝', want: ['ichp-14449'] },
  { group: 'traditional', q: '媽祖祭典', want: ['ichp-14984'] },
  { group: 'traditional', q: '陳聖發', want: ['ichi-3052'] },
  { group: 'traditional', q: '水碓營造', want: ['ichp-23600'] },
  // Pinyin (Latin queries only).
  { group: 'pinyin', q: 'jingdezhen', want: ['ichp-14270', 'ichp-14311'] },
  { group: 'pinyin', q: 'Jingdezhen shougong zhici', want: ['ichp-14270'] },
  { group: 'pinyin', q: 'longquan qingci', want: ['ichp-14272'] },
  { group: 'pinyin', q: 'yixing zisha', want: ['ichp-14261'] },
  { group: 'pinyin', q: 'Wang Anjiang', want: ['ichi-716'] },
  { group: 'pinyin', q: 'chenshengfa', want: ['ichi-3052'] },
  { group: 'pinyin', q: 'Zhan Hean', want: ['ichi-30650'] },
  { group: 'pinyin', q: 'kunqu', want: ['ichp-13133'] },
  // Category / region facets with a query.
  { group: 'facet', q: '瓷', filters: { province: ['江西省'] }, want: ['ichp-14270', 'ichp-14311'] },
  {
    group: 'facet',
    q: '妈祖',
    filters: { province: ['澳门特别行政区'] },
    want: ['ichp-14990'],
  },
  {
    group: 'facet',
    q: '青瓷',
    filters: { category: ['传统技艺'], kind: ['ich_project'] },
    want: ['ichp-14272', 'ichp-14700'],
  },
  { group: 'facet', q: '瓷窑作坊', filters: { kind: ['inheritor'] }, want: ['ichi-3061', 'ichi-3322'] },
  {
    group: 'facet',
    q: '古歌',
    filters: { category: ['民间文学'], province: ['贵州省'] },
    want: ['ichp-12177'],
  },
  {
    group: 'facet',
    q: '昆曲',
    filters: { province: ['上海市'], kind: ['ich_project'] },
    want: ['ichp-13135'],
  },
  // Mixed Chinese / Latin, codes.
  { group: 'mixed', q: 'VIII-7 景德镇', want: ['ichp-14270'] },
  { group: 'mixed', q: 'Ⅷ-29', want: ['ichp-14311'] },
  { group: 'mixed', q: 'VIII-281', want: ['ichp-23600'] },
  { group: 'mixed', q: '03-1304', want: ['ichi-3052'] },
  { group: 'mixed', q: 'I-1 苗族', want: ['ichp-12177'] },
  { group: 'mixed', q: '景德镇 Ⅷ-7 陈圣发', want: ['ichi-3052'] },
  // Must find nothing.
  { group: 'nothing', q: '量子计算机', nothing: true },
  { group: 'nothing', q: '区块链', nothing: true },
  { group: 'nothing', q: 'xyzzyqwv', nothing: true },
  { group: 'nothing', q: '人工智能芯片', nothing: true },
  { group: 'nothing', q: '景德镇 宇航员', nothing: true },
  { group: 'nothing', q: 'Ⅷ-99999', nothing: true },
];

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Access } from '../../schemas/item.ts';
import type { ItemView } from '../../services/archive/items.ts';
import { projectFile } from '../../services/project-file.ts';

/**
 * The national ICH lists in ../shared/corpus (see its SOURCES.md) as item views: projects → `ich_project`,
 * inheritors → `inheritor`. Used by the search tests and benchmarks, which read the corpus where it lies and
 * never copy it into the project.
 */

export const corpusDir = process.env.CIKU_SHARED_DIR
  ? path.join(process.env.CIKU_SHARED_DIR, 'corpus')
  : path.join(path.dirname(projectFile(import.meta.url, 'package.json')), '..', 'shared', 'corpus');

export function corpusAvailable(): boolean {
  return existsSync(path.join(corpusDir, 'ich_national_projects.csv'));
}

type Row = Record<string, string>;

function readCsv(file: string): Row[] {
  return parse<Row>(readFileSync(path.join(corpusDir, file)), { columns: true, skip_empty_lines: true });
}

const int = (s: string | undefined): number | undefined => (s && /^-?\d+$/.test(s) ? Number(s) : undefined);

function view(
  id: string,
  kind: ItemView['kind'],
  metadata: Record<string, unknown>,
  access: Access,
): ItemView {
  const clean = Object.fromEntries(Object.entries(metadata).filter(([, v]) => v !== undefined && v !== ''));
  return {
    id,
    kind,
    version: 'v1',
    created: '2026-01-01T00:00:00.000Z',
    updated: '2026-01-01T00:00:00.000Z',
    access,
    metadata: clean,
    files: [],
  };
}

export interface CorpusOptions {
  /** Access per item (default: all public). */
  access?: (id: string, index: number) => Access;
}

export function projectItems(options: CorpusOptions = {}): ItemView[] {
  return readCsv('ich_national_projects.csv').map((r, i) => {
    const id = `ichp-${r.ihchina_id}`;
    return view(
      id,
      'ich_project',
      {
        title: r.name,
        name: r.name,
        code: r.code,
        identifier: [r.code_ascii, r.project_num].filter(Boolean),
        category: r.category,
        level: '国家级',
        batch: int(r.batch_no),
        date: r.publish_year,
        region: r.declaring_region_or_unit,
        province: r.province,
        protection_unit: r.protection_unit,
        type: r.entry_type,
        description: r.description,
      },
      options.access?.(id, i) ?? { level: 'public' },
    );
  });
}

export function inheritorItems(options: CorpusOptions = {}): ItemView[] {
  return readCsv('ich_national_inheritors.csv').map((r, i) => {
    const id = `ichi-${r.ihchina_id}`;
    return view(
      id,
      'inheritor',
      {
        title: r.name,
        name: r.name,
        gender: r.gender,
        ethnicity: r.ethnicity,
        birth_year: int(r.birth_year),
        identifier: r.inheritor_num,
        category: r.category,
        ich_projects: r.project_name ? [r.project_name] : undefined,
        project_codes: [r.project_code, r.project_code_ascii].filter(Boolean),
        level: '国家级',
        batch: int(r.batch_no),
        date: r.publish_year,
        region: r.region,
        province: r.province,
        biography: r.bio,
      },
      options.access?.(id, i) ?? { level: 'public' },
    );
  });
}

export function corpusItems(options: CorpusOptions = {}): ItemView[] {
  return [...projectItems(options), ...inheritorItems(options)];
}

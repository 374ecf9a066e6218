import { itemKinds, type ItemKind } from '../../schemas/item.ts';
import { collectionId, manifestId } from './ids.ts';
import type { Json } from './manifest.ts';
import { words, zh, type LanguageMap } from './words.ts';

/**
 * Presentation 3 collections: per kind (`oral_history`, …), per museum (`museum:{name}`) and per ICH project
 * (`ich:{code}`). Presentation 3 has no paging of collections (`first`/`next` belong to annotation collections), so
 * a long one is a chain of collections: each page lists its manifests and, when more follow, ends with a reference
 * to the next page, which names the first as what it is `partOf`. A page carries only what its caller may read:
 * the caller of this builder decides that.
 */
export type CollectionName =
  { by: 'kind'; kind: ItemKind } | { by: 'museum'; museum: string } | { by: 'ich'; code: string };

/** `oral_history`, `museum:景德镇中国陶瓷博物馆`, `ich:Ⅷ-7`; undefined for anything else. */
export function parseCollectionName(name: string): CollectionName | undefined {
  if ((itemKinds as string[]).includes(name)) return { by: 'kind', kind: name as ItemKind };
  const m = /^(museum|ich):(.{1,500})$/su.exec(name);
  if (!m) return undefined;
  const value = m[2]!.trim();
  if (value === '') return undefined;
  return m[1] === 'museum' ? { by: 'museum', museum: value } : { by: 'ich', code: value };
}

export function collectionLabel(name: CollectionName, projectName?: string): LanguageMap {
  switch (name.by) {
    case 'kind':
      return words(`kind.${name.kind}`);
    case 'museum':
      return words('iiif.museumCollection', { name: name.museum });
    case 'ich':
      return words('iiif.ichCollection', { name: projectName ?? name.code });
  }
}

export interface CollectionInput {
  publicUrl: string;
  /** The name as in the URL (`museum:…`). */
  name: string;
  label: LanguageMap;
  /** This page's `?page=` (absent: the first). */
  page?: number | string;
  /** The next page's `?page=`, when more follow. */
  next?: number | string;
  /** The manifests of this page, as the caller may read them. */
  manifests: { id: string; title: string }[];
}

export function buildCollection(input: CollectionInput): Json {
  const { publicUrl, name } = input;
  const first = input.page === undefined || input.page === 1 || input.page === '';
  const top = collectionId(publicUrl, name);
  return {
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: collectionId(publicUrl, name, input.page),
    type: 'Collection',
    label: first ? input.label : words('iiif.collectionMore', { label: input.label }),
    ...(first ? {} : { partOf: [{ id: top, type: 'Collection', label: input.label }] }),
    items: [
      ...input.manifests.map((m) => ({
        id: manifestId(publicUrl, m.id),
        type: 'Manifest',
        label: zh(m.title),
      })),
      ...(input.next === undefined
        ? []
        : [
            {
              id: collectionId(publicUrl, name, input.next),
              type: 'Collection',
              label: words('iiif.nextPage'),
            },
          ]),
    ],
  };
}

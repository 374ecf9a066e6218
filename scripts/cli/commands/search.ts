import { Option, type Command } from 'commander';
import { readScope, type Role } from '../../../services/archive/access.ts';
import { facetFields, sortOrders, type SortOrder } from '../../../schemas/search.ts';
import { facetList, type SearchIndex } from '../../../services/search/search-index.ts';
import { withContext, type CliDeps } from '../context.ts';
import { printJson } from '../output.ts';

const roles = ['admin', 'archivist', 'researcher', 'anonymous'] as const;

interface SearchOptions {
  kind?: string[];
  facets?: string;
  sort: SortOrder;
  limit: number;
  as: Role;
  segments?: boolean;
  json?: boolean;
}

/** What both kinds of search ask: the words, how many hits, and what the role may see. */
interface Ask {
  q: string;
  limit: number;
  scope: ReturnType<typeof readScope>;
}

export function registerSearch(program: Command, deps: CliDeps): void {
  program
    .command('search')
    .description('search the archive from the terminal (the same engine and access rules as GET /v1/search)')
    .argument('<query...>', 'words to search for (Chinese, traditional or simplified, pinyin, codes)')
    .option('--kind <kind...>', 'only these kinds')
    .option('--facets <fields>', `count by these fields (comma-separated: ${facetFields.join(', ')})`)
    .addOption(new Option('--sort <order>', 'order of hits').choices([...sortOrders]).default('relevance'))
    .option('--limit <n>', 'hits to show', (v) => Number.parseInt(v, 10), 10)
    .addOption(
      new Option('--as <role>', 'see what this role sees (the terminal defaults to archivist)')
        .choices([...roles])
        .default('archivist'),
    )
    .option('--segments', 'search transcript segments (moments in interviews) instead of items')
    .option('--json', 'print the answer as JSON')
    .action((words: string[], opts: SearchOptions) =>
      withContext(deps, async (ctx) => {
        const index = await ctx.searchIndex();
        const ask: Ask = {
          q: words.join(' '),
          limit: Math.min(Math.max(1, opts.limit || 10), 100),
          scope: readScope({ role: opts.as }, new Date()),
        };
        if (opts.segments) await searchSegments(index, ask, opts.json === true);
        else await searchItems(index, ask, opts);
      }),
    );
}

async function searchSegments(index: SearchIndex, ask: Ask, json: boolean): Promise<void> {
  const answer = await index.searchSegments({ q: ask.q, page: 1, limit: ask.limit, scope: ask.scope });
  if (json) {
    printJson(answer);
    return;
  }
  for (const item of answer.items) {
    process.stdout.write(`${item.id}  ${item.title}\n`);
    for (const s of item.segments) {
      process.stdout.write(`  ${clock(s.start)}  ${s.speaker ? `${s.speaker}：` : ''}${mark(s.text)}\n`);
    }
  }
  process.stderr.write(`${answer.total} moment(s)\n`);
}

async function searchItems(index: SearchIndex, ask: Ask, opts: SearchOptions): Promise<void> {
  const answer = await index.search({
    q: ask.q,
    filters: opts.kind ? { kind: opts.kind } : {},
    facets: facetList(opts.facets === undefined ? [] : [opts.facets]),
    sort: opts.sort,
    page: 1,
    limit: ask.limit,
    scope: ask.scope,
  });
  if (opts.json) {
    printJson(answer);
    return;
  }
  for (const h of answer.hits) {
    process.stdout.write(`${h.id}  [${h.kind}]  ${mark(h.highlights.title)}\n`);
    if (h.highlights.text) process.stdout.write(`    ${mark(h.highlights.text).replace(/\n/g, ' ')}\n`);
    for (const m of h.moments ?? []) {
      process.stdout.write(`    ▶ ${clock(m.start)}  ${mark(m.text)}\n`);
    }
  }
  for (const [field, counts] of Object.entries(answer.facets).filter(([, c]) => Object.keys(c).length > 0)) {
    const shown = Object.entries(counts)
      .map(([v, n]) => `${v} ${n}`)
      .join(' · ');
    process.stdout.write(`${field}: ${shown}\n`);
  }
  process.stderr.write(`${answer.total} hit(s)\n`);
}

/** A highlight as terminal text: marks in bold yellow on a terminal, in 【】 in a pipe; entities decoded. */
function mark(html: string): string {
  const tty = process.stdout.isTTY;
  return html
    .replace(/<mark>/g, tty ? '\u001b[1;33m' : '【')
    .replace(/<\/mark>/g, tty ? '\u001b[0m' : '】')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Seconds as hh:mm:ss. */
function clock(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(11, 19);
}

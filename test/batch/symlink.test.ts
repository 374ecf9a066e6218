import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parse } from 'csv-parse/sync';
import { batchEnv, writeBag } from '../helpers/batch.ts';
import { tempDir } from '../helpers/env.ts';

const SECRET = 'the key record: ciku_sk_live_0123456789abcdef\n';

/** Every stored file's bytes, to tell whether the secret reached the archive under any name. */
function storedBytes(root: string): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(fs.readFileSync(p, 'latin1'));
    }
  };
  walk(path.join(root, 'ocfl'));
  return out.join('\n');
}

t.test(
  'a planned file swapped for a link before its row runs — the file itself, a folder on its path, a bag payload file — is refused, and nothing of the link target is ingested',
  async (t) => {
    const env = await batchEnv(t, { workers: false });
    const outside = tempDir(t);
    fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET);
    fs.mkdirSync(path.join(outside, 'sub'));
    fs.writeFileSync(path.join(outside, 'sub', 'b.txt'), SECRET);

    const src = tempDir(t);
    fs.writeFileSync(path.join(src, 'a.txt'), '第一件\n');
    fs.mkdirSync(path.join(src, 'sub'));
    fs.writeFileSync(path.join(src, 'sub', 'b.txt'), '第二件\n');
    fs.writeFileSync(path.join(src, 'c.txt'), '第三件\n');
    fs.writeFileSync(
      path.join(src, 'manifest.csv'),
      'id,kind,title,files\nswap-file,archive_document,甲,a.txt\nswap-dir,archive_document,乙,sub/b.txt\nuntouched,archive_document,丙,c.txt\n',
    );
    const bag = writeBag(path.join(tempDir(t), 'bag'), { 'p.txt': '包里的字节\n' }, [
      'External-Identifier: swap-bag',
    ]);

    const manifest = await env.batches.start(src, { by: 'test' });
    const bagged = await env.batches.start(bag, { by: 'test' });
    t.equal(manifest.view.counts.failed, 0, 'every row planned');
    t.equal(bagged.view.status, 'running', 'the bag planned');

    // Between plan and row: the file becomes a link; a folder on another file's path becomes a link; a bag's file.
    fs.rmSync(path.join(src, 'a.txt'));
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(src, 'a.txt'));
    fs.renameSync(path.join(src, 'sub'), path.join(src, 'sub-was'));
    fs.symlinkSync(path.join(outside, 'sub'), path.join(src, 'sub'));
    fs.rmSync(path.join(bag, 'data', 'p.txt'));
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(bag, 'data', 'p.txt'));

    await env.startWorkers();
    await env.finished(manifest.view.id);
    await env.finished(bagged.view.id);
    const rows = [
      ...parse<Record<string, string>>(
        (await env.batches.reportCsv(manifest.view.id)).replace(/^\uFEFF/, ''),
        {
          columns: true,
        },
      ),
      ...parse<Record<string, string>>((await env.batches.reportCsv(bagged.view.id)).replace(/^\uFEFF/, ''), {
        columns: true,
      }),
    ];
    const row = (id: string) => rows.find((r) => r.item === id);
    t.match(row('swap-file'), { status: 'failed', reason: /a\.txt cannot be read: it is a symbolic link/ });
    t.match(row('swap-dir'), {
      status: 'failed',
      reason: /b\.txt cannot be read: it is not inside the source folder/,
    });
    t.match(row('swap-bag'), { status: 'failed', reason: /p\.txt cannot be read: it is a symbolic link/ });
    t.match(row('untouched'), { status: 'ingested' }, 'the other rows proceed');
    for (const id of ['swap-file', 'swap-dir', 'swap-bag'])
      await t.rejects(env.items.get(id), { code: 'CIKU_ERR_ITEM_NOT_FOUND' }, `${id} not created`);
    t.notOk(storedBytes(env.root).includes('ciku_sk_live'), 'the secret is nowhere in the store');
  },
);

t.test(
  "a contributor's row refuses a hard-linked file (another name of a file outside its folder)",
  async (t) => {
    const env = await batchEnv(t);
    const outside = tempDir(t);
    const src = path.join(outside, 'org-folder');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET);
    fs.linkSync(path.join(outside, 'secret.txt'), path.join(src, 'a.txt'));
    fs.writeFileSync(
      path.join(src, 'manifest.csv'),
      'id,kind,title,files\nhard-1,archive_document,甲,a.txt\n',
    );
    const principal = { role: 'contributor' as const, organisation: '甲馆' };
    const { view } = await env.batches.start(src, { by: 'test', principal, within: src });
    const done = await env.finished(view.id);
    t.equal(done.counts.failed, 1);
    t.match(await env.batches.reportCsv(view.id), /a\.txt cannot be read: it is a hard link/);
    await t.rejects(env.items.get('hard-1'), { code: 'CIKU_ERR_ITEM_NOT_FOUND' });
    // Staff arrange their own folders: the same file in an archivist's batch is taken.
    const staff = await env.batches.start(src, { by: 'test', principal: { role: 'archivist' } });
    t.equal((await env.finished(staff.view.id)).counts.ingested, 1);
  },
);

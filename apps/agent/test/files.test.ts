import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { placeFile } from '../src/files/uploads';
import { ZipMember, zipStream } from '../src/files/zip-writer';
import { createInstanceManager } from '../src/drivers/create-instance-manager';
import { AgentError } from '../src/errors/agent-error';
import { createJobHandlers } from '../src/jobs/job-handlers';
import { codeOf, instanceWithFiles, jobCtx, mkfifo, snapshotTree } from './support/file-fixtures';

function setup() {
  const fx = instanceWithFiles();
  const instances = createInstanceManager({ stateDir: fx.stateDir, dockerSocket: '/nonexistent/docker.sock' });
  const handlers = createJobHandlers({
    stateDir: fx.stateDir,
    refreshInventory: () => Promise.reject(new Error('unused')),
    instances,
    files: fx.services,
  });
  return { ...fx, handlers, instances };
}

describe('instance files: listing and describing', () => {
  it('lists directories first, then by name, with type, size, mode and link targets', async () => {
    const { handlers, id, root } = setup();
    mkdirSync(join(root, 'world'));
    mkdirSync(join(root, 'Config'));
    writeFileSync(join(root, 'server.properties'), 'motd=hi\n', { mode: 0o640 });
    writeFileSync(join(root, 'a.txt'), 'a');
    symlinkSync('server.properties', join(root, 'props-link'));
    const { path, entries, truncated } = await handlers['instance.files.list'](
      { instance_id: id, path: '.' },
      jobCtx(),
    );
    assert.equal(path, '.');
    assert.equal(truncated, false);
    assert.deepEqual(
      entries.map((e) => [e.name, e.type]),
      [
        ['Config', 'directory'],
        ['world', 'directory'],
        ['a.txt', 'file'],
        ['props-link', 'symlink'],
        ['server.properties', 'file'],
      ],
    );
    const props = entries.find((e) => e.name === 'server.properties');
    assert.equal(props?.size_bytes, 8);
    assert.equal(props?.mode, '0640');
    assert.equal(entries.find((e) => e.name === 'props-link')?.link_target, 'server.properties');
    const stat = await handlers['instance.files.stat']({ instance_id: id, path: 'world' }, jobCtx());
    assert.equal(stat.type, 'directory');
    assert.equal(stat.path, 'world');
  });

  it('lists a directory reached through a link that stays inside, under its real path', async () => {
    const { handlers, id, root } = setup();
    mkdirSync(join(root, 'real'));
    writeFileSync(join(root, 'real', 'x.txt'), 'x');
    symlinkSync('real', join(root, 'alias'));
    const listed = await handlers['instance.files.list']({ instance_id: id, path: 'alias' }, jobCtx());
    assert.equal(listed.path, 'real');
    assert.deepEqual(
      listed.entries.map((e) => e.path),
      ['real/x.txt'],
    );
  });

  it('caps a listing at 10,000 entries and says it is truncated', async () => {
    const { handlers, id, root } = setup();
    mkdirSync(join(root, 'many'));
    for (let i = 0; i < 10_050; i++) writeFileSync(join(root, 'many', `f${String(i).padStart(5, '0')}`), '');
    const listed = await handlers['instance.files.list']({ instance_id: id, path: 'many' }, jobCtx());
    assert.equal(listed.entries.length, 10_000);
    assert.equal(listed.truncated, true);
    assert.equal(listed.entries[0]?.name, 'f00000');
  });

  it('fails with stable codes: path_not_found, not_a_directory, instance_not_found', async () => {
    const { handlers, id, root } = setup();
    writeFileSync(join(root, 'file.txt'), 'x');
    assert.equal(
      await codeOf(handlers['instance.files.stat']({ instance_id: id, path: 'nope' }, jobCtx())),
      'path_not_found',
    );
    assert.equal(
      await codeOf(handlers['instance.files.list']({ instance_id: id, path: 'file.txt' }, jobCtx())),
      'not_a_directory',
    );
    assert.equal(
      await codeOf(handlers['instance.files.list']({ instance_id: id, path: 'file.txt/below' }, jobCtx())),
      'not_a_directory',
    );
    assert.equal(
      await codeOf(
        handlers['instance.files.list']({ instance_id: '00000000-0000-4000-8000-000000000000', path: '.' }, jobCtx()),
      ),
      'instance_not_found',
    );
    const failure = await handlers['instance.files.stat']({ instance_id: id, path: 'nope' }, jobCtx()).catch(
      (e: unknown) => e,
    );
    assert.ok(
      failure instanceof AgentError && failure.code === 'path_not_found',
      'file errors reach the job service as coded agent errors',
    );
  });
});

describe('instance files: confinement to the instance root', () => {
  it('refuses ../, absolute paths, a link to /etc and a link to a directory outside, touching nothing outside', async () => {
    const { handlers, id, root, outside } = setup();
    symlinkSync('/etc', join(root, 'etc-link'));
    symlinkSync(outside, join(root, 'out-abs'));
    symlinkSync('../../../outside', join(root, 'out-rel'));
    mkdirSync(join(root, 'sub'));
    symlinkSync('../../../../outside/secret.txt', join(root, 'sub', 'secret-link'));
    const before = snapshotTree(outside);
    const ctx = jobCtx();
    for (const path of ['../x', '/etc/passwd', 'sub/../../x', './x', 'a//b']) {
      assert.equal(await codeOf(handlers['instance.files.stat']({ instance_id: id, path }, ctx)), 'invalid_path', path);
    }
    for (const path of ['etc-link/passwd', 'out-abs/secret.txt', 'out-rel/secret.txt', 'sub/secret-link']) {
      assert.equal(
        await codeOf(handlers['instance.files.stat']({ instance_id: id, path }, ctx)),
        path === 'sub/secret-link' ? 'no error' : 'path_outside_root',
        path,
      );
    }
    // Describing the link itself is fine; following it out is not.
    assert.equal(
      (await handlers['instance.files.stat']({ instance_id: id, path: 'sub/secret-link' }, ctx)).type,
      'symlink',
    );
    assert.equal(
      await codeOf(handlers['instance.files.list']({ instance_id: id, path: 'etc-link' }, ctx)),
      'path_outside_root',
    );
    assert.equal(
      await codeOf(handlers['instance.files.list']({ instance_id: id, path: 'out-rel' }, ctx)),
      'path_outside_root',
    );
    assert.equal(
      await codeOf(handlers['instance.files.mkdir']({ instance_id: id, path: 'out-abs/new' }, ctx)),
      'path_outside_root',
    );
    assert.equal(
      await codeOf(handlers['instance.files.mkdir']({ instance_id: id, path: 'out-rel/a/b' }, ctx)),
      'path_outside_root',
    );
    assert.equal(
      await codeOf(
        handlers['instance.files.move'](
          { instance_id: id, moves: [{ from: 'out-rel/secret.txt', to: 'stolen.txt' }], overwrite: false },
          ctx,
        ),
      ),
      'path_outside_root',
    );
    assert.equal(
      await codeOf(
        handlers['instance.files.move'](
          { instance_id: id, moves: [{ from: 'sub', to: 'out-abs/sub' }], overwrite: false },
          ctx,
        ),
      ),
      'path_outside_root',
    );
    assert.equal(
      await codeOf(handlers['instance.files.delete']({ instance_id: id, paths: ['etc-link/hostname'] }, ctx)),
      'path_outside_root',
    );

    // Deleting the links removes the links, never what they point to.
    const deleted = await handlers['instance.files.delete'](
      { instance_id: id, paths: ['etc-link', 'out-abs', 'out-rel', 'sub'] },
      ctx,
    );
    assert.deepEqual(deleted.deleted, ['etc-link', 'out-abs', 'out-rel', 'sub']);
    assert.deepEqual(snapshotTree(outside), before);
    assert.ok(existsSync('/etc/hostname') || existsSync('/etc/passwd'));
  });

  it('refuses an escape through a chain of links that each look harmless', async () => {
    const { handlers, id, root } = setup();
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    symlinkSync('..', join(root, 'a', 'up')); // a/up -> . (the root): inside
    symlinkSync('up/..', join(root, 'a', 'b', 'trick')); // a/b/trick -> a/b/up/.. : a/b/up does not exist
    symlinkSync('../up/..', join(root, 'a', 'b', 'escape')); // -> a/up/.. -> root/.. : outside
    assert.equal((await handlers['instance.files.list']({ instance_id: id, path: 'a/up' }, jobCtx())).path, '.');
    assert.equal(
      await codeOf(handlers['instance.files.list']({ instance_id: id, path: 'a/b/escape' }, jobCtx())),
      'path_outside_root',
    );
    assert.equal(
      await codeOf(handlers['instance.files.list']({ instance_id: id, path: 'a/b/trick' }, jobCtx())),
      'path_not_found',
    );
  });

  it('describes a fifo as other and never deletes through it into the host', async () => {
    const { handlers, id, root } = setup();
    mkfifo(join(root, 'pipe'));
    assert.equal((await handlers['instance.files.stat']({ instance_id: id, path: 'pipe' }, jobCtx())).type, 'other');
    assert.deepEqual(await handlers['instance.files.delete']({ instance_id: id, paths: ['pipe'] }, jobCtx()), {
      deleted: ['pipe'],
      missing: [],
    });
  });
});

describe('instance files: changing them', () => {
  it('creates directories with parents, idempotently, and refuses one where a file is', async () => {
    const { handlers, id, root } = setup();
    const made = await handlers['instance.files.mkdir']({ instance_id: id, path: 'plugins/cfg/deep' }, jobCtx());
    assert.equal(made.type, 'directory');
    assert.equal(made.path, 'plugins/cfg/deep');
    assert.ok(lstatSync(join(root, 'plugins', 'cfg', 'deep')).isDirectory());
    assert.deepEqual(
      (await handlers['instance.files.mkdir']({ instance_id: id, path: 'plugins/cfg/deep' }, jobCtx())).path,
      'plugins/cfg/deep',
    );
    writeFileSync(join(root, 'plugins', 'file'), 'x');
    assert.equal(
      await codeOf(handlers['instance.files.mkdir']({ instance_id: id, path: 'plugins/file' }, jobCtx())),
      'path_exists',
    );
    assert.equal(
      await codeOf(handlers['instance.files.mkdir']({ instance_id: id, path: 'plugins/file/below' }, jobCtx())),
      'not_a_directory',
    );
  });

  it('deletes recursively and reports what was already gone', async () => {
    const { handlers, id, root } = setup();
    mkdirSync(join(root, 'logs', 'old'), { recursive: true });
    writeFileSync(join(root, 'logs', 'old', 'a.log'), 'a');
    const result = await handlers['instance.files.delete'](
      { instance_id: id, paths: ['logs', 'never-was', 'missing-dir/x'] },
      jobCtx(),
    );
    assert.deepEqual(result, { deleted: ['logs'], missing: ['never-was', 'missing-dir/x'] });
    assert.equal(existsSync(join(root, 'logs')), false);
    assert.equal(
      await codeOf(handlers['instance.files.delete']({ instance_id: id, paths: ['.'] }, jobCtx())),
      'invalid_path',
    );
  });

  it('moves and renames, refuses an existing target unless overwrite, and a directory into itself', async () => {
    const { handlers, id, root } = setup();
    mkdirSync(join(root, 'dir', 'inner'), { recursive: true });
    writeFileSync(join(root, 'a.txt'), 'A');
    writeFileSync(join(root, 'b.txt'), 'B');
    symlinkSync('a.txt', join(root, 'link'));
    assert.equal(
      await codeOf(
        handlers['instance.files.move'](
          { instance_id: id, moves: [{ from: 'a.txt', to: 'b.txt' }], overwrite: false },
          jobCtx(),
        ),
      ),
      'path_exists',
    );
    assert.equal(readFileSync(join(root, 'b.txt'), 'utf8'), 'B');
    await handlers['instance.files.move'](
      { instance_id: id, moves: [{ from: 'a.txt', to: 'b.txt' }], overwrite: true },
      jobCtx(),
    );
    assert.equal(readFileSync(join(root, 'b.txt'), 'utf8'), 'A');
    assert.equal(existsSync(join(root, 'a.txt')), false);
    const moved = await handlers['instance.files.move'](
      {
        instance_id: id,
        moves: [
          { from: 'b.txt', to: 'dir/inner/c.txt' },
          { from: 'link', to: 'dir/link' },
        ],
        overwrite: false,
      },
      jobCtx(),
    );
    assert.equal(moved.moved.length, 2);
    assert.equal(readFileSync(join(root, 'dir', 'inner', 'c.txt'), 'utf8'), 'A');
    assert.equal(readlinkSync(join(root, 'dir', 'link')), 'a.txt', 'a link is moved as a link');
    assert.equal(
      await codeOf(
        handlers['instance.files.move'](
          { instance_id: id, moves: [{ from: 'dir', to: 'dir/inner/dir' }], overwrite: false },
          jobCtx(),
        ),
      ),
      'invalid_move',
    );
    assert.equal(
      await codeOf(
        handlers['instance.files.move'](
          { instance_id: id, moves: [{ from: 'nope', to: 'x' }], overwrite: false },
          jobCtx(),
        ),
      ),
      'path_not_found',
    );
    // Re-run after a crash between the rename and the journal: the source is already at its target.
    const again = { instance_id: id, moves: [{ from: 'b.txt', to: 'dir/inner/c.txt' }], overwrite: false };
    assert.equal(await codeOf(handlers['instance.files.move'](again, jobCtx())), 'path_not_found');
    assert.deepEqual(await handlers['instance.files.move'](again, { ...jobCtx(), rerun: true }), {
      moved: again.moves,
    });
    assert.equal(
      await codeOf(
        handlers['instance.files.move'](
          { instance_id: id, moves: [{ from: 'dir', to: 'missing/dir' }], overwrite: false },
          jobCtx(),
        ),
      ),
      'path_not_found',
    );
  });
});

describe('instance files: a directory swapped for a link after it was checked', () => {
  it('refuses to put a file through the swapped-in link, and the outside stays as it was', () => {
    const { services, id, root, outside, stateDir } = setup();
    mkdirSync(join(root, 'plugins'));
    const instanceRoot = services.files.root(id);
    const { parent, name } = instanceRoot.resolveParent('plugins/evil.txt');
    // The workload replaces the directory by a link to the outside between our check and the rename.
    renameSync(join(root, 'plugins'), join(root, 'plugins.real'));
    symlinkSync(outside, join(root, 'plugins'));
    const staged = join(stateDir, 'staged.txt');
    writeFileSync(staged, 'evil');
    const before = snapshotTree(outside);
    assert.throws(
      () => placeFile(staged, instanceRoot, parent.abs, name, lstatSync(root)),
      (err: Error & { code?: string }) => err.code === 'path_outside_root',
    );
    assert.deepEqual(snapshotTree(outside), before);
  });
});

describe('zip writer', () => {
  it('writes ZIP64 end records past 65,535 members, which python3 zipfile reads', async () => {
    async function* members(): AsyncGenerator<ZipMember> {
      for (let i = 0; i < 70_000; i++)
        yield { kind: 'symlink', name: `l/${i}`, mode: 0o777, mtime: new Date(), target: 'x' };
    }
    const chunks: Buffer[] = [];
    for await (const c of zipStream(members())) chunks.push(c);
    const file = join(instanceWithFiles().stateDir, 'many.zip');
    writeFileSync(file, Buffer.concat(chunks));
    const count = execFileSync(
      'python3',
      ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(len(z.infolist()), z.testzip())', file],
      { encoding: 'utf8' },
    ).trim();
    assert.equal(count, '70000 None');
  });
});

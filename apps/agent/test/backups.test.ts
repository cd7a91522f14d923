import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createInstanceManager } from '../src/drivers/create-instance-manager';
import { IgnoreMatcher } from '../src/backups/ignore-patterns';
import { createJobHandlers } from '../src/jobs/job-handlers';
import { AgentProcess, registeredStateDir, startAgent, testAgentToken } from './support/agent-process';
import { jobEnvelope, jobResult } from './support/agent-jobs';
import { codeOf, instanceWithFiles, jobCtx, mkfifo, snapshotTree } from './support/file-fixtures';
import { buildSpec, until } from './support/instance-builders';
import { TestHub, waitFor } from './support/test-hub';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const backupId = () => `bk_${randomBytes(6).toString('hex')}`;

function setup() {
  const fx = instanceWithFiles();
  const instances = createInstanceManager({ stateDir: fx.stateDir, dockerSocket: '/nonexistent/docker.sock' });
  const handlers = createJobHandlers({
    stateDir: fx.stateDir,
    refreshInventory: () => Promise.reject(new Error('unused')),
    instances,
    files: fx.services,
  });
  const archiveOf = (bid: string) => join(fx.stateDir, 'backups', fx.id, `${bid}.tar.gz`);
  return { ...fx, handlers, instances, archiveOf };
}

function tarList(archive: string): string[] {
  return execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

describe('instance backups: create and restore', () => {
  it('archives the root, and a restore after changes brings the contents back', async () => {
    const { handlers, id, root, archiveOf } = setup();
    mkdirSync(join(root, 'world', 'region'), { recursive: true });
    writeFileSync(join(root, 'server.properties'), 'motd=before\n');
    const level = randomBytes(200_000);
    writeFileSync(join(root, 'world', 'region', 'r.0.0.mca'), level);
    symlinkSync('server.properties', join(root, 'props-link'));
    const bid = backupId();
    const progress: number[] = [];
    const info = await handlers['instance.backup.create'](
      { instance_id: id, backup_id: bid, ignore: [] },
      { ...jobCtx(), progress: (p) => progress.push(p) },
    );
    assert.equal(info.file_count, 2);
    assert.equal(info.size_bytes, statSync(archiveOf(bid)).size);
    assert.equal(info.sha256, sha(readFileSync(archiveOf(bid))));
    assert.equal(progress.at(-1), 100);
    assert.deepEqual(tarList(archiveOf(bid)), [
      'props-link',
      'server.properties',
      'world/',
      'world/region/',
      'world/region/r.0.0.mca',
    ]);

    writeFileSync(join(root, 'server.properties'), 'motd=after\n');
    writeFileSync(join(root, 'new-file.txt'), 'created after the backup');
    writeFileSync(join(root, 'world', 'region', 'r.0.0.mca'), 'corrupted');
    const restored = await handlers['instance.backup.restore'](
      { instance_id: id, backup_id: bid, sha256: info.sha256, truncate: true },
      jobCtx(),
    );
    assert.deepEqual(restored, { instance_id: id, backup_id: bid, file_count: 2 });
    assert.equal(readFileSync(join(root, 'server.properties'), 'utf8'), 'motd=before\n');
    assert.deepEqual(readFileSync(join(root, 'world', 'region', 'r.0.0.mca')), level);
    assert.equal(existsSync(join(root, 'new-file.txt')), false, 'truncate: files made after the backup are gone');
    assert.equal(readFileSync(join(root, 'props-link'), 'utf8'), 'motd=before\n');
    assert.deepEqual(
      readdirSync(join(root, '..')).sort(),
      ['data', 'logs', 'spec.json', 'state.json'].filter((n) => existsSync(join(root, '..', n))).sort(),
      'no restore or old tree is left beside the root',
    );
  });

  it('overlays without truncate: archived files come back, newer ones stay', async () => {
    const { handlers, id, root } = setup();
    writeFileSync(join(root, 'a.txt'), 'A1');
    const bid = backupId();
    await handlers['instance.backup.create']({ instance_id: id, backup_id: bid, ignore: [] }, jobCtx());
    writeFileSync(join(root, 'a.txt'), 'A2');
    writeFileSync(join(root, 'b.txt'), 'B');
    await handlers['instance.backup.restore']({ instance_id: id, backup_id: bid, truncate: false }, jobCtx());
    assert.equal(readFileSync(join(root, 'a.txt'), 'utf8'), 'A1');
    assert.equal(readFileSync(join(root, 'b.txt'), 'utf8'), 'B');
  });

  it('honours .gitignore-style ignore patterns and leaves out fifos and links out of the root', async () => {
    const { handlers, id, root, archiveOf, outside } = setup();
    mkdirSync(join(root, 'cache', 'deep'), { recursive: true });
    mkdirSync(join(root, 'logs'));
    mkdirSync(join(root, 'plugins', 'x', 'tmp'), { recursive: true });
    for (const f of [
      'cache/deep/c.bin',
      'logs/latest.log',
      'logs/keep.log',
      'debug.log',
      'plugins/x/tmp/t',
      'plugins/x/conf.yml',
      'world.dat',
    ])
      writeFileSync(join(root, f), f);
    mkfifo(join(root, 'console.pipe'));
    symlinkSync(outside, join(root, 'outside-link'));
    symlinkSync('/etc/passwd', join(root, 'passwd-link'));
    const bid = backupId();
    const info = await handlers['instance.backup.create'](
      { instance_id: id, backup_id: bid, ignore: ['# comment', 'cache/', '*.log', '!keep.log', '**/tmp'] },
      jobCtx(),
    );
    assert.deepEqual(tarList(archiveOf(bid)), [
      'logs/',
      'logs/keep.log',
      'plugins/',
      'plugins/x/',
      'plugins/x/conf.yml',
      'world.dat',
    ]);
    assert.equal(info.file_count, 3);
  });

  it('matches a pathological pattern (a long run of **/ segments) against a deep path in milliseconds', () => {
    const pattern = `${'**/'.repeat(40)}never-there`;
    const deep = `${Array.from({ length: 60 }, (_, i) => `d${i}`).join('/')}/file.txt`;
    const t0 = process.hrtime.bigint();
    const matcher = new IgnoreMatcher([pattern, '*.log']);
    assert.equal(matcher.ignores(deep, false), false);
    assert.equal(matcher.ignores(`${deep.slice(0, -4)}.log`, false), true);
    assert.equal(matcher.ignores('a/b/never-there', true), true);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    // The hand-written matcher took seconds (exponential backtracking) from about ten `**/` segments on.
    assert.ok(ms < 200, `matching took ${ms.toFixed(1)} ms`);
  });

  it('answers a re-delivered create with the same archive, even after the files changed', async () => {
    const { handlers, id, root, archiveOf } = setup();
    writeFileSync(join(root, 'a.txt'), 'first');
    const bid = backupId();
    const first = await handlers['instance.backup.create']({ instance_id: id, backup_id: bid, ignore: [] }, jobCtx());
    const mtime = statSync(archiveOf(bid)).mtimeMs;
    writeFileSync(join(root, 'a.txt'), 'second, much longer than the first');
    const second = await handlers['instance.backup.create']({ instance_id: id, backup_id: bid, ignore: [] }, jobCtx());
    assert.deepEqual(second, first);
    assert.equal(statSync(archiveOf(bid)).mtimeMs, mtime);
  });

  it('stops when cancelled and leaves no temp file or archive', async () => {
    const { handlers, id, root, stateDir, archiveOf } = setup();
    for (let i = 0; i < 40; i++) writeFileSync(join(root, `chunk-${i}.bin`), randomBytes(1024 * 1024));
    const controller = new AbortController();
    const bid = backupId();
    const run = handlers['instance.backup.create'](
      { instance_id: id, backup_id: bid, ignore: [] },
      { ...jobCtx(controller.signal), progress: (p) => p > 1 && controller.abort() },
    );
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(run, (err: Error) => err.name === 'AbortError');
    assert.equal(existsSync(archiveOf(bid)), false);
    assert.deepEqual(readdirSync(join(stateDir, 'backups', id)), []);
  });

  it('refuses a restore while the instance runs, and one whose checksum does not match', async () => {
    const fx = setup();
    const { handlers, instances } = fx;
    const spec = buildSpec('process', { startup: 'echo READY; sleep 30' });
    await handlers['instance.create']({ spec }, jobCtx());
    const paths = instances.store.paths(spec.instance_id);
    writeFileSync(join(paths.data, 'state.txt'), 'backed up');
    const bid = backupId();
    const info = await handlers['instance.backup.create'](
      { instance_id: spec.instance_id, backup_id: bid, ignore: [] },
      jobCtx(),
    );
    writeFileSync(join(paths.data, 'state.txt'), 'live');
    await handlers['instance.start']({ instance_id: spec.instance_id }, jobCtx());
    try {
      assert.equal(
        await codeOf(
          handlers['instance.backup.restore'](
            { instance_id: spec.instance_id, backup_id: bid, truncate: true },
            jobCtx(),
          ),
        ),
        'instance_running',
      );
      assert.equal(readFileSync(join(paths.data, 'state.txt'), 'utf8'), 'live');
    } finally {
      await handlers['instance.stop']({ instance_id: spec.instance_id, grace_seconds: 1 }, jobCtx());
    }
    assert.equal(
      await codeOf(
        handlers['instance.backup.restore'](
          { instance_id: spec.instance_id, backup_id: bid, sha256: '0'.repeat(64), truncate: true },
          jobCtx(),
        ),
      ),
      'checksum_mismatch',
    );
    assert.equal(readFileSync(join(paths.data, 'state.txt'), 'utf8'), 'live');
    assert.equal(
      await codeOf(
        handlers['instance.backup.restore'](
          { instance_id: spec.instance_id, backup_id: 'no_such_backup', truncate: true },
          jobCtx(),
        ),
      ),
      'backup_not_found',
    );
    await handlers['instance.backup.restore'](
      { instance_id: spec.instance_id, backup_id: bid, sha256: info.sha256, truncate: true },
      jobCtx(),
    );
    assert.equal(readFileSync(join(paths.data, 'state.txt'), 'utf8'), 'backed up');
    await instances.close();
  });

  it('leaves the old data in place when the archive is damaged', async () => {
    const { handlers, id, root, archiveOf } = setup();
    writeFileSync(join(root, 'big.bin'), randomBytes(500_000));
    const bid = backupId();
    await handlers['instance.backup.create']({ instance_id: id, backup_id: bid, ignore: [] }, jobCtx());
    truncateSync(archiveOf(bid), Math.floor(statSync(archiveOf(bid)).size / 2));
    writeFileSync(join(root, 'current.txt'), 'still here');
    const before = snapshotTree(root);
    assert.equal(
      await codeOf(handlers['instance.backup.restore']({ instance_id: id, backup_id: bid, truncate: true }, jobCtx())),
      'io_error',
    );
    assert.deepEqual(snapshotTree(root), before);
    assert.deepEqual(
      readdirSync(join(root, '..')).filter((n) => n.startsWith('data.')),
      [],
    );
  });
});

describe('instance backups: hostile archives and clean-up', () => {
  it('extracts nothing outside the root from a crafted tar: ../evil, absolute paths, escaping links, devices', async () => {
    const { handlers, id, root, stateDir, outside } = setup();
    const instanceDir = join(root, '..');
    const beforeOutside = snapshotTree(outside);
    const beforeInstanceDir = readdirSync(instanceDir).sort();
    const crafted = join(stateDir, 'crafted.tar.gz');
    const absName = `/tmp/hostplane-abs-evil-${randomBytes(4).toString('hex')}`;
    const script = `
import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w:gz')
def add(name, kind=tarfile.REGTYPE, data=b'', link=''):
    i = tarfile.TarInfo(name); i.type = kind; i.size = len(data) if kind == tarfile.REGTYPE else 0; i.linkname = link; i.mode = 0o644
    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
add('ok.txt', data=b'fine')
add('../evil', data=b'evil')
add(sys.argv[2], data=b'evil')
add('esc', tarfile.SYMTYPE, link='../../../outside')
add('esc/planted.txt', data=b'through the link')
add('abs-link', tarfile.SYMTYPE, link='/etc')
add('abs-link/evil.conf', data=b'evil')
add('deep', tarfile.DIRTYPE); add('deep/x', tarfile.DIRTYPE)
add('deep/x/p', tarfile.SYMTYPE, link='../..')
add('deep/x/e', tarfile.SYMTYPE, link='p/../../..')
add('hard', tarfile.LNKTYPE, link='../../../outside/secret.txt')
add('dev-null', tarfile.CHRTYPE)
add('a-fifo', tarfile.FIFOTYPE)
add('inside-link', tarfile.SYMTYPE, link='ok.txt')
t.close()
`;
    execFileSync('python3', ['-c', script, crafted, absName]);
    const bid = backupId();
    mkdirSync(join(stateDir, 'backups', id), { recursive: true });
    writeFileSync(join(stateDir, 'backups', id, `${bid}.tar.gz`), readFileSync(crafted));

    const result = await handlers['instance.backup.restore'](
      { instance_id: id, backup_id: bid, truncate: true },
      jobCtx(),
    );
    assert.equal(result.file_count, 1);
    assert.deepEqual(snapshotTree(outside), beforeOutside, 'nothing outside changed');
    assert.deepEqual(readdirSync(instanceDir).sort(), beforeInstanceDir, 'no ../evil beside the root');
    assert.equal(existsSync(absName), false, 'no absolute path written');
    assert.equal(existsSync('/etc/evil.conf'), false);
    assert.deepEqual(snapshotTree(root), {
      deep: 'dir',
      'deep/x': 'dir',
      'deep/x/p': 'link:../..',
      'inside-link': 'link:ok.txt',
      'ok.txt': 'fine',
    });
  });

  it('deletes a backup, and deleting the instance removes its backups and staged uploads', async () => {
    const { handlers, id, root, stateDir, archiveOf } = setup();
    writeFileSync(join(root, 'a.txt'), 'a');
    const [b1, b2] = [backupId(), backupId()];
    await handlers['instance.backup.create']({ instance_id: id, backup_id: b1, ignore: [] }, jobCtx());
    await handlers['instance.backup.create']({ instance_id: id, backup_id: b2, ignore: [] }, jobCtx());
    assert.deepEqual(await handlers['instance.backup.delete']({ instance_id: id, backup_id: b1 }, jobCtx()), {
      backup_id: b1,
      deleted: true,
    });
    assert.deepEqual(await handlers['instance.backup.delete']({ instance_id: id, backup_id: b1 }, jobCtx()), {
      backup_id: b1,
      deleted: false,
    });
    assert.equal(existsSync(archiveOf(b1)), false);
    mkdirSync(join(stateDir, 'uploads', id), { recursive: true });
    writeFileSync(join(stateDir, 'uploads', id, 'up_12345678'), 'partial');
    await handlers['instance.delete']({ instance_id: id }, jobCtx());
    assert.equal(existsSync(join(stateDir, 'backups', id)), false);
    assert.equal(existsSync(join(stateDir, 'uploads', id)), false);
  });
});

describe('instance backups: a docker instance', () => {
  it('sees the restored files in its container at the next start (the bind mount follows the swapped root)', async () => {
    const stateDir = instanceWithFiles().stateDir;
    const instances = createInstanceManager({
      stateDir,
      dockerSocket: process.env.HOSTPLANE_TEST_DOCKER_SOCKET ?? '/var/run/docker.sock',
    });
    const handlers = createJobHandlers({
      stateDir,
      refreshInventory: () => Promise.reject(new Error('unused')),
      instances,
    });
    const spec = buildSpec('docker', {
      startup: 'echo "state: $(cat state.txt)"; trap "exit 0" TERM; while true; do sleep 1; done',
    });
    const id = spec.instance_id;
    try {
      await handlers['instance.create']({ spec }, jobCtx());
      const data = instances.store.paths(id).data;
      writeFileSync(join(data, 'state.txt'), 'from the backup');
      const bid = backupId();
      await handlers['instance.backup.create']({ instance_id: id, backup_id: bid, ignore: [] }, jobCtx());
      writeFileSync(join(data, 'state.txt'), 'changed later');
      await handlers['instance.backup.restore']({ instance_id: id, backup_id: bid, truncate: true }, jobCtx());
      await handlers['instance.start']({ instance_id: id }, jobCtx());
      const lines = await until('the container output', async () => {
        const { lines: out } = await handlers['instance.logs'](
          { instance_id: id, lines: 5, source: 'output' },
          jobCtx(),
        );
        return out.some((l) => l.startsWith('state:')) ? out : null;
      });
      assert.ok(lines.includes('state: from the backup'), JSON.stringify(lines));
    } finally {
      await handlers['instance.delete']({ instance_id: id }, jobCtx());
      await instances.close();
    }
  });
});

describe('instance backups: file operations during a restore', () => {
  it('refuses other file operations with restore_in_progress while the root is swapped, and allows them after', async () => {
    const { handlers, id, root } = setup();
    for (let i = 0; i < 20; i++) writeFileSync(join(root, `part-${i}.bin`), randomBytes(1024 * 1024));
    const bid = backupId();
    await handlers['instance.backup.create']({ instance_id: id, backup_id: bid, ignore: [] }, jobCtx());
    let finished = false;
    const restore = handlers['instance.backup.restore'](
      { instance_id: id, backup_id: bid, truncate: true },
      jobCtx(),
    ).finally(() => (finished = true));
    const seen = new Set<string>();
    while (!finished) {
      seen.add(await codeOf(handlers['instance.files.list']({ instance_id: id, path: '.' }, jobCtx())));
      await new Promise((r) => setImmediate(r));
    }
    await restore;
    assert.ok(seen.has('restore_in_progress'), `codes seen during the restore: ${[...seen].join(', ')}`);
    assert.equal((await handlers['instance.files.list']({ instance_id: id, path: '.' }, jobCtx())).entries.length, 20);
  });
});

describe('instance backups through a real agent process', () => {
  const token = testAgentToken();
  let hub: TestHub;
  let agent: AgentProcess;
  let stateDir: string;
  const spec = buildSpec('process');

  before(async () => {
    hub = await TestHub.start({ token });
    stateDir = registeredStateDir(hub.url, token, hub.nodeId);
    agent = startAgent(stateDir);
    await waitFor('welcome', () => hub.inventories.length > 0, 15_000);
    await jobResult(hub, 'instance.create', { spec });
  });

  after(async () => {
    await agent?.stop();
    await hub?.stop();
  });

  it('reports progress of a create, and a cancel ends it cancelled without a temp file', async () => {
    const root = join(stateDir, 'instances', spec.instance_id, 'data');
    // Written without blocking: a busy test process would miss the test hub's 1 s pings and drop the tunnel.
    for (let i = 0; i < 30; i++) await writeFile(join(root, `chunk-${i}.bin`), randomBytes(1024 * 1024));
    const job = jobEnvelope('instance.backup.create', { instance_id: spec.instance_id, backup_id: backupId() });
    assert.deepEqual(await hub.sendJob(job), { status: 'accepted' });
    await waitFor('progress', () => hub.progress.find((p) => p.job_id === job.job_id), 15_000);
    hub.emit('job:cancel', { job_id: job.job_id });
    const outcome = await waitFor('outcome', () => hub.results.find((r) => r.job_id === job.job_id), 30_000);
    assert.equal(outcome.status, 'cancelled');
    assert.deepEqual(readdirSync(join(stateDir, 'backups', spec.instance_id)), []);

    const done = await jobResult<{ file_count: number; sha256: string }>(hub, 'instance.backup.create', {
      instance_id: spec.instance_id,
      backup_id: backupId(),
      ignore: ['chunk-1*'],
    });
    assert.equal(done.file_count, 19, 'chunk-1 and chunk-10..19 are ignored');
    assert.deepEqual(hub.violations, []);
  });
});

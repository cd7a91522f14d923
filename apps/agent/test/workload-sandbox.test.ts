import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { InstanceSpecInput } from '@hostplane/protocol';
import { ProcessDriver } from '../src/drivers/process/process-driver';
import { InstanceStore } from '../src/instances/instance-store';
import { ProcessSandbox } from '../src/sandbox/process-sandbox';
import { tempDir } from './support/agent-process';
import { buildSpec, until } from './support/instance-builders';

const ctx = () => ({ progress: () => undefined, signal: new AbortController().signal });
const UID_BASE = 1_500_000;
const MiB = 1024 * 1024;

/**
 * Tenant workloads on the process driver, confined (bwrap namespaces, own uid, cgroup limits): what a hostile tenant
 * tries.
 */
describe('workload sandbox: process driver', () => {
  const stateDir = tempDir();
  const store = new InstanceStore(stateDir);
  const driver = new ProcessDriver(store, { identity: { uidBase: UID_BASE, uidCount: 1000 }, diskCheckMs: 200 });
  const created: string[] = [];
  after(async () => {
    for (const id of created) await driver.remove(id).catch(() => undefined);
    await driver.close();
  });

  async function run(overrides: Partial<InstanceSpecInput>) {
    const spec = buildSpec('process', { ready_pattern: '^READY', ...overrides });
    created.push(spec.instance_id);
    await driver.create(spec, ctx());
    return spec;
  }
  const output = (id: string) => readFileSync(store.paths(id).output, 'utf8');

  it('this machine can confine workloads (bwrap, setpriv, cgroups, root)', () => {
    assert.equal(driver.sandboxProblem(), null);
  });

  it('runs as its own non-root uid, owns its root, cannot read /etc/shadow, the agent state dir or see other processes', async () => {
    const probe = [
      'echo "uid=$(id -u) gid=$(id -g)"',
      'cat /etc/shadow >/dev/null 2>&1 && echo shadow=readable || echo shadow=denied',
      `ls ${stateDir}/instances >/dev/null 2>&1 && echo state=visible || echo state=hidden`,
      `cat ${store.base}/*/spec.json >/dev/null 2>&1 && echo spec=readable || echo spec=denied`,
      `[ -e /proc/${process.pid} ] && echo agent=visible || echo agent=hidden`,
      'echo "procs=$(ls /proc | grep -c "^[0-9]")"',
      'echo "pid1=$(cat /proc/1/comm)"',
      'echo "caps=$(grep CapEff /proc/self/status | cut -f2)"',
      'echo "nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)"',
      'echo mine > /home/container/mine.txt && echo write=ok',
      'touch /usr/evil 2>/dev/null && echo usr=writable || echo usr=readonly',
      'echo READY; sleep 30',
    ].join('; ');
    const spec = await run({ startup: probe });
    const status = await driver.start(spec.instance_id);
    assert.equal(status.state, 'running');
    const text = output(spec.instance_id);
    const uid = Number(/uid=(\d+)/.exec(text)?.[1]);
    assert.ok(uid >= UID_BASE && uid < UID_BASE + 1000, `a uid of the sandbox range, not root: ${text}`);
    assert.match(text, new RegExp(`gid=${uid}\\b`));
    assert.match(text, /shadow=denied/);
    assert.match(text, /state=hidden/);
    assert.match(text, /spec=denied/);
    assert.match(text, /agent=hidden/, 'the agent (this test process) is invisible: own pid namespace');
    assert.ok(Number(/procs=(\d+)/.exec(text)?.[1]) <= 6, `only its own few processes are visible: ${text}`);
    assert.match(text, /pid1=bwrap/);
    assert.match(text, /caps=0000000000000000/, 'no capabilities at all');
    assert.match(text, /nnp=1/, 'no_new_privs: setuid binaries cannot raise it');
    assert.match(text, /write=ok/);
    assert.match(text, /usr=readonly/);
    const file = statSync(join(store.paths(spec.instance_id).data, 'mine.txt'));
    assert.equal(file.uid, uid, 'what it writes in its root is owned by its uid on the host');
    assert.equal(statSync(store.paths(spec.instance_id).data).uid, uid, 'its root is owned by it');
    await driver.stop(spec.instance_id, 1);
  });

  it('two instances get different uids', async () => {
    const a = await run({ startup: 'echo "uid=$(id -u)"; echo READY; sleep 30' });
    const b = await run({ startup: 'echo "uid=$(id -u)"; echo READY; sleep 30' });
    await driver.start(a.instance_id);
    await driver.start(b.instance_id);
    const uidA = /uid=(\d+)/.exec(output(a.instance_id))?.[1];
    const uidB = /uid=(\d+)/.exec(output(b.instance_id))?.[1];
    assert.ok(uidA && uidB && uidA !== uidB, `${uidA} vs ${uidB}`);
    await driver.stop(a.instance_id, 1);
    await driver.stop(b.instance_id, 1);
  });

  it('an install script writing /mnt/server/INSTALLED writes into the instance root, as its user, not the host /mnt/server', async () => {
    const hostFileBefore = existsSync('/mnt/server/INSTALLED');
    const spec = await run({
      install: {
        script: 'echo installed > /mnt/server/INSTALLED; echo "install-uid=$(id -u) cwd=$(pwd)"',
        entrypoint: 'sh',
      },
      startup: 'cat INSTALLED; echo READY; sleep 30',
    });
    const data = store.paths(spec.instance_id).data;
    assert.equal(readFileSync(join(data, 'INSTALLED'), 'utf8'), 'installed\n');
    assert.equal(existsSync('/mnt/server/INSTALLED'), hostFileBefore, "the host's /mnt/server is untouched");
    const log = (await driver.logs(spec.instance_id, 10, 'install')).join('\n');
    assert.match(log, /install-uid=(\d+) cwd=\/mnt\/server/);
    assert.notEqual(/install-uid=(\d+)/.exec(log)?.[1], '0');
    await driver.start(spec.instance_id);
    await until('the workload reads what the install wrote', () => output(spec.instance_id).includes('installed'));
    await driver.stop(spec.instance_id, 1);
  });

  it('a fork bomb is stopped by the pids limit: forks fail at the limit and the workload dies', async () => {
    const spec = await run({
      startup: 'echo READY; i=0; while [ $i -lt 200 ]; do sleep 60 & i=$((i+1)); done; echo spawned-all',
      resources: { pids_limit: 20 },
      ready_pattern: undefined,
    });
    await driver.start(spec.instance_id);
    const final = await until('the workload dies of its pids limit', async () => {
      const s = await driver.inspect(spec.instance_id);
      return s.state === 'crashed' || s.state === 'stopped' ? s : null;
    });
    assert.equal(final.state, 'crashed');
    assert.doesNotMatch(output(spec.instance_id), /spawned-all/);
    assert.match(output(spec.instance_id), /fork/i, 'the shell reports the refused fork');
    const pidsDir = new ProcessSandbox(stateDir).cgroup(spec.instance_id).dirs[1] ?? '';
    assert.match(pidsDir, new RegExp(`^/sys/fs/cgroup/pids/hostplane/${spec.instance_id}\\.[0-9a-f]{8}$`));
    const pidsEvents = readFileSync(join(pidsDir, 'pids.events'), 'utf8');
    assert.ok(Number(/max (\d+)/.exec(pidsEvents)?.[1]) > 0, 'the kernel refused forks at pids.max');
    const procs = join(pidsDir, 'cgroup.procs');
    await until('nothing it forked outlives it', () => readFileSync(procs, 'utf8').trim() === '');
  });

  it('is killed by the kernel at its memory limit, and the reason says so', async () => {
    // `tail` on an endless line buffers it all: memory grows until the limit.
    const spec = await run({
      startup: 'echo READY; tail /dev/zero',
      resources: { memory_bytes: 32 * MiB },
      ready_pattern: undefined,
    });
    await driver.start(spec.instance_id);
    const final = await until(
      'the OOM kill',
      async () => {
        const s = await driver.inspect(spec.instance_id);
        return s.state === 'crashed' ? s : null;
      },
      30_000,
    );
    assert.match(final.reason ?? '', /out of memory/);
    assert.equal(final.exit_code, 137);
  });

  it('a workload that grows past its disk limit is stopped, and cannot start again while over it', async () => {
    const spec = await run({
      startup: 'echo READY; head -c 3000000 /dev/zero > big.bin; sleep 60',
      resources: { disk_bytes: 1_000_000 },
    });
    await driver.start(spec.instance_id);
    const final = await until('the disk-limit stop', async () => {
      const s = await driver.inspect(spec.instance_id);
      return s.state === 'stopped' ? s : null;
    });
    assert.match(final.reason ?? '', /over its disk limit of 1000000 bytes/);
    await assert.rejects(
      driver.start(spec.instance_id),
      (err: Error & { code?: string }) => err.code === 'start_failed' && /disk limit/.test(err.message),
    );
  });

  it('the workload variables reach the workload only, never a root process, and stop signals reach the workload', async () => {
    const spec = await run({
      env: { GREETING: 'it\'s a "test" $HOME' },
      startup: `trap 'echo got-term; exit 0' TERM; echo "greeting=$GREETING"; echo READY; while true; do sleep 1; done`,
    });
    const started = await driver.start(spec.instance_id);
    assert.match(output(spec.instance_id), /greeting=it's a "test" \$HOME/);
    const cmdline = readFileSync(`/proc/${started.pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes('a "test"'), 'variable values are not on the sandbox command line');
    assert.doesNotMatch(
      readFileSync(`/proc/${started.pid}/environ`, 'utf8'),
      /GREETING/,
      'nor in the environment of the root-side bwrap',
    );
    const stopped = await driver.stop(spec.instance_id, 5);
    assert.equal(stopped.exit_code, 0);
    assert.match(output(spec.instance_id), /got-term/);
  });
});

describe('workload sandbox: a node that cannot confine workloads', () => {
  const store = new InstanceStore(tempDir());
  // An empty cgroup root: no controllers, so no sandbox.
  const driver = new ProcessDriver(store, { cgroupRoot: tempDir() });
  const created: string[] = [];
  after(async () => {
    for (const id of created) await driver.remove(id).catch(() => undefined);
    await driver.close();
  });

  it('refuses a tenant process workload with a clear error, and runs a platform admin one unsandboxed', async () => {
    assert.match(driver.sandboxProblem() ?? '', /cgroup/);
    const tenant = buildSpec('process');
    await assert.rejects(driver.create(tenant, ctx()), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'driver_unavailable');
      assert.match(err.message, /cannot sandbox process workloads .*only a platform admin/);
      return true;
    });
    const admin = buildSpec('process', {
      startup: 'echo "uid=$(id -u)"; echo READY; sleep 30',
      ready_pattern: '^READY',
      sandbox: { allow_unsandboxed: true },
    });
    created.push(admin.instance_id);
    await driver.create(admin, ctx());
    await driver.start(admin.instance_id);
    assert.match(readFileSync(store.paths(admin.instance_id).output, 'utf8'), /uid=0/);
    await driver.stop(admin.instance_id, 1);
  });
});

describe('workload sandbox: start cost', () => {
  const sandboxed = new ProcessDriver(new InstanceStore(tempDir()), {
    identity: { uidBase: UID_BASE + 2000, uidCount: 1000 },
  });
  const plain = new ProcessDriver(new InstanceStore(tempDir()), { cgroupRoot: tempDir() });
  after(async () => {
    await sandboxed.close();
    await plain.close();
  });

  it('measures the start of a sandboxed and an unsandboxed workload (start until its ready line), in one run', async (t) => {
    const rounds = 10;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const measure = async (driver: ProcessDriver) => {
      const times: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const spec = buildSpec('process', {
          startup: 'echo READY; sleep 30',
          ready_pattern: '^READY',
          sandbox: { allow_unsandboxed: true },
        });
        await driver.create(spec, ctx());
        const t0 = process.hrtime.bigint();
        await driver.start(spec.instance_id);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await driver.remove(spec.instance_id);
      }
      return times;
    };
    const a = await measure(plain);
    const b = await measure(sandboxed);
    t.diagnostic(
      `start until ready, median of ${rounds}: unsandboxed ${median(a).toFixed(1)} ms, sandboxed ${median(b).toFixed(1)} ms (+${(median(b) - median(a)).toFixed(1)} ms)`,
    );
    assert.ok(median(b) < 2000, `a sandboxed start stays well under 2 s (got ${median(b)} ms)`);
  });
});

import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DockerDriver } from '../src/drivers/docker/docker-driver';
import { dockerEngineGet } from '../src/drivers/docker-engine';
import { InstanceStore } from '../src/instances/instance-store';
import { tempDir } from './support/agent-process';
import { buildSpec, until } from './support/instance-builders';

const DOCKER_SOCKET = process.env.HOSTPLANE_TEST_DOCKER_SOCKET ?? '/var/run/docker.sock';
const ctx = () => ({ progress: () => undefined, signal: new AbortController().signal });
const UID_BASE = 1_600_000;
/** Bit 10 of the capability sets: CAP_NET_BIND_SERVICE. */
const NET_BIND_SERVICE = 1n << 10n;

interface HostConfigSeen {
  HostConfig: {
    CapDrop: string[] | null;
    CapAdd: string[] | null;
    SecurityOpt: string[] | null;
    PidsLimit: number | null;
    LogConfig: { Type: string; Config: Record<string, string> };
    ReadonlyRootfs: boolean;
    MemorySwap: number;
  };
  Config: { User: string };
}

/** What a tenant's container may do: the confinement every docker instance gets. */
describe('workload sandbox: docker driver', () => {
  const store = new InstanceStore(tempDir());
  const driver = new DockerDriver(store, DOCKER_SOCKET, {
    bindAddress: '127.0.0.1',
    identity: { uidBase: UID_BASE, uidCount: 1000 },
    pidsLimit: 64,
  });
  const created: string[] = [];
  after(async () => {
    for (const id of created) await driver.remove(id).catch(() => undefined);
    await driver.close();
  });

  const logs = async (id: string) => (await driver.logs(id, 100, 'output')).join('\n');

  it('runs as the instance uid with only the declared capabilities, no-new-privileges, default seccomp, a pids limit and bounded logs', async () => {
    const probe = [
      'grep -E "^(CapEff|CapBnd|CapPrm|NoNewPrivs|Seccomp):" /proc/1/status',
      'echo "uid=$(id -u)"',
      'cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null | head -n 1 | sed "s/^/pids.max=/"',
      'echo mine > /home/container/mine.txt && echo write=ok',
      'echo READY; sleep 60',
    ].join('; ');
    const spec = buildSpec('docker', {
      startup: probe,
      ready_pattern: '^READY',
      sandbox: { capabilities: ['NET_BIND_SERVICE'] },
      resources: { memory_bytes: 64 * 1024 * 1024 },
    });
    created.push(spec.instance_id);
    await driver.create(spec, ctx());
    await driver.start(spec.instance_id);
    const text = await until('the probe output', async () => {
      const t = await logs(spec.instance_id);
      return t.includes('write=') ? t : null;
    });
    const field = (name: string) => BigInt(`0x${new RegExp(`${name}:\\s*([0-9a-f]+)`).exec(text)?.[1] ?? 'ffff'}`);
    assert.equal(field('CapBnd'), NET_BIND_SERVICE, `the bounding set holds only the declared capability: ${text}`);
    assert.equal(field('CapEff') & ~NET_BIND_SERVICE, 0n, 'no effective capability beyond the declared one');
    assert.match(text, /NoNewPrivs:\s*1/);
    assert.match(text, /Seccomp:\s*2/, "Docker's default seccomp filter is on");
    const uid = Number(/uid=(\d+)/.exec(text)?.[1]);
    assert.ok(uid >= UID_BASE && uid < UID_BASE + 1000, `not root: ${text}`);
    assert.match(text, /pids\.max=64/);
    assert.match(text, /write=ok/, 'its root (owned by its uid) is writable');
    assert.equal(statSync(join(store.paths(spec.instance_id).data, 'mine.txt')).uid, uid);

    const seen = (await dockerEngineGet(
      DOCKER_SOCKET,
      `/containers/hostplane-${spec.instance_id}/json`,
    )) as HostConfigSeen;
    assert.deepEqual(seen.HostConfig.CapDrop, ['ALL']);
    assert.deepEqual(seen.HostConfig.CapAdd, ['CAP_NET_BIND_SERVICE']);
    assert.ok(seen.HostConfig.SecurityOpt?.includes('no-new-privileges:true'));
    assert.ok(!seen.HostConfig.SecurityOpt?.some((o) => o.includes('unconfined')));
    assert.equal(seen.HostConfig.PidsLimit, 64);
    // Bounded by the agent's log rotation (logs.max_bytes, logs.keep + the current file; defaults 10 MiB × 4).
    assert.deepEqual(seen.HostConfig.LogConfig, {
      Type: 'json-file',
      Config: { 'max-size': String(10 * 1024 * 1024), 'max-file': '4' },
    });
    assert.equal(seen.HostConfig.MemorySwap, 64 * 1024 * 1024, 'no swap beyond the memory limit');
    assert.equal(seen.Config.User, `${uid}:${uid}`);
    await driver.stop(spec.instance_id, 1);
  });

  it('a fork bomb stops at the pids limit', async () => {
    const spec = buildSpec('docker', {
      // The forks run in a subshell: a shell whose fork fails exits (code 2), and the container's
      // main shell must outlive that, without a fork of its own (exec), for start() to see it run.
      startup:
        'echo READY; (i=0; while [ $i -lt 200 ]; do sleep 60 & i=$((i+1)); done; echo spawned-all); exec sleep 60',
      ready_pattern: '^READY',
      resources: { pids_limit: 16 },
    });
    created.push(spec.instance_id);
    await driver.create(spec, ctx());
    await driver.start(spec.instance_id);
    const text = await until('the refused fork', async () => {
      const t = await logs(spec.instance_id);
      return /fork/i.test(t) ? t : null;
    });
    assert.doesNotMatch(text, /spawned-all/);
    await driver.kill(spec.instance_id, 'SIGKILL');
  });

  it('a read-only root when the workload asks: writes outside its root and /tmp fail', async () => {
    const probe =
      'touch /bin/evil 2>/dev/null && echo root=writable || echo root=readonly; echo x > /tmp/t && echo tmp=ok; echo x > /home/container/f && echo data=ok; echo READY; sleep 60';
    const spec = buildSpec('docker', { startup: probe, ready_pattern: '^READY', sandbox: { read_only_root: true } });
    created.push(spec.instance_id);
    await driver.create(spec, ctx());
    await driver.start(spec.instance_id);
    const text = await logs(spec.instance_id);
    assert.match(text, /root=readonly/);
    assert.match(text, /tmp=ok/);
    assert.match(text, /data=ok/);
    await driver.stop(spec.instance_id, 1);
  });

  it('the install container runs as the instance user too, and what it writes to /mnt/server lands in the instance root', async () => {
    const spec = buildSpec('docker', {
      install: {
        script: 'echo installed > /mnt/server/INSTALLED; grep CapBnd /proc/self/status; echo "install-uid=$(id -u)"',
        entrypoint: '/bin/sh',
      },
    });
    created.push(spec.instance_id);
    await driver.create(spec, ctx());
    assert.equal(readFileSync(join(store.paths(spec.instance_id).data, 'INSTALLED'), 'utf8'), 'installed\n');
    const log = (await driver.logs(spec.instance_id, 10, 'install')).join('\n');
    assert.match(log, /CapBnd:\s*0000000000000000/);
    const uid = Number(/install-uid=(\d+)/.exec(log)?.[1]);
    assert.ok(uid >= UID_BASE, log);
  });
});

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { InstanceDriver } from '../src/drivers/driver';
import { DockerDriver } from '../src/drivers/docker/docker-driver';
import { ProcessDriver } from '../src/drivers/process/process-driver';
import { ParallelsDriver } from '../src/drivers/parallels/parallels-driver';
import { ZoneDriver } from '../src/drivers/zone/zone-driver';
import { InstanceStore } from '../src/instances/instance-store';
import { tempDir } from './support/agent-process';
import { simHost } from './support/sim-illumos';
import { simParallels } from './support/sim-parallels';
import { buildSpec, consoleOutput, recordStates, STUBBORN_WORKLOAD, until } from './support/instance-builders';

const DOCKER_SOCKET = process.env.HOSTPLANE_TEST_DOCKER_SOCKET ?? '/var/run/docker.sock';
const ctx = () => ({ progress: () => undefined, signal: new AbortController().signal });

interface DriverFixture {
  name: 'process' | 'docker' | 'zone' | 'parallels';
  make(store: InstanceStore): InstanceDriver;
  /** The reason of a stop that had to force the workload down after the grace period. */
  forcedStopReason?: RegExp;
  /** What identifies one run of the workload: a restart changes it, a re-adoption does not. */
  runIdentity(status: { pid: number | null; started_at: string | null }): string;
}

const FIXTURES: DriverFixture[] = [
  { name: 'process', make: (store) => new ProcessDriver(store), runIdentity: (s) => `${s.pid}` },
  {
    name: 'docker',
    make: (store) => new DockerDriver(store, DOCKER_SOCKET, { bindAddress: '127.0.0.1' }),
    runIdentity: (s) => `${s.started_at}`,
  },
  zoneFixture(),
  parallelsFixture(),
];

/** Clones of a VM on the simulated Parallels tools: `prlctl stop` (ACPI) is the stop signal, `--kill` the SIGKILL. */
function parallelsFixture(): DriverFixture {
  const sim = simParallels();
  return {
    name: 'parallels',
    make: (store) => new ParallelsDriver(store, { host: sim.host, owner: null }),
    runIdentity: (s) => `${s.started_at}`,
    forcedStopReason: /^stopped with --kill after a grace period of 1 s$/,
  };
}

/**
 * Native zones on the simulated illumos tools (test/sim-tools): zoneadm shutdown is the stop signal, halt the SIGKILL.
 */
function zoneFixture(): DriverFixture {
  const host = simHost();
  const options = {
    exec: host.exec,
    layout: { zonepathRoot: host.zonepathRoot, datasetRoot: 'rpool/zones' },
    consoleLogDir: host.consoleLogDir,
    pollMs: 150,
  };
  return {
    name: 'zone',
    make: (store) => new ZoneDriver(store, options),
    runIdentity: (s) => `${s.started_at}`,
    forcedStopReason: /^halted after a grace period of 1 s$/,
  };
}

/** One behavioural suite, every driver: what the hub relies on must not depend on the driver. */
for (const fixture of FIXTURES) {
  describe(`instance driver contract: ${fixture.name}`, () => {
    const store = new InstanceStore(tempDir());
    let driver = fixture.make(store);
    const frames = recordStates(driver);
    const created: string[] = [];

    after(async () => {
      for (const id of created) await driver.remove(id).catch(() => undefined);
      await driver.close();
    });

    it('creates with an install script, starts, turns running on its ready pattern, answers on the console and logs its output', async () => {
      assert.equal(await driver.available(), null);
      const spec = buildSpec(fixture.name, {
        install: { script: 'echo from-install > installed.txt; echo install-ran' },
        ready_pattern: '^READY',
      });
      created.push(spec.instance_id);
      const status = await driver.create(spec, ctx());
      assert.equal(status.state, 'stopped');
      assert.deepEqual(await driver.create(spec, ctx()), status, 'creating again answers the same status');
      assert.ok((await driver.logs(spec.instance_id, 10, 'install')).some((l) => l.includes('install-ran')));

      const started = await driver.start(spec.instance_id);
      assert.equal(started.state, 'running');
      assert.ok(frames.some((f) => f.instance_id === spec.instance_id && f.state === 'starting'));
      assert.ok(frames.some((f) => f.instance_id === spec.instance_id && f.state === 'running'));
      assert.equal(
        (await driver.start(spec.instance_id)).pid,
        started.pid,
        'starting a running instance leaves it alone',
      );

      const handle = await driver.openConsole(spec.instance_id);
      const output = consoleOutput(handle);
      await new Promise((r) => setTimeout(r, 300));
      handle.write(Buffer.from('ping-42\n'));
      await until('the console answer', () => output().includes('answer: ping-42'));
      handle.close();
      await until('output in the logs', async () => {
        const lines = await driver.logs(spec.instance_id, 50, 'output');
        return lines.some((l) => l.includes('from-install')) && lines.some((l) => l.includes('answer: ping-42'));
      });
      const stats = await driver.stats(spec.instance_id);
      assert.ok(stats.memory_bytes > 0, 'a running workload uses memory');

      const stopped = await driver.stop(spec.instance_id);
      assert.equal(stopped.state, 'stopped');
      assert.equal(stopped.exit_code, 0, 'a workload that traps SIGTERM exits cleanly');
      assert.ok((await driver.logs(spec.instance_id, 20, 'output')).some((l) => l.includes('got-term')));
      assert.equal(
        (await driver.stop(spec.instance_id)).state,
        'stopped',
        'stopping what is stopped answers its status',
      );
    });

    it('kills a workload that ignores the stop signal after the grace period', async () => {
      const spec = buildSpec(fixture.name, {
        startup: STUBBORN_WORKLOAD,
        stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 1 },
      });
      created.push(spec.instance_id);
      await driver.create(spec, ctx());
      await driver.start(spec.instance_id);
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      const stopped = await driver.stop(spec.instance_id);
      assert.ok(Date.now() - t0 >= 900, 'waited for the grace period');
      assert.equal(stopped.state, 'stopped');
      assert.match(stopped.reason ?? '', fixture.forcedStopReason ?? /^killed by SIGKILL$/);
    });

    it('kill stops at once and is not restarted', async () => {
      const spec = buildSpec(fixture.name, {
        startup: STUBBORN_WORKLOAD,
        restart: { policy: 'always', max_retries: 5, backoff_seconds: 0 },
      });
      created.push(spec.instance_id);
      await driver.create(spec, ctx());
      await driver.start(spec.instance_id);
      const killed = await driver.kill(spec.instance_id, 'SIGKILL');
      assert.equal(killed.state, 'stopped');
      await new Promise((r) => setTimeout(r, 800));
      assert.equal((await driver.inspect(spec.instance_id)).state, 'stopped');
    });

    it('reports a crash with its reason and applies the restart policy up to max_retries', async () => {
      const spec = buildSpec(fixture.name, {
        startup: 'echo up; sleep 0.3; exit 3',
        restart: { policy: 'on-failure', max_retries: 2, backoff_seconds: 0.2 },
      });
      created.push(spec.instance_id);
      await driver.create(spec, ctx());
      await driver.start(spec.instance_id);
      const final = await until(
        'the restart limit',
        async () => {
          const s = await driver.inspect(spec.instance_id);
          return s.state === 'crashed' && s.reason?.includes('restart limit') ? s : null;
        },
        30_000,
      );
      assert.equal(final.restarts, 2);
      assert.equal(final.exit_code, 3);
      assert.match(final.reason ?? '', /^exited with code 3; restart limit of 2 reached$/);
      assert.equal(frames.filter((f) => f.instance_id === spec.instance_id && f.state === 'crashed').length, 3);
    });

    it('re-adopts a running instance after an agent restart without restarting it, and deletes it with its data', async () => {
      const spec = buildSpec(fixture.name);
      created.push(spec.instance_id);
      await driver.create(spec, ctx());
      const before = await driver.start(spec.instance_id);
      await driver.close();

      driver = fixture.make(store);
      const listed = await driver.list();
      assert.deepEqual(listed.find((i) => i.instance_id === spec.instance_id)?.state, 'running');
      const after = await driver.inspect(spec.instance_id);
      assert.equal(after.state, 'running');
      assert.equal(
        fixture.runIdentity(after),
        fixture.runIdentity(before),
        'the same run of the workload, not a restart',
      );
      const handle = await driver.openConsole(spec.instance_id);
      const output = consoleOutput(handle);
      await new Promise((r) => setTimeout(r, 300));
      handle.write(Buffer.from('after-restart\n'));
      await until('the console after re-adoption', () => output().includes('answer: after-restart'));
      handle.close();

      const root = store.paths(spec.instance_id).root;
      assert.deepEqual(await driver.remove(spec.instance_id), true);
      assert.equal(existsSync(root), false, 'the instance directory is gone');
      assert.equal(await driver.remove(spec.instance_id), false, 'deleting what is gone');
      await assert.rejects(driver.inspect(spec.instance_id), { code: 'instance_not_found' });
    });
  });
}

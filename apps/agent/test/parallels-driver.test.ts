import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ParallelsDriver } from '../src/drivers/parallels/parallels-driver';
import { InstanceStore } from '../src/instances/instance-store';
import { tempDir } from './support/agent-process';
import { buildSpec, consoleOutput, until } from './support/instance-builders';
import { simParallels } from './support/sim-parallels';

const ctx = () => ({ progress: () => undefined, signal: new AbortController().signal });

describe('parallels driver', () => {
  const sim = simParallels();
  const store = new InstanceStore(tempDir());
  const driver = new ParallelsDriver(store, { host: sim.host, owner: null });
  const created: string[] = [];
  after(async () => {
    for (const id of created) await driver.remove(id).catch(() => undefined);
    await driver.close();
  });

  it('clones the source VM as hp-<instance id> and sizes it before the first boot', async () => {
    const spec = buildSpec('parallels', {
      parallels: {
        source: { vm: 'base', linked: true },
        cpus: 3,
        memory_mb: 3072,
        disk_mb: 81920,
        network: { type: 'bridged' },
      },
    });
    created.push(spec.instance_id);
    const status = await driver.create(spec, ctx());
    assert.equal(status.state, 'stopped');
    const vm = await sim.host.machine(`hp-${spec.instance_id}`);
    assert.ok(vm);
    assert.equal(status.container_id, vm.id, 'the instance names its VM by UUID');
    assert.equal(vm.cpus, 3);
    assert.equal(vm.memory_bytes, 3072 * 2 ** 20);
    assert.equal(vm.disk_bytes, 81920 * 2 ** 20);
    assert.equal(vm.network.type, 'bridged');
    const clone = sim.calls().find((c) => c.tool === 'prlctl' && c.argv[0] === 'clone');
    assert.deepEqual(clone?.argv, ['clone', 'base', '--name', `hp-${spec.instance_id}`, '--linked']);
  });

  it('runs the workload in the guest with its environment; stats come from the VM; a root shell through prlctl enter', async () => {
    const spec = buildSpec('parallels', {
      env: { GREETING: 'hello from $HOME; `id`' },
      startup: 'echo "greeting=$GREETING"; while read line; do echo "answer: $line"; done',
    });
    created.push(spec.instance_id);
    await driver.create(spec, ctx());
    const started = await driver.start(spec.instance_id);
    assert.equal(started.state, 'running');
    await until('the greeting', async () =>
      (await driver.logs(spec.instance_id, 10, 'output')).includes('greeting=hello from $HOME; `id`'),
    );
    const exec = sim
      .calls()
      .find((c) => c.tool === 'prlctl' && c.argv[0] === 'exec' && c.argv.includes('GREETING=hello from $HOME; `id`'));
    assert.deepEqual(
      exec?.argv.slice(0, 3),
      ['exec', `hp-${spec.instance_id}`, '/usr/bin/env'],
      'argv, no shell of ours',
    );
    const stats = await driver.stats(spec.instance_id);
    assert.equal(stats.memory_bytes, 2048 * 2 ** 20);
    assert.equal(stats.disk_bytes, 65536 * 2 ** 20);

    const shell = await driver.openShell(spec.instance_id);
    const output = consoleOutput(shell);
    shell.write(Buffer.from('echo shell-$((6*7))\n'));
    await until('the shell answer', () => output().includes('shell-42'));
    shell.close();
    assert.ok(
      sim.calls().some((c) => c.tool === 'prlctl' && c.argv[0] === 'enter' && c.argv[1] === `hp-${spec.instance_id}`),
    );

    const stopped = await driver.stop(spec.instance_id);
    assert.equal(stopped.state, 'stopped');
    assert.equal((await sim.host.machine(`hp-${spec.instance_id}`))?.state, 'stopped', 'the VM is powered off');
    await assert.rejects(driver.openShell(spec.instance_id), { code: 'instance_busy' });
  });

  it('refuses a spec whose source VM name could be read as an option, or a catalog image, before any command runs', async () => {
    for (const source of [{ vm: '--template' }, { vm: 'base; rm -rf /' }, { vm: '$(reboot)' }]) {
      const before = sim.calls().length;
      const spec = buildSpec('parallels');
      spec.parallels = { source: { ...source, linked: false } };
      await assert.rejects(driver.create(spec, ctx()), { code: 'invalid_spec' });
      assert.equal(sim.calls().length, before, `no tool ran for ${source.vm}`);
    }
    const spec = buildSpec('parallels');
    spec.parallels = { source: { catalog: { id: 'ubuntu-22.04' } } };
    await assert.rejects(driver.create(spec, ctx()), {
      code: 'invalid_spec',
      message: /catalog images are not available/,
    });
  });

  it('removes the VM with the instance, even a running one', async () => {
    const spec = buildSpec('parallels');
    await driver.create(spec, ctx());
    await driver.start(spec.instance_id);
    assert.equal(await driver.remove(spec.instance_id), true);
    assert.equal(await sim.host.machine(`hp-${spec.instance_id}`), null);
    assert.equal(await driver.remove(spec.instance_id), false);
  });
});

describe('parallels driver as root', () => {
  it('runs every prlctl as the VM owner through sudo -n -u when the agent is root', async () => {
    const sim = simParallels({ owner: 'ci', agentIsRoot: true });
    const store = new InstanceStore(tempDir());
    const driver = new ParallelsDriver(store, { host: sim.host, owner: 'ci' });
    const spec = buildSpec('parallels', { parallels: { source: { vm: 'base' }, owner: 'build' } });
    const setUp = sim.calls().length;
    try {
      await driver.create(spec, ctx());
      await driver.start(spec.instance_id);
      await driver.kill(spec.instance_id, 'SIGKILL');
      const tools = sim
        .calls()
        .slice(setUp)
        .filter((c) => c.tool === 'sudo');
      assert.ok(tools.length >= 4);
      for (const c of tools) assert.deepEqual(c.argv.slice(0, 4), ['-n', '-u', 'build', 'prlctl'], c.argv.join(' '));
      assert.deepEqual(
        sim
          .calls()
          .slice(setUp)
          .filter((c) => c.tool === 'prlctl')
          .map((c) => c.argv.join(' '))
          .sort(),
        // Sorted: the workload's `prlctl exec` runs beside the state polls, so the two logs interleave.
        tools.map((c) => c.argv.slice(4).join(' ')).sort(),
        'every prlctl came through sudo',
      );
    } finally {
      await driver.remove(spec.instance_id);
      await driver.close();
    }
  });
});

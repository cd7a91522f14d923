import { AgentError } from '../src/errors/agent-error';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HOST_OPERATIONS, runHostOperation } from '../src/illumos/host-operations';
import { InvalidHostArgument } from '@hostplane/protocol';
import { simHost } from './support/sim-illumos';
import { createHostOperationHandler } from '../src/jobs/handlers/host-operations';
import { JobFailure } from '../src/jobs/handler-registry';

const INJECTIONS = ['x;id', '$(id)', '`id`', 'a b', '../x', 'a\nb', '-x'];

describe('host operations (one table: name → checked params → argv → parser)', () => {
  it('runs every operation against the simulated tools and parses what they print', async () => {
    const host = simHost();
    const cfg = join(host.state, '..', 'base.cfg');
    writeFileSync(cfg, `create -b\nset zonepath=${host.zonepathRoot}/base\nset brand=lipkg\n`);
    await host.exec.run(['zonecfg', '-z', 'base', '-f', cfg]);
    await host.exec.run(['zoneadm', '-z', 'base', 'install']);
    await host.exec.run(['zfs', 'create', '-V', '1G', 'rpool/swap2']);
    const seen = new Set<string>();
    const op = async (name: string, params: Record<string, unknown> = {}): Promise<any> => {
      seen.add(name);
      return runHostOperation(host.exec, name, params);
    };

    assert.deepEqual(
      (await op('zones.list')).map((z: { name: string }) => z.name),
      ['base'],
    );
    assert.equal((await op('zones.get', { zone: 'base' })).config.properties.brand, 'lipkg');
    assert.equal(
      (await op('zones.config.update', { zone: 'base', properties: { autoboot: 'true' } })).properties.autoboot,
      'true',
    );
    assert.equal((await op('zones.config.get', { zone: 'base' })).properties.zonepath, `${host.zonepathRoot}/base`);
    await op('zones.clone', { zone: 'copy', source: 'base', zonepath: `${host.zonepathRoot}/copy` });
    await op('zones.start', { zone: 'copy' });
    assert.equal((await op('zones.get', { zone: 'copy' })).state, 'running');
    await op('zones.restart', { zone: 'copy' });
    await op('zones.stop', { zone: 'copy' });
    await op('zones.start', { zone: 'copy' });
    await op('zones.halt', { zone: 'copy' });
    await op('zones.delete', { zone: 'copy' });
    assert.deepEqual(
      (await op('zones.list')).map((z: { name: string }) => z.name),
      ['base'],
    );

    await op('bootenvs.create', { name: 'pre-update', from: 'omnios-r151046' });
    await op('bootenvs.mount', { name: 'pre-update', mountpoint: '/mnt/be' });
    assert.equal(
      (await op('bootenvs.list')).find((b: { name: string }) => b.name === 'pre-update').mountpoint,
      '/mnt/be',
    );
    await op('bootenvs.unmount', { name: 'pre-update' });
    await op('bootenvs.activate', { name: 'pre-update' });
    await op('bootenvs.activate', { name: 'omnios-r151046' });
    await op('bootenvs.destroy', { name: 'pre-update' });

    await op('network.etherstubs.create', { name: 'stub0' });
    assert.deepEqual(await op('network.etherstubs.list'), [{ link: 'stub0' }]);
    const vnic = await op('network.vnics.create', {
      name: 'web0',
      over: 'stub0',
      vlan_id: 30,
      mac: '02:08:20:aa:bb:01',
      properties: { maxbw: '100M' },
    });
    assert.deepEqual([vnic.link, vnic.vlan_id, vnic.mac_address], ['web0', 30, '02:08:20:aa:bb:01']);
    assert.equal((await op('network.vnics.list')).length, 1);
    assert.equal((await op('network.vnics.stats', { name: 'web0' })).link, 'web0');
    assert.equal(
      (await op('network.linkprops.set', { link: 'web0', properties: { priority: 'low' } })).find(
        (p: { property: string }) => p.property === 'priority',
      ).value,
      'low',
    );
    assert.equal(
      (await op('network.linkprops.get', { link: 'web0' })).find((p: { property: string }) => p.property === 'maxbw')
        .value,
      '100M',
    );
    await op('network.vlans.create', { name: 'vlan10', over: 'e1000g0', vlan_id: 10 });
    assert.equal((await op('network.vlans.list'))[0].vlan_id, 10);
    await op('network.bridges.create', { name: 'br0', link: 'e1000g0' });
    await op('network.bridges.add-link', { name: 'br0', link: 'vlan10' });
    await op('network.bridges.remove-link', { name: 'br0', link: 'vlan10' });
    await op('network.bridges.remove-link', { name: 'br0', link: 'e1000g0' });
    assert.equal((await op('network.bridges.list'))[0].bridge, 'br0');
    await op('network.bridges.delete', { name: 'br0' });
    assert.equal((await op('network.aggregates.list'))[0].link, 'aggr0');
    await op('network.addresses.create', { addrobj: 'web0/v4', address: '10.0.0.5/24' });
    assert.ok((await op('network.addresses.list')).some((a: { address: string }) => a.address === '10.0.0.5/24'));
    assert.ok((await op('network.routes.list')).some((r: { destination: string }) => r.destination === 'default'));
    await op('network.addresses.delete', { addrobj: 'web0/v4' });
    await op('network.vlans.delete', { name: 'vlan10' });
    await op('network.vnics.delete', { name: 'web0' });
    await op('network.etherstubs.delete', { name: 'stub0' });

    assert.equal(
      (await op('storage.datasets.create', { dataset: 'rpool/data', properties: { compression: 'lz4' } })).name,
      'rpool/data',
    );
    assert.equal((await op('storage.datasets.create', { dataset: 'rpool/vol1', volume_size: '2G' })).type, 'volume');
    assert.ok(
      (await op('storage.datasets.list', { root: 'rpool' })).some((d: { name: string }) => d.name === 'rpool/data'),
    );
    assert.equal((await op('storage.datasets.get', { dataset: 'rpool/data' })).type, 'filesystem');
    assert.equal(
      (await op('storage.datasets.properties.set', { dataset: 'rpool/data', properties: { quota: '10G' } }))[0].value,
      '10G',
    );
    assert.equal(
      (await op('storage.datasets.properties.get', { dataset: 'rpool/data', names: ['compression'] }))[0].value,
      'lz4',
    );
    await op('storage.snapshots.create', { dataset: 'rpool/data', name: 'daily-1' });
    assert.equal((await op('storage.snapshots.list', { dataset: 'rpool/data' }))[0].name, 'rpool/data@daily-1');
    await op('storage.snapshots.hold', { snapshot: 'rpool/data@daily-1', tag: 'keep' });
    assert.equal((await op('storage.snapshots.holds', { snapshot: 'rpool/data@daily-1' }))[0].tag, 'keep');
    await op('storage.snapshots.release', { snapshot: 'rpool/data@daily-1', tag: 'keep' });
    await op('storage.snapshots.rollback', { snapshot: 'rpool/data@daily-1' });
    await op('storage.datasets.clone', { snapshot: 'rpool/data@daily-1', to: 'rpool/data-copy' });
    await op('storage.datasets.promote', { dataset: 'rpool/data-copy' });
    await op('storage.datasets.rename', { dataset: 'rpool/data', to: 'rpool/data-old' });
    await op('storage.datasets.delete', { dataset: 'rpool/data-old', recursive: true });
    await op('storage.snapshots.delete', { snapshot: 'rpool/data-copy@daily-1' });
    assert.equal((await op('storage.pools.list'))[0].name, 'rpool');
    assert.equal((await op('storage.pools.status', { pool: 'rpool' })).state, 'ONLINE');
    assert.ok(
      (await op('storage.pools.properties', { pool: 'rpool' })).some(
        (p: { property: string }) => p.property === 'health',
      ),
    );
    await op('storage.pools.scrub', { pool: 'rpool' });
    assert.equal((await op('storage.pools.iostat', { pool: 'rpool' })).pool, 'rpool');
    await op('storage.swap.add', { volume: 'rpool/swap2' });
    assert.equal((await op('storage.swap.list')).length, 2);
    await op('storage.swap.remove', { volume: 'rpool/swap2' });
    assert.ok((await op('storage.swap.summary')).available_bytes > 0);
    assert.ok((await op('storage.arc')).size > 0);

    assert.ok((await op('system.packages.list')).some((p: { name: string }) => p.name === 'network/openssh'));
    assert.equal(
      (await op('system.packages.search', { term: 'nginx' }))[0].fmri,
      'pkg:/web/server/nginx@1.24.0-151046.0',
    );
    assert.equal((await op('system.packages.info', { name: 'web/server/nginx' })).state, 'Not installed');
    assert.equal((await op('system.packages.install', { name: 'web/server/nginx' })).changed, true);
    assert.equal(
      (await op('system.packages.install', { name: 'web/server/nginx' })).changed,
      false,
      'pkg exit 4: nothing to do',
    );
    await op('system.packages.uninstall', { name: 'web/server/nginx' });
    assert.deepEqual(
      (await op('system.updates.check')).map((p: { name: string }) => p.name),
      ['network/openssh'],
    );
    assert.equal((await op('system.updates.apply')).changed, true);
    assert.ok((await op('system.services.list', { all: true })).some((s: { state: string }) => s.state === 'disabled'));
    await op('system.services.enable', { fmri: 'svc:/network/ntp:default' });
    await op('system.services.restart', { fmri: 'network/ntp' });
    await op('system.services.refresh', { fmri: 'network/ntp' });
    await op('system.services.disable', { fmri: 'network/ntp' });
    await op('system.services.clear', { fmri: 'svc:/application/pkg/server:default' });
    const metrics = await op('system.metrics');
    assert.ok(metrics.memory_total_bytes > 0 && metrics.load.length === 3);

    assert.deepEqual(
      Object.keys(HOST_OPERATIONS).filter((n) => !seen.has(n)),
      [],
      'every operation was exercised',
    );
  });

  it('refuses every injection string in every name, path and property, naming the field, and runs nothing', async () => {
    const host = simHost();
    let refused = 0;
    for (const [name, op] of Object.entries(HOST_OPERATIONS)) {
      for (const [field, kind] of Object.entries(op.params)) {
        if (kind.startsWith('bool')) continue;
        for (const bad of INJECTIONS) {
          const value = kind.startsWith('props')
            ? { compression: bad }
            : kind.startsWith('propnames')
              ? [bad]
              : kind.startsWith('vlan')
                ? bad
                : bad;
          const params = { ...validParams(op.params), [field]: value };
          await assert.rejects(
            runHostOperation(host.exec, name, params),
            (err: unknown) => err instanceof InvalidHostArgument && err.field.startsWith(field),
            `${name} ${field}=${JSON.stringify(bad)}`,
          );
          refused++;
        }
      }
    }
    assert.ok(refused > 300, `${refused} refusals`);
    assert.deepEqual(host.calls(), [], 'the simulated tools recorded no call');
  });
});

describe('host.operation jobs', () => {
  it('answer with the parsed data, fail with a code for a bad parameter (nothing run) and where illumos is off', async () => {
    const host = simHost();
    const handler = createHostOperationHandler(host.exec);
    const ctx = { progress: () => undefined, signal: new AbortController().signal } as any;
    const result = await handler({ operation: 'storage.pools.list', params: {} }, ctx);
    assert.equal((result.data as { name: string }[])[0].name, 'rpool');
    const calls = host.calls().length;
    await assert.rejects(
      handler({ operation: 'storage.datasets.create', params: { dataset: 'rpool/$(id)' } }, ctx),
      (err: unknown) => err instanceof JobFailure && err.code === 'invalid_argument' && /^dataset /.test(err.message),
    );
    await assert.rejects(
      handler({ operation: 'storage.nothing', params: {} }, ctx),
      // The coded error the job service reports as is (codedFailure), like every JobFailure.
      (err: unknown) => err instanceof AgentError && err.code === 'unknown_operation',
    );
    assert.equal(host.calls().length, calls, 'no command ran');
    await assert.rejects(
      handler({ operation: 'storage.datasets.create', params: { dataset: 'rpool/x' } }, ctx).then(() =>
        handler({ operation: 'storage.datasets.create', params: { dataset: 'rpool/x' } }, ctx),
      ),
      (err: unknown) =>
        err instanceof JobFailure && err.code === 'host_command_failed' && /dataset already exists/.test(err.message),
    );
    await assert.rejects(
      createHostOperationHandler(null)({ operation: 'zones.list', params: {} }, ctx),
      (err: unknown) => err instanceof JobFailure && err.code === 'driver_unavailable',
    );
  });
});

/** Valid values for every field, so that only the injected one is wrong. */
function validParams(spec: Record<string, string>): Record<string, unknown> {
  const sample: Record<string, unknown> = {
    name: 'web0',
    dataset: 'rpool/data',
    snapshot: 'rpool/data@s1',
    snapname: 's1',
    size: '1G',
    mac: '02:08:20:aa:bb:01',
    vlan: 10,
    fmri: 'network/ssh',
    addrobj: 'web0/v4',
    cidr: '10.0.0.5/24',
    path: '/mnt/x',
    bool: true,
    props: { compression: 'lz4' },
    propnames: ['compression'],
    term: 'nginx',
  };
  return Object.fromEntries(Object.entries(spec).map(([field, kind]) => [field, sample[kind.replace(/\?$/, '')]]));
}

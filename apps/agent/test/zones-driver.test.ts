import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BackupStore } from '../src/backups/backup-store';
import { ZoneBackups } from '../src/drivers/zone/zone-backups';
import { InstanceFiles } from '../src/files/instance-files';
import { ZoneDriver } from '../src/drivers/zone/zone-driver';
import { zonecfgScript, planZone } from '../src/drivers/zone/zone-plan';
import { InstanceStore } from '../src/instances/instance-store';
import { tempDir } from './support/agent-process';
import { buildSpec, until } from './support/instance-builders';
import { simHost } from './support/sim-illumos';

const ctx = () => ({ progress: () => undefined, signal: new AbortController().signal });

describe('zone driver', () => {
  const host = simHost();
  const stateDir = tempDir();
  const store = new InstanceStore(stateDir);
  const driver = new ZoneDriver(store, {
    exec: host.exec,
    layout: { zonepathRoot: host.zonepathRoot, datasetRoot: 'rpool/zones' },
    consoleLogDir: host.consoleLogDir,
    pollMs: 200,
  });
  after(() => driver.close());

  it('plans a bhyve zone: boot disk zvol, ram and vcpus attrs, ISO as a read-only lofs, VNICs ending in a digit', () => {
    const spec = buildSpec('zone', {
      zone: {
        brand: 'bhyve',
        ram: '2G',
        vcpus: 2,
        boot_disk: { size: '20G' },
        iso: '/data/iso/omnios.iso',
        vnics: [{ over: 'e1000g0', vlan_id: 12 }],
        attrs: { vnc: 'on' },
      },
    });
    const plan = planZone(spec, { zonepathRoot: '/zones', datasetRoot: 'rpool/zones' });
    assert.equal(plan.zone, `hp-${spec.instance_id}`);
    assert.match(plan.vnics[0].name, /^hp[0-9a-f]{12}0$/);
    const script = zonecfgScript(plan);
    for (const line of [
      'set brand=bhyve',
      `set match=/dev/zvol/rdsk/rpool/zones/${plan.zone}/disk0`,
      `set value=rpool/zones/${plan.zone}/disk0`,
      'set value=2G',
      'set dir=/data/iso/omnios.iso',
      'add options ro',
      `set physical=${plan.vnics[0].name}`,
      'set name=vnc',
    ]) {
      assert.ok(script.split('\n').includes(line), `${line} in\n${script}`);
    }
  });

  it('refuses a spec with a bad name before any command runs', async () => {
    const before = host.calls().length;
    const spec = buildSpec('zone', { zone: { brand: 'lipkg', vnics: [{ over: 'e1000g0', name: 'bad' }] } });
    (spec.zone!.vnics[0] as { name: string }).name = 'x;id';
    await assert.rejects(driver.create(spec, ctx()), {
      code: 'invalid_spec',
      message: /zone\.vnics\[0\]\.name "x;id" is invalid/,
    });
    assert.equal(host.calls().length, before, 'no host command ran');
  });

  it('creates a bhyve zone from a ZFS image clone, backs it up as a zfs send stream, restores it, and removes everything', async () => {
    await host.exec.run(['zfs', 'create', '-V', '1G', 'rpool/images/debian12']);
    await host.exec.run(['zfs', 'snapshot', 'rpool/images/debian12@base']);
    const spec = buildSpec('zone', {
      startup: ':',
      zone: {
        brand: 'bhyve',
        ram: '1G',
        vcpus: 1,
        boot_disk: { size: '10G', image: 'rpool/images/debian12@base' },
        vnics: [{ over: 'e1000g0' }],
      },
    });
    const plan = driver.plan(spec);
    assert.equal((await driver.create(spec, ctx())).state, 'stopped');
    const zfs = () =>
      JSON.parse(readFileSync(join(host.state, 'zfs.json'), 'utf8')) as {
        datasets: Record<string, { origin: string | null }>;
      };
    assert.equal(
      zfs().datasets[`${plan.dataset}/disk0`].origin,
      'rpool/images/debian12@base',
      'the boot disk is a clone of the image',
    );
    assert.ok(
      host
        .calls()
        .some(
          (c) => c.tool === 'zfs' && c.argv.join(' ') === `clone -p rpool/images/debian12@base ${plan.dataset}/disk0`,
        ),
    );

    assert.equal((await driver.start(spec.instance_id)).state, 'running');
    const console = await driver.openConsole(spec.instance_id);
    let out = '';
    console.onData((c) => (out += c.toString()));
    await until('the console banner and login prompt', () => /\[Connected to zone 'hp-[0-9a-f-]+' console\]/.test(out));
    console.close();
    assert.equal((await driver.stop(spec.instance_id)).state, 'stopped');

    // A marker file in the zonepath shows the stream carries the data.
    writeFileSync(join(plan.zonepath, 'marker'), 'before-backup');
    const backups = new ZoneBackups(driver, new BackupStore(stateDir, new InstanceFiles(store)));
    const info = await backups.create(spec.instance_id, 'backup-0001');
    assert.match(info.sha256, /^[0-9a-f]{64}$/);
    assert.equal(info.file_count, 2, 'the zonepath dataset and the boot disk');
    assert.ok(
      host
        .calls()
        .some((c) => c.tool === 'zfs' && c.argv.join(' ') === `send -R ${plan.dataset}@hp-backup-backup-0001`),
    );
    assert.equal(
      Object.keys(zfs().datasets).some((d) => d.includes('@hp-backup-')),
      false,
      'the snapshot is released once sent',
    );
    writeFileSync(join(plan.zonepath, 'marker'), 'changed');
    await backups.restore(spec.instance_id, 'backup-0001');
    assert.equal(readFileSync(join(plan.zonepath, 'marker'), 'utf8'), 'before-backup');
    assert.ok(host.calls().some((c) => c.tool === 'zfs' && c.argv.join(' ') === `receive -F ${plan.dataset}`));
    assert.equal(backups.delete(spec.instance_id, 'backup-0001'), true);

    assert.equal(await driver.remove(spec.instance_id), true);
    assert.deepEqual(
      Object.keys(zfs().datasets).filter((d) => d.startsWith(plan.dataset)),
      [],
    );
    assert.equal(existsSync(plan.zonepath), false);
    const vnics = JSON.parse(readFileSync(join(host.state, 'net.json'), 'utf8')) as { vnics: Record<string, unknown> };
    assert.equal(vnics.vnics[plan.vnics[0].name], undefined, 'the VNIC is deleted');
  });
});

describe('zone driver: a zone moved to another host (the target of a migration)', () => {
  const hosts = [simHost(), simHost()] as const;
  const sides = hosts.map((host) => {
    const stateDir = tempDir();
    const store = new InstanceStore(stateDir);
    const driver = new ZoneDriver(store, {
      exec: host.exec,
      layout: { zonepathRoot: host.zonepathRoot, datasetRoot: 'rpool/zones' },
      consoleLogDir: host.consoleLogDir,
      pollMs: 200,
    });
    return { host, driver, backups: new BackupStore(stateDir, new InstanceFiles(store)) };
  });
  after(() => Promise.all(sides.map((s) => s.driver.close())));

  it('is configured but not installed, receives the datasets with its boot disk, is attached and boots; no snapshot is left', async () => {
    const [a, b] = sides;
    await a.host.exec.run(['zfs', 'create', '-V', '1G', 'rpool/images/debian12']);
    await a.host.exec.run(['zfs', 'snapshot', 'rpool/images/debian12@base']);
    const spec = buildSpec('zone', {
      startup: ':',
      zone: {
        brand: 'bhyve',
        ram: '1G',
        vcpus: 2,
        boot_disk: { size: '10G', image: 'rpool/images/debian12@base' },
        vnics: [{ over: 'e1000g0', vlan_id: 7 }],
      },
    });
    const plan = a.driver.plan(spec);
    await a.driver.create(spec, ctx());
    writeFileSync(join(plan.zonepath, 'marker'), 'from A');
    const info = await new ZoneBackups(a.driver, a.backups).create(spec.instance_id, 'mig-0001');

    // The hub streams the archive from A to B (backup.read → backup.write); here a copy does.
    b.backups.prepareDir(spec.instance_id);
    copyFileSync(
      a.backups.archivePath(spec.instance_id, 'mig-0001'),
      b.backups.archivePath(spec.instance_id, 'mig-0001'),
    );
    await b.backups.writeRecord(spec.instance_id, 'mig-0001', info);

    assert.equal((await b.driver.create(spec, { ...ctx(), restoreFollows: true })).state, 'stopped');
    const zoneOn = (s: (typeof sides)[number]) =>
      (
        JSON.parse(readFileSync(join(s.host.state, 'zones.json'), 'utf8')) as {
          zones: Record<string, { state: string; resources: unknown }>;
        }
      ).zones[plan.zone];
    assert.equal(zoneOn(b).state, 'configured');
    const bCalls = () =>
      b.host
        .calls()
        .filter((c) => c.tool !== 'pfexec')
        .map((c) => `${c.tool} ${c.argv.join(' ')}`);
    assert.ok(!bCalls().some((c) => c.startsWith(`zoneadm -z ${plan.zone} install`) || c.startsWith('zfs clone')));
    assert.ok(bCalls().includes(`dladm create-vnic -l e1000g0 -v 7 ${plan.vnics[0].name}`));

    await new ZoneBackups(b.driver, b.backups).restore(spec.instance_id, 'mig-0001');
    assert.equal(zoneOn(b).state, 'installed');
    assert.deepEqual(zoneOn(b).resources, zoneOn(a).resources, 'the same zonecfg as on A');
    assert.ok(bCalls().includes(`zoneadm -z ${plan.zone} attach`));
    assert.equal(
      readFileSync(join(plan.zonepath.replace(a.host.zonepathRoot, b.host.zonepathRoot), 'marker'), 'utf8'),
      'from A',
    );
    const datasets = Object.entries(
      (
        JSON.parse(readFileSync(join(b.host.state, 'zfs.json'), 'utf8')) as {
          datasets: Record<string, { type: string }>;
        }
      ).datasets,
    ).filter(([n]) => n.startsWith(plan.dataset));
    assert.deepEqual(
      datasets.map(([n, d]) => [n, d.type]),
      [
        [plan.dataset, 'filesystem'],
        [`${plan.dataset}/disk0`, 'volume'],
      ],
      'the boot disk came in the stream; no snapshot is left',
    );

    assert.equal((await b.driver.start(spec.instance_id)).state, 'running');
    assert.equal((await b.driver.kill(spec.instance_id)).state, 'stopped');
    assert.equal(await b.driver.remove(spec.instance_id), true);
    assert.equal(await a.driver.remove(spec.instance_id), true);
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import {
  parseMonitorEventLine,
  parseServerInfo,
  parseSnapshotCreated,
  parseSysctlHardware,
  parseSnapshotList,
  parseUserList,
  parseVmInfoList,
  parseVmList,
  prlSizeBytes,
  PrlOutputError,
  snapshotTree,
} from '../src/parallels/prl-parsers';

/** Samples in the shapes Parallels Desktop prints (sources in test/fixtures/parallels/README.md). */
const sample = (name: string) =>
  readFileSync(resolve(__dirname, '..', '..', 'test', 'fixtures', 'parallels', name), 'utf8');

describe('prlctl / prlsrvctl parsers', () => {
  it('reads `prlctl list -a -i --json`: state, OS, hardware, guest tools, addresses; ids without braces', () => {
    const [ubuntu, mac] = parseVmInfoList(sample('list-info.json'));
    assert.deepEqual(ubuntu, {
      id: '5b8b8c4e-2c6f-4a0e-9d3f-7d2a7b1e0c11',
      name: 'Ubuntu 22.04',
      description: 'CI runner template',
      state: 'running',
      os: 'ubuntu',
      template: false,
      uptime_seconds: 5421,
      home: '/Users/ci/Parallels/Ubuntu 22.04.pvm/',
      cpus: 4,
      memory_bytes: 4096 * 2 ** 20,
      disk_bytes: 65536 * 2 ** 20,
      boot_order: 'hdd0 cdrom0 net0',
      guest_tools: { state: 'installed', version: '20.1.1-55740' },
      network: {
        type: 'shared',
        mac: '001C42A1B2C3',
        ip_addresses: ['10.211.55.7', 'fdb2:2c26:f4e4:0:21c:42ff:fea1:b2c3'],
      },
    });
    assert.equal(mac.id, '9e0f3a52-1b7d-4c3e-8a6f-0b1c2d3e4f50');
    assert.equal(mac.template, true);
    assert.deepEqual(mac.guest_tools, { state: 'not installed', version: null });
    assert.deepEqual(mac.network.ip_addresses, []);
  });

  it('reads `prlctl list -a --json`: "-" is no address', () => {
    assert.deepEqual(parseVmList(sample('list-all.json')), [
      { id: '5b8b8c4e-2c6f-4a0e-9d3f-7d2a7b1e0c11', name: 'Ubuntu 22.04', state: 'running', ip: '10.211.55.7' },
      { id: '9e0f3a52-1b7d-4c3e-8a6f-0b1c2d3e4f50', name: 'macOS 14 template', state: 'stopped', ip: null },
    ]);
  });

  it('reads `snapshot-list --json` (a map keyed by {id}) and builds the tree in date order', () => {
    const list = parseSnapshotList(sample('snapshot-list.json'));
    assert.equal(list.length, 3);
    const current = list.find((s) => s.current);
    assert.deepEqual(current, {
      id: '7d2f0a5b-1c3e-4f70-9b2d-3e4f5a6b7c8d',
      name: 'tools updated',
      date: '2024-05-03 11:20:45',
      state: 'poweron',
      current: true,
      parent: '3c1e9f4a-0b2d-4e6f-8a1c-2d3e4f5a6b7c',
    });
    const tree = snapshotTree(list);
    assert.equal(tree.length, 1);
    assert.equal(tree[0].name, 'clean install');
    assert.deepEqual(
      tree[0].children.map((c) => c.name),
      ['experiment', 'tools updated'],
    );
    assert.deepEqual(parseSnapshotList(''), [], 'a VM without snapshots prints nothing');
  });

  it('reads the id of a new snapshot from `prlctl snapshot`', () => {
    assert.equal(
      parseSnapshotCreated(
        'Creating the snapshot...\nThe snapshot with id {7d2f0a5b-1c3e-4f70-9b2d-3e4f5a6b7c8d} has been successfully created.\n',
      ),
      '7d2f0a5b-1c3e-4f70-9b2d-3e4f5a6b7c8d',
    );
    assert.throws(() => parseSnapshotCreated('Failed to create the snapshot'), PrlOutputError);
  });

  it('reads `monitor-events --json` lines and skips what is not an event', () => {
    const events = sample('monitor-events.jsonl').split('\n').map(parseMonitorEventLine);
    assert.deepEqual(events[0], {
      at: '2024-05-03 11:21:07',
      vmId: '5b8b8c4e-2c6f-4a0e-9d3f-7d2a7b1e0c11',
      name: 'vm_state_changed',
      state: 'running',
    });
    assert.equal(events[1]?.vmId, '9e0f3a52-1b7d-4c3e-8a6f-0b1c2d3e4f50');
    assert.equal(events[1]?.state, null);
    assert.equal(events[2]?.name, 'vm_snapshots_tree_changed');
    assert.equal(events[3], null, 'a banner line is no event');
    assert.equal(events[4]?.name, 'vm_unregistered');
    assert.equal(parseMonitorEventLine('{"VM ID": 3}'), null);
  });

  it('reads `prlsrvctl info --json` without keeping the license key', () => {
    const info = parseServerInfo(sample('server-info.json'));
    assert.deepEqual(info, {
      id: '0f4b6f6e-6d2a-4a8e-9c1b-5d2f0e3b7a11',
      hostname: 'mac-mini-ci-01.local',
      os: 'Mac OS X 14.5(23F79)',
      version: 'Desktop 20.1.1-55740',
      vm_home: '/Users/ci/Parallels/',
      license: {
        state: 'valid',
        edition: 'Business Edition',
        restricted: false,
        expires_at: null,
        trial: false,
        macos_vm_limit: null,
        cpu_limit_per_vm: null,
        memory_limit_mb_per_vm: null,
      },
      devices: [
        { id: '/dev/disk0', name: 'APPLE SSD AP0512Z', type: 'hdd' },
        { id: '/dev/disk0s2', name: 'Macintosh HD', type: 'hdd-part' },
      ],
    });
    assert.ok(!JSON.stringify(info).includes('AAAAAA'));
  });

  it('reads the licence terms of `prlsrvctl info --json` (macOS guests, vCPUs and RAM per VM); unlimited or absent → null', () => {
    const doc = JSON.parse(sample('server-info.json'));
    const withTerms = (terms: Record<string, unknown>) =>
      parseServerInfo(JSON.stringify({ ...doc, License: { ...doc.License, ...terms } })).license;
    assert.deepEqual(
      withTerms({ macos_vms_limit: '2', cpu_limit: '32', ram_limit: 131072, 'expiration date': '2027-01-01 00:00:00' }),
      {
        state: 'valid',
        edition: 'Business Edition',
        restricted: false,
        expires_at: '2027-01-01 00:00:00',
        trial: false,
        macos_vm_limit: 2,
        cpu_limit_per_vm: 32,
        memory_limit_mb_per_vm: 131072,
      },
    );
    const unlimited = withTerms({ macos_vms_limit: '0', cpu_limit: '-1', ram_limit: '', is_trial: 'true' });
    assert.deepEqual(
      [unlimited.macos_vm_limit, unlimited.cpu_limit_per_vm, unlimited.memory_limit_mb_per_vm, unlimited.trial],
      [null, null, null, true],
    );
  });

  it('reads `sysctl -n hw.machine hw.logicalcpu hw.memsize machdep.cpu.brand_string`', () => {
    assert.deepEqual(parseSysctlHardware('arm64\n12\n34359738368\nApple M2 Pro\n'), {
      arch: 'arm64',
      cpus: 12,
      memory_bytes: 34359738368,
      cpu_model: 'Apple M2 Pro',
    });
    assert.throws(() => parseSysctlHardware("sysctl: unknown oid 'hw.machine'\n"), PrlOutputError);
  });

  it('reads `prlsrvctl user list --json`', () => {
    assert.deepEqual(parseUserList(sample('user-list.json'))[1], {
      name: 'build@mac-mini-ci-01',
      manage_settings: 'allow',
      vm_home: '/Users/build/Parallels/',
    });
  });

  it('says which command printed something unexpected', () => {
    assert.throws(
      () => parseVmInfoList('Failed to get VM list'),
      /unexpected output from prlctl list -i --json: not JSON/,
    );
    assert.throws(() => parseVmList('[{"uuid": 1}]'), /unexpected output from prlctl list -a --json/);
  });

  it('converts prlctl sizes', () => {
    assert.equal(prlSizeBytes('2048Mb'), 2048 * 2 ** 20);
    assert.equal(prlSizeBytes('64Gb'), 64 * 2 ** 30);
    assert.equal(prlSizeBytes('512'), 512 * 2 ** 20);
    assert.equal(prlSizeBytes('lots'), 0);
  });
});

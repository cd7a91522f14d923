import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  containerInventory,
  diskInventory,
  inventory,
  metricsSample,
  networkInterface,
  processInventory,
  systemInventory,
  userInventory,
} from '@hostplane/protocol';
import { detectDrivers } from '../src/drivers/detect';
import { collectContainers } from '../src/inventory/containers';
import { collectInventory, stableInventoryHash } from '../src/inventory/collect-inventory';
import { collectDisks, parseDarwinMountOutput, parseDfPortable, parseMountTable } from '../src/inventory/disks';
import { parseKstatLinkBytes, parseNetstatLinkBytes, parseProcNetDev, MetricsSampler } from '../src/inventory/metrics';
import { collectNetwork } from '../src/inventory/network';
import { collectProcesses, parseProcStat, parsePsListing } from '../src/inventory/processes';
import { collectSystem } from '../src/inventory/system';
import { collectUsers, parsePasswd } from '../src/inventory/users';
import { createAgentLogger } from '../src/logging/logger';
import { tempDir } from './support/agent-process';

const log = createAgentLogger('silent');

/** A Docker Engine API on a unix socket, answering what a real engine answers for these two paths. */
async function engineOnSocket(containers: unknown[]): Promise<{ socketPath: string; close(): Promise<void> }> {
  const socketPath = join(tempDir(), 'docker.sock');
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/version') return res.end(JSON.stringify({ Version: '26.1.5', ApiVersion: '1.45' }));
    if (req.url === '/containers/json?all=1') return res.end(JSON.stringify(containers));
    res.statusCode = 404;
    res.end(JSON.stringify({ message: 'page not found' }));
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  return { socketPath, close: () => new Promise((r) => server.close(() => r())) };
}

describe('inventory collectors on this machine', () => {
  it('system: schema-valid, with this host name and memory', async () => {
    const system = systemInventory.parse(await collectSystem());
    assert.equal(system.os, 'linux');
    assert.ok(system.cpu_cores >= 1);
    assert.ok(system.memory_total_bytes > 0);
    assert.notEqual(system.release, '');
  });

  it('network: includes the loopback interface with 127.0.0.1', () => {
    const interfaces = collectNetwork().map((i) => networkInterface.parse(i));
    const lo = interfaces.find((i) => i.name === 'lo');
    assert.ok(lo);
    assert.equal(lo.internal, true);
    assert.ok(lo.addresses.some((a) => a.address === '127.0.0.1' && a.family === 'IPv4' && a.cidr === '127.0.0.1/8'));
  });

  it('disks: includes the root filesystem with its size, and no kernel pseudo filesystems', async () => {
    const disks = (await collectDisks()).map((d) => diskInventory.parse(d));
    const root = disks.find((d) => d.mount === '/');
    assert.ok(root);
    assert.ok(root.size_bytes > 0 && root.used_bytes > 0 && root.available_bytes <= root.size_bytes);
    assert.equal(disks.filter((d) => ['proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts'].includes(d.type)).length, 0);
  });

  it('users: includes root with uid 0', async () => {
    const users = (await collectUsers()).map((u) => userInventory.parse(u));
    assert.deepEqual(
      users.filter((u) => u.name === 'root').map((u) => [u.uid, u.gid]),
      [[0, 0]],
    );
  });

  it('processes: includes this test process with its command line and owner', async () => {
    const users = await collectUsers();
    const processes = (await collectProcesses(new Map(users.map((u) => [u.uid, u.name])))).map((p) =>
      processInventory.parse(p),
    );
    const self = processes.find((p) => p.pid === process.pid);
    assert.ok(self);
    assert.equal(self.ppid, process.ppid);
    assert.match(self.command, /inventory\.test\.js/);
    assert.equal(self.user, users.find((u) => u.uid === process.getuid?.())?.name);
    assert.ok(self.memory_bytes > 1024 * 1024);
  });

  it('containers: null without an engine, the engine list when one answers on the socket', async () => {
    assert.equal(await collectContainers(join(tempDir(), 'absent.sock')), null);
    const engine = await engineOnSocket([
      {
        Id: 'a1b2c3d4e5f6a7b8',
        Names: ['/web-1'],
        Image: 'busybox:local',
        State: 'running',
        Status: 'Up 3 minutes',
        Created: 1767225600,
      },
      {
        Id: 'ffeeddccbbaa9988',
        Names: [],
        Image: 'busybox:local',
        State: 'exited',
        Status: 'Exited (0) 1 hour ago',
        Created: 1767222000,
      },
    ]);
    try {
      const containers = await collectContainers(engine.socketPath);
      assert.ok(containers);
      assert.deepEqual(
        containers.map((c) => containerInventory.parse(c)),
        [
          {
            id: 'a1b2c3d4e5f6a7b8',
            name: 'web-1',
            image: 'busybox:local',
            state: 'running',
            status: 'Up 3 minutes',
            created_at: '2026-01-01T00:00:00.000Z',
          },
          {
            id: 'ffeeddccbbaa9988',
            name: 'ffeeddccbbaa',
            image: 'busybox:local',
            state: 'exited',
            status: 'Exited (0) 1 hour ago',
            created_at: '2025-12-31T23:00:00.000Z',
          },
        ],
      );
      const drivers = await detectDrivers({ dockerSocket: engine.socketPath });
      assert.deepEqual(
        drivers.find((d) => d.name === 'docker'),
        { name: 'docker', available: true, version: '26.1.5' },
      );
    } finally {
      await engine.close();
    }
    const absent = await detectDrivers({ dockerSocket: join(tempDir(), 'absent.sock') });
    assert.match(
      absent.find((d) => d.name === 'docker')?.reason ?? '',
      /no Docker Engine at .*absent\.sock \(ENOENT\)/,
    );
  });

  it('the full inventory is schema-valid, and its stable hash ignores usage that moves every second', async () => {
    const inv = inventory.parse(await collectInventory({ dockerSocket: join(tempDir(), 'absent.sock'), log }));
    assert.equal(inv.containers, null);
    const busier = {
      ...inv,
      system: { ...inv.system, uptime_seconds: inv.system.uptime_seconds + 60 },
      processes: [],
      disks: inv.disks.map((d) => ({ ...d, used_bytes: d.used_bytes + 4096 })),
    };
    assert.equal(stableInventoryHash(busier), stableInventoryHash(inv));
    const grown = {
      ...inv,
      disks: [
        ...inv.disks,
        { filesystem: '/dev/vdb', mount: '/data', type: 'xfs', size_bytes: 1e12, used_bytes: 0, available_bytes: 1e12 },
      ],
    };
    assert.notEqual(stableInventoryHash(grown), stableInventoryHash(inv));
  });

  it('metrics: schema-valid samples with CPU % measured between samples', async () => {
    const sampler = new MetricsSampler();
    const spinUntil = Date.now() + 200;
    while (Date.now() < spinUntil) Math.sqrt(Math.random());
    const sample = metricsSample.parse(await sampler.sample());
    assert.ok(sample.cpu_percent > 0, 'a busy loop shows up as CPU use');
    assert.ok(sample.memory_used_bytes > 0 && sample.memory_used_bytes <= sample.memory_total_bytes);
    assert.ok(sample.disk_total_bytes > 0);
    metricsSample.parse(await sampler.sample());
  });
});

describe('inventory parsers for other systems', () => {
  it('reads mount tables with escaped spaces, later mounts hiding earlier ones', () => {
    const table = parseMountTable(
      '/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040disk ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n/dev/sdc1 /run xfs rw 0 0\n',
    );
    assert.deepEqual(table, [
      { device: '/dev/sda1', mount: '/', type: 'ext4' },
      { device: '/dev/sdb1', mount: '/mnt/my disk', type: 'ext4' },
      { device: '/dev/sdc1', mount: '/run', type: 'xfs' },
    ]);
    const illumosMnttab =
      'rpool/ROOT/omnios\t/\tzfs\tdev=4010002\t1700000000\n/devices\t/devices\tdevfs\tdev=8980000\t1700000000\n';
    assert.deepEqual(parseMountTable(illumosMnttab)[0], { device: 'rpool/ROOT/omnios', mount: '/', type: 'zfs' });
  });

  it('reads df -kP, including names with spaces', () => {
    const out = [
      'Filesystem 1024-blocks Used Available Capacity Mounted on',
      'rpool/ROOT/omnios 25165824 2345678 20000000 11% /',
      'map auto_home 0 0 0 100% /System/Volumes/Data/home',
      '/dev/disk4s1 488245288 100 488245188 1% /Volumes/My Disk',
      '',
    ].join('\n');
    assert.deepEqual(parseDfPortable(out), [
      {
        filesystem: 'rpool/ROOT/omnios',
        mount: '/',
        sizeBytes: 25165824 * 1024,
        usedBytes: 2345678 * 1024,
        availableBytes: 20000000 * 1024,
      },
      {
        filesystem: 'map auto_home',
        mount: '/System/Volumes/Data/home',
        sizeBytes: 0,
        usedBytes: 0,
        availableBytes: 0,
      },
      {
        filesystem: '/dev/disk4s1',
        mount: '/Volumes/My Disk',
        sizeBytes: 488245288 * 1024,
        usedBytes: 100 * 1024,
        availableBytes: 488245188 * 1024,
      },
    ]);
    assert.deepEqual(
      parseDarwinMountOutput(
        '/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)\nmap auto_home on /System/Volumes/Data/home (autofs, automounted, nobrowse)\n',
      ),
      [
        { device: '/dev/disk3s1s1', mount: '/', type: 'apfs' },
        { device: 'map auto_home', mount: '/System/Volumes/Data/home', type: 'autofs' },
      ],
    );
  });

  it('reads /proc stat lines whose command contains parentheses and spaces', () => {
    const stat = parseProcStat(
      '4242 (tmux: server (1)) S 1 4242 4242 0 -1 4194560 600 0 0 0 150 50 0 0 20 0 1 0 98765 9000000 1000 18446744073709551615',
    );
    assert.deepEqual(stat, {
      pid: 4242,
      comm: 'tmux: server (1)',
      state: 'S',
      ppid: 1,
      cpuTicks: 200,
      startTicks: 98765,
    });
  });

  it('reads ps listings and passwd files', () => {
    const ps =
      '    1     0 root       0.0  1234 S /sbin/init\n  812     1 www-data   2.5 51200 R /usr/sbin/nginx worker\n';
    assert.deepEqual(parsePsListing(ps)[1], {
      pid: 812,
      ppid: 1,
      user: 'www-data',
      cpu_percent: 2.5,
      memory_bytes: 51200 * 1024,
      state: 'R',
      name: 'nginx worker',
    });
    assert.deepEqual(
      parsePasswd(
        '# comment\nroot:x:0:0:root:/root:/bin/bash\nbroken line\nnobody:*:-2:-2:Unprivileged:/var/empty:/usr/bin/false\n',
      ),
      [
        { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/bash' },
        { name: 'nobody', uid: -2, gid: -2, home: '/var/empty', shell: '/usr/bin/false' },
      ],
    );
  });

  it('sums network counters without loopback on Linux, macOS and illumos', () => {
    const procNetDev =
      'Inter-|   Receive\n face |bytes packets\n    lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n  eth1: 5 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0\n';
    assert.deepEqual(parseProcNetDev(procNetDev), { rxBytes: 1005, txBytes: 2007 });
    const netstat = [
      'Name       Mtu   Network       Address            Ipkts Ierrs     Ibytes    Opkts Oerrs     Obytes  Coll',
      'lo0        16384 <Link#1>                          1234     0     567890     1234     0     567890     0',
      'en0        1500  <Link#6>    a4:83:e7:11:22:33   5000     0    7000000     4000     0    3000000     0',
      'en0        1500  192.168.1     192.168.1.20      5000     -    7000000     4000     -    3000000     -',
      'utun0      1380  <Link#7>                            10     0       1000       12     0       2000     0',
    ].join('\n');
    assert.deepEqual(parseNetstatLinkBytes(netstat), { rxBytes: 7001000, txBytes: 3002000 });
    assert.deepEqual(
      parseKstatLinkBytes('link:0:net0:rbytes64\t100\nlink:0:net0:obytes64\t200\nlink:0:vnic1:rbytes64\t5\n'),
      { rxBytes: 105, txBytes: 200 },
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseShowAddr,
  parseShowAggr,
  parseShowBridge,
  parseShowEtherstub,
  parseShowVlan,
  parseShowVnic,
} from '../src/illumos/parsers/dladm';
import {
  kstatNumbers,
  parseBeadmList,
  parseKstat,
  parseNetstatRoutes,
  parsePkgInfo,
  parsePkgList,
  parseSvcs,
  parseSwapList,
  parseSwapSummary,
  parseVmstat,
} from '../src/illumos/parsers/system';
import { parseZfsGet, parseZfsList, parseZpoolList, parseZpoolStatus } from '../src/illumos/parsers/zfs';
import { parseZoneadmList, parseZonecfgExport, parseZonecfgInfo } from '../src/illumos/parsers/zones';

// Samples follow the formats in the illumos man pages (zoneadm(8), zonecfg(8), zfs(8), zpool(8),
// dladm(8), ipadm(8), swap(8), beadm(8), pkg(1), svcs(1), kstat(8), vmstat(8), netstat(8)) as
// printed on OmniOS r151046.

describe('illumos output parsers', () => {
  it('zoneadm list -c -p: colon fields, "-" id for zones not running, escaped colons in paths', () => {
    const zones = parseZoneadmList(
      '0:global:running:/::ipkg:shared\n3:web01:running:/zones/web01:5f1c3c1e-7d0f-6b8e-9e5b-c0d1a3f4e2b1:bhyve:excl\n-:db\\:1:installed:/zones/db\\:1:a1b2c3d4-0000-1111-2222-333344445555:sparse:excl\n-:new:configured:/zones/new::lipkg:excl\n',
    );
    assert.equal(zones.length, 4);
    assert.deepEqual(zones[1], {
      id: 3,
      name: 'web01',
      state: 'running',
      zonepath: '/zones/web01',
      uuid: '5f1c3c1e-7d0f-6b8e-9e5b-c0d1a3f4e2b1',
      brand: 'bhyve',
      ip_type: 'excl',
    });
    assert.equal(zones[2].id, null);
    assert.equal(zones[2].name, 'db:1');
    assert.equal(zones[2].zonepath, '/zones/db:1');
    assert.equal(zones[3].uuid, null);
  });

  it('zonecfg info: globals, resources with unset and bracketed properties', () => {
    const info = `zonename: web01
zonepath: /zones/web01
brand: bhyve
autoboot: true
bootargs: 
pool: 
ip-type: exclusive
net:
\taddress not specified
\tallowed-address not specified
\tphysical: web01vnic0
\tdefrouter not specified
device:
\tmatch: /dev/zvol/rdsk/rpool/zones/web01/root
attr:
\tname: ram
\ttype: string
\tvalue: 2G
attr:
\tname: vcpus
\ttype: string
\tvalue: 2
capped-memory:
\tphysical: 2G
\t[swap: 4G]
`;
    const cfg = parseZonecfgInfo(info);
    assert.equal(cfg.properties.zonepath, '/zones/web01');
    assert.equal(cfg.properties.bootargs, '');
    assert.deepEqual(cfg.resources.net, [{ physical: 'web01vnic0' }]);
    assert.deepEqual(
      cfg.resources.attr.map((a) => [a.name, a.value]),
      [
        ['ram', '2G'],
        ['vcpus', '2'],
      ],
    );
    assert.deepEqual(cfg.resources['capped-memory'], [{ physical: '2G', swap: '4G' }]);
  });

  it('zonecfg export: the same configuration as a command script', () => {
    const cfg = parseZonecfgExport(
      'create -b\nset zonepath=/zones/web01\nset brand=bhyve\nset autoboot=false\nset ip-type=exclusive\nadd net\nset physical=web01vnic0\nend\nadd attr\nset name=bootdisk\nset type=string\nset value="rpool/zones/web01/root"\nend\n',
    );
    assert.equal(cfg.properties.brand, 'bhyve');
    assert.deepEqual(cfg.resources.net, [{ physical: 'web01vnic0' }]);
    assert.equal(cfg.resources.attr[0].value, 'rpool/zones/web01/root');
  });

  it('zfs list -H -p and zfs get -H -p: tab-separated, exact bytes, "-" for none', () => {
    const list = parseZfsList(
      'rpool\tfilesystem\t12884901888\t94489280512\t98304\t/rpool\t-\nrpool/zones/web01/root\tvolume\t21474836480\t94489280512\t1073741824\t-\trpool/images/debian@base\n',
    );
    assert.deepEqual(list[0], {
      name: 'rpool',
      type: 'filesystem',
      used: 12884901888,
      available: 94489280512,
      referenced: 98304,
      mountpoint: '/rpool',
      origin: null,
    });
    assert.equal(list[1].mountpoint, null);
    assert.equal(list[1].origin, 'rpool/images/debian@base');
    const props = parseZfsGet('rpool/zones\tcompression\tlz4\tlocal\nrpool/zones\tused\t12345\t-\n');
    assert.deepEqual(props[0], { name: 'rpool/zones', property: 'compression', value: 'lz4', source: 'local' });
  });

  it('zpool list -H -p and zpool status', () => {
    const pools = parseZpoolList('rpool\t107374182400\t12884901888\t94489280512\t3\t12\t1.00\tONLINE\t-\n');
    assert.deepEqual(pools[0], {
      name: 'rpool',
      size: 107374182400,
      allocated: 12884901888,
      free: 94489280512,
      fragmentation_percent: 3,
      capacity_percent: 12,
      dedup_ratio: 1,
      health: 'ONLINE',
      altroot: null,
    });
    const status = parseZpoolStatus(`  pool: rpool
 state: ONLINE
  scan: scrub repaired 0 in 0 days 00:01:02 with 0 errors on Sun Dec  6 03:00:01 2026
config:

\tNAME        STATE     READ WRITE CKSUM
\trpool       ONLINE       0     0     0
\t  mirror-0  ONLINE       0     0     0
\t    c1t0d0  ONLINE       0     0     0
\t    c1t1d0  ONLINE       0     0     2

errors: No known data errors
`);
    assert.equal(status[0].pool, 'rpool');
    assert.equal(status[0].state, 'ONLINE');
    assert.match(status[0].scan ?? '', /^scrub repaired 0/);
    assert.deepEqual(
      status[0].config.map((v) => [v.name, v.depth, v.checksum_errors]),
      [
        ['rpool', 0, 0],
        ['mirror-0', 1, 0],
        ['c1t0d0', 2, 0],
        ['c1t1d0', 2, 2],
      ],
    );
    assert.equal(status[0].errors, 'No known data errors');
  });

  it('dladm show-* -p -o: escaped MACs, "--" for none', () => {
    const vnics = parseShowVnic(
      'web01vnic0:e1000g0:1000:2\\:8\\:20\\:a4\\:f3\\:1:random:0:web01\nstubnic:stub0:0:f2\\:2\\:0\\:1\\:0\\:1:fixed:10:--\n',
    );
    assert.deepEqual(vnics[0], {
      link: 'web01vnic0',
      over: 'e1000g0',
      speed_mbps: 1000,
      mac_address: '2:8:20:a4:f3:1',
      mac_type: 'random',
      vlan_id: null,
      zone: 'web01',
    });
    assert.equal(vnics[1].mac_address, 'f2:2:0:1:0:1');
    assert.equal(vnics[1].vlan_id, 10);
    assert.equal(vnics[1].zone, null);
    assert.deepEqual(parseShowVlan('vlan10:10:e1000g0:-----\n'), [
      { link: 'vlan10', vlan_id: 10, over: 'e1000g0', flags: '-----' },
    ]);
    assert.deepEqual(parseShowEtherstub('stub0\nstub1\n'), [{ link: 'stub0' }, { link: 'stub1' }]);
    assert.deepEqual(
      parseShowBridge('br0:8000/0\\:1b\\:21\\:3c\\:4d\\:5e:32768:8000/0\\:1b\\:21\\:3c\\:4d\\:5e\n')[0].address,
      '8000/0:1b:21:3c:4d:5e',
    );
    assert.deepEqual(parseShowAggr('aggr0:L4:auto:active:short:-----\n')[0], {
      link: 'aggr0',
      policy: 'L4',
      address_policy: 'auto',
      lacp_activity: 'active',
      lacp_timer: 'short',
      flags: '-----',
    });
    assert.deepEqual(
      parseShowAddr('lo0/v4:static:ok:127.0.0.1/8\nlo0/v6:static:ok:\\:\\:1/128\n').map((a) => a.address),
      ['127.0.0.1/8', '::1/128'],
    );
  });

  it('swap -l and swap -s', () => {
    const devices = parseSwapList(
      'swapfile             dev    swaplo   blocks     free\n/dev/zvol/dsk/rpool/swap 256,1      8  4194296  4194296\n',
    );
    assert.deepEqual(devices, [
      { path: '/dev/zvol/dsk/rpool/swap', device: '256,1', swaplo_blocks: 8, blocks: 4194296, free_blocks: 4194296 },
    ]);
    assert.deepEqual(
      parseSwapSummary('total: 270724k bytes allocated + 67680k reserved = 338404k used, 3842520k available\n'),
      {
        allocated_bytes: 270724 * 1024,
        reserved_bytes: 67680 * 1024,
        used_bytes: 338404 * 1024,
        available_bytes: 3842520 * 1024,
      },
    );
  });

  it('beadm list -H, pkg list -H, pkg info, svcs -H -o', () => {
    const bes = parseBeadmList(
      'omnios-r151044;5c6b4a1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b;;;2147483648;static;1680000000\nomnios-r151046;a6a4d5e0-1b2c-3d4e-5f6a-7b8c9d0e1f2a;NR;/;3565158400;static;1690000000\n',
    );
    assert.equal(bes[1].active_now, true);
    assert.equal(bes[1].active_on_reboot, true);
    assert.equal(bes[0].active_now, false);
    assert.equal(bes[1].created, '2023-07-22T04:26:40.000Z');
    const pkgs = parsePkgList(
      'web/server/nginx                                  1.24.0-151046.0            i--\nextra/app (extra.omnios)                          2.1-151046.0               if-\n',
    );
    assert.deepEqual(pkgs[1], { name: 'extra/app', publisher: 'extra.omnios', version: '2.1-151046.0', flags: 'if-' });
    const info = parsePkgInfo(
      '          Name: web/server/nginx\n       Summary: nginx web server\n         State: Installed\n     Publisher: omnios\n       Version: 1.24.0\n',
    );
    assert.equal(info[0].name, 'web/server/nginx');
    assert.equal(info[0].state, 'Installed');
    const svcs = parseSvcs(
      'online         Dec_06   svc:/network/ssh:default\nmaintenance    10:03:11 svc:/site/app:default\n',
    );
    assert.deepEqual(svcs[1], { state: 'maintenance', stime: '10:03:11', fmri: 'svc:/site/app:default' });
  });

  it('kstat -p, vmstat, netstat -rn', () => {
    const ks = parseKstat(
      'zfs:0:arcstats:size\t1073741824\nzfs:0:arcstats:c_max\t4294967296\nzfs:0:arcstats:class\tmisc\nunix:0:system_misc:avenrun_1min\t42\n',
    );
    assert.deepEqual(kstatNumbers(ks, 'arcstats'), { size: 1073741824, c_max: 4294967296 });
    const vm = parseVmstat(` kthr      memory            page            disk          faults      cpu
 r b w   swap  free  re  mf pi po fr de sr s0 s1 -- --   in   sy   cs us sy id
 0 0 0 3842520 1953212 5 26 0 0 0  0  3  1  0  0  0  612  434  388  1  1 98
 1 0 0 3841000 1952000 0  2 0 0 0  0  0  0  0  0  0  700  500  400  7  3 90
`);
    assert.equal(vm.run_queue, 1);
    assert.equal(vm.free_kb, 1952000);
    assert.deepEqual(
      [vm.interrupts, vm.syscalls, vm.context_switches, vm.cpu_user, vm.cpu_system, vm.cpu_idle],
      [700, 500, 400, 7, 3, 90],
    );
    const routes = parseNetstatRoutes(`
Routing Table: IPv4
  Destination           Gateway           Flags  Ref     Use     Interface
-------------------- -------------------- ----- ----- ---------- ---------
default              192.168.1.1          UG        2      11045
127.0.0.1            127.0.0.1            UH        2        104 lo0
192.168.1.0          192.168.1.20         U         4      85533 e1000g0
`);
    assert.deepEqual(
      routes.map((r) => [r.destination, r.gateway, r.interface]),
      [
        ['default', '192.168.1.1', null],
        ['127.0.0.1', '127.0.0.1', 'lo0'],
        ['192.168.1.0', '192.168.1.20', 'e1000g0'],
      ],
    );
  });
});

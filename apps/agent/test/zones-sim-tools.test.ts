import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DLADM_COLUMNS, parseShowBridge, parseShowEtherstub, parseShowVnic } from '../src/illumos/parsers/dladm';
import {
  kstatNumbers,
  parseBeadmList,
  parseKstat,
  parsePkgList,
  parseSvcs,
  parseSwapList,
  parseSwapSummary,
  parseVmstat,
} from '../src/illumos/parsers/system';
import {
  parseZfsGet,
  parseZfsList,
  parseZpoolList,
  parseZpoolStatus,
  ZFS_LIST_COLUMNS,
  ZPOOL_LIST_COLUMNS,
} from '../src/illumos/parsers/zfs';
import { parseZoneadmList, parseZonecfgExport, parseZonecfgInfo } from '../src/illumos/parsers/zones';
import { simHost } from './support/sim-illumos';

describe('simulated illumos tools', () => {
  it('keep zone state across calls, print what the parsers read and log every argv', async () => {
    const host = simHost();
    const cfg = join(host.state, '..', 'web01.cfg');
    writeFileSync(
      cfg,
      `create -b\nset zonepath=${host.zonepathRoot}/web01\nset brand=bhyve\nadd attr\nset name=ram\nset type=string\nset value=2G\nend\n`,
    );
    await host.exec.run(['zonecfg', '-z', 'web01', '-f', cfg]);
    await host.exec.run(['zoneadm', '-z', 'web01', 'install']);
    const zones = parseZoneadmList(await host.exec.stdout(['zoneadm', 'list', '-c', '-p']));
    assert.deepEqual(
      zones.map((z) => [z.name, z.state, z.brand]),
      [
        ['global', 'running', 'ipkg'],
        ['web01', 'installed', 'bhyve'],
      ],
    );
    assert.equal(
      parseZonecfgInfo(await host.exec.stdout(['zonecfg', '-z', 'web01', 'info'])).resources.attr[0].value,
      '2G',
    );
    assert.equal(
      parseZonecfgExport(await host.exec.stdout(['zonecfg', '-z', 'web01', 'export'])).properties.brand,
      'bhyve',
    );
    await assert.rejects(host.exec.run(['zonecfg', '-z', 'nope', 'info']), /nope: No such zone configured/);

    const datasets = parseZfsList(
      await host.exec.stdout(['zfs', 'list', '-H', '-p', '-r', '-o', ZFS_LIST_COLUMNS.join(','), 'rpool/zones']),
    );
    assert.ok(
      datasets.some((d) => d.name === 'rpool/zones/web01'),
      'zoneadm install made the zone dataset',
    );
    await host.exec.run(['zfs', 'create', '-V', '1G', 'rpool/zones/web01/disk0']);
    const props = parseZfsGet(
      await host.exec.stdout([
        'zfs',
        'get',
        '-H',
        '-p',
        '-o',
        'name,property,value,source',
        'volsize,compression',
        'rpool/zones/web01/disk0',
      ]),
    );
    assert.deepEqual(
      props.map((p) => [p.property, p.value, p.source]),
      [
        ['volsize', '1073741824', '-'],
        ['compression', 'lz4', 'inherited from rpool/zones'],
      ],
    );
    assert.equal(
      parseZpoolList(await host.exec.stdout(['zpool', 'list', '-H', '-p', '-o', ZPOOL_LIST_COLUMNS.join(',')]))[0]
        .health,
      'ONLINE',
    );
    assert.equal(parseZpoolStatus(await host.exec.stdout(['zpool', 'status', 'rpool']))[0].config.length, 4);

    await host.exec.run(['dladm', 'create-etherstub', 'stub0']);
    await host.exec.run(['dladm', 'create-vnic', '-l', 'stub0', '-v', '12', 'web0']);
    await host.exec.run(['dladm', 'create-bridge', '-l', 'e1000g0', 'br0']);
    const vnics = parseShowVnic(
      await host.exec.stdout(['dladm', 'show-vnic', '-p', '-o', DLADM_COLUMNS.vnic.join(',')]),
    );
    assert.equal(vnics[0].vlan_id, 12);
    assert.match(vnics[0].mac_address ?? '', /^2:8:20:/);
    assert.deepEqual(parseShowEtherstub(await host.exec.stdout(['dladm', 'show-etherstub', '-p', '-o', 'LINK'])), [
      { link: 'stub0' },
    ]);
    assert.equal(
      parseShowBridge(await host.exec.stdout(['dladm', 'show-bridge', '-p', '-o', DLADM_COLUMNS.bridge.join(',')]))[0]
        .bridge,
      'br0',
    );

    assert.equal(parseSwapList(await host.exec.stdout(['swap', '-l']))[0].path, '/dev/zvol/dsk/rpool/swap');
    assert.ok(parseSwapSummary(await host.exec.stdout(['swap', '-s'])).available_bytes > 0);
    assert.equal(
      parseBeadmList(await host.exec.stdout(['beadm', 'list', '-H'])).find((b) => b.active_now)?.name,
      'omnios-r151046',
    );
    assert.ok(parsePkgList(await host.exec.stdout(['pkg', 'list', '-H'])).some((p) => p.name === 'network/openssh'));
    assert.ok(
      parseSvcs(await host.exec.stdout(['svcs', '-H', '-o', 'state,stime,fmri'])).some(
        (s) => s.fmri === 'svc:/network/ssh:default',
      ),
    );
    assert.ok(kstatNumbers(parseKstat(await host.exec.stdout(['kstat', '-p', 'zfs:0:arcstats'])), 'arcstats').size > 0);
    assert.ok(parseVmstat(await host.exec.stdout(['vmstat', '1', '2'])).free_kb > 0);

    const calls = host.calls();
    assert.deepEqual(
      { tool: calls[0].tool, argv: calls[0].argv },
      { tool: 'pfexec', argv: ['zonecfg', '-z', 'web01', '-f', cfg] },
    );
    assert.deepEqual(calls[1].tool, 'zonecfg');
  });
});

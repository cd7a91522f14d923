import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseZadmShow, zoneSizing } from '../src/illumos/parsers/zadm';
import { parseZonecfgInfo } from '../src/illumos/parsers/zones';
import { simHost } from './support/sim-illumos';

// `zadm show bhyve` as zadm prints it: omniosorg/zadm, test/t/bhyve.d/base.json (the expected
// output of its own `show` test for a bhyve zone; __DATASET__/__ZADMROOT__ filled in). Perl's
// canonical pretty JSON: sorted keys, 3-space indent, `"key" : value`, `null` for unused disk slots.
const ZADM_SHOW_BHYVE = `{
   "acpi" : "on",
   "attr" : [
      {
         "name" : "testattr",
         "type" : "string",
         "value" : "not known to brand"
      }
   ],
   "autoboot" : "false",
   "bootargs" : "",
   "bootdisk" : {
      "blocksize" : "8K",
      "path" : "rpool/hdd-bhyve",
      "size" : "10G",
      "sparse" : "false"
   },
   "bootrom" : "BHYVE",
   "brand" : "bhyve",
   "cloud-init" : "off",
   "device" : [
      {
         "match" : "/dev/zvol/rdsk/rpool/hdd-bhyve99"
      }
   ],
   "disk" : [
      {
         "blocksize" : "8K",
         "path" : "rpool/hdd-bhyve0",
         "size" : "10G",
         "sparse" : "false"
      },
      {
         "blocksize" : "8K",
         "path" : "rpool/hdd-bhyve1",
         "size" : "10G",
         "sparse" : "false"
      },
      null,
      null,
      null,
      {
         "blocksize" : "8K",
         "path" : "rpool/hdd-bhyve5",
         "size" : "10G",
         "sparse" : "false"
      }
   ],
   "diskif" : "virtio",
   "extra" : "-s 7,nvme,ram=1024",
   "fs-allowed" : "",
   "hostbridge" : "i440fx",
   "hostid" : "",
   "ip-type" : "exclusive",
   "limitpriv" : "default",
   "netif" : "virtio",
   "pool" : "",
   "ram" : "1G",
   "rng" : "off",
   "scheduling-class" : "",
   "type" : "generic",
   "uefivars" : "on",
   "vcpus" : "1",
   "xhci" : "off",
   "zonename" : "bhyve",
   "zonepath" : "/zones/bhyve"
}
`;

describe('zadm show', () => {
  it('reads properties, single resources as hashes and arrays with empty slots', () => {
    const config = parseZadmShow(ZADM_SHOW_BHYVE);
    assert.equal(config.properties.brand, 'bhyve');
    assert.equal(config.properties.zonepath, '/zones/bhyve');
    assert.equal(config.properties.bootargs, '', 'an unset global stays a property');
    assert.deepEqual(config.resources.bootdisk, [
      { blocksize: '8K', path: 'rpool/hdd-bhyve', size: '10G', sparse: 'false' },
    ]);
    assert.deepEqual(
      config.resources.disk.map((d) => d.path),
      ['rpool/hdd-bhyve0', 'rpool/hdd-bhyve1', 'rpool/hdd-bhyve5'],
      'the null slots are dropped',
    );
    assert.deepEqual(config.resources.attr, [{ name: 'testattr', type: 'string', value: 'not known to brand' }]);
    assert.deepEqual(zoneSizing(config), { ram: '1G', vcpus: 1, autoboot: false, nets: [] });
  });

  it('refuses output that is not a configuration', () => {
    assert.throws(() => parseZadmShow('ERROR: zone nope does not exist\n'), /no JSON/);
    assert.throws(() => parseZadmShow('[]'), /not a zone configuration/);
  });

  it('sizes a zone the same from zonecfg info (attrs, caps, topologies)', () => {
    const info = parseZonecfgInfo(
      [
        'zonename: web',
        'brand: bhyve',
        'autoboot: true',
        'net:',
        '\tphysical: web0',
        'attr:',
        '\tname: ram',
        '\ttype: string',
        '\tvalue: 4G',
        'attr:',
        '\tname: vcpus',
        '\ttype: string',
        '\tvalue: sockets=1,cores=2,threads=2',
        '',
      ].join('\n'),
    );
    assert.deepEqual(zoneSizing(info), { ram: '4G', vcpus: 4, autoboot: true, nets: ['web0'] });
    const native = parseZonecfgInfo('zonename: n\ncapped-memory:\n\tphysical: 512M\ncapped-cpu:\n\t[ncpus: 1.5]\n');
    assert.deepEqual(zoneSizing(native), { ram: '512M', vcpus: 2, autoboot: null, nets: [] });
  });

  it('the simulated zadm prints the same format, and zonecfg info agrees with it', async () => {
    const host = simHost();
    const cfg = join(host.state, '..', 'vm1.cfg');
    writeFileSync(
      cfg,
      [
        'create -b',
        `set zonepath=${host.zonepathRoot}/vm1`,
        'set brand=bhyve',
        'add net',
        'set physical=vm1net0',
        'end',
        'add attr',
        'set name=ram',
        'set type=string',
        'set value=2G',
        'end',
        'add attr',
        'set name=vcpus',
        'set type=string',
        'set value=2',
        'end',
        'add attr',
        'set name=note',
        'set type=string',
        'set value=kept',
        'end',
        '',
      ].join('\n'),
    );
    await host.exec.run(['zonecfg', '-z', 'vm1', '-f', cfg]);
    const text = await host.exec.stdout(['zadm', 'show', 'vm1']);
    assert.match(
      text,
      /^\{\n {3}"attr" : \[\n {6}\{\n {9}"name" : "note",\n[^]*\n {3}"autoboot" : "false",\n {3}"bootargs" : "",\n/,
      'sorted keys, 3-space indent, " : "',
    );
    assert.match(text, /\n {3}"ram" : "2G",\n/, 'bhyve attrs are properties');
    const config = parseZadmShow(text);
    assert.deepEqual(config.resources.attr, [{ name: 'note', type: 'string', value: 'kept' }]);
    const fromInfo = parseZonecfgInfo(await host.exec.stdout(['zonecfg', '-z', 'vm1', 'info']));
    assert.deepEqual(zoneSizing(config), zoneSizing(fromInfo));
    assert.deepEqual(zoneSizing(config), { ram: '2G', vcpus: 2, autoboot: false, nets: ['vm1net0'] });
  });
});

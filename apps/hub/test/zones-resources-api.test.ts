import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { HOST_RESOURCE_ROUTES } from '../src/zones/host-resource-routes';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';

const SIM_BIN = join(__dirname, '../../../agent/test/sim-tools/bin');
const INJECTIONS = ['x;id', '$(id)', '`id`', 'a b', '../x', 'a\nb', '-x'];

describe('host resource paths: /v1/nodes/{id}/zones|bootenvs|network|storage|system → host operations', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  const state = join(mkdtempSync(join(tmpdir(), 'hp-hres-')), 's');
  const simEnv = { ...process.env, PATH: `${SIM_BIN}:${process.env.PATH ?? ''}`, HOSTPLANE_SIM_STATE: state };
  const sim = (argv: string[]) => execFileSync(argv[0], argv.slice(1), { env: simEnv, encoding: 'utf8' });
  /** Configures (and installs) a zone behind the agent's back, as an operator at the console would. */
  const makeZone = (name: string, brand: string, attrs: Record<string, string>, install = true) => {
    const file = join(state, '..', `${name}.cfg`);
    const attrLines = Object.entries(attrs).flatMap(([k, v]) => [
      'add attr',
      `set name=${k}`,
      'set type=string',
      `set value=${v}`,
      'end',
    ]);
    writeFileSync(
      file,
      ['create -b', `set zonepath=${state}/zones/${name}`, `set brand=${brand}`, ...attrLines, ''].join('\n'),
    );
    sim(['zonecfg', '-z', name, '-f', file]);
    if (install) sim(['zoneadm', '-z', name, 'install']);
  };
  // The driver's availability probe (`zoneadm list -c -p`) runs on its own.
  const calls = () =>
    existsSync(join(state, 'calls.log'))
      ? readFileSync(join(state, 'calls.log'), 'utf8')
          .split('\n')
          .filter((l) => l && !l.includes('"list","-c","-p"]'))
      : [];
  /** Waits out the inventory refresh an earlier write started: no new call for 3 s. */
  const settled = async () => {
    let last = -1;
    for (;;) {
      const n = calls().length;
      if (n === last) return n;
      last = n;
      await new Promise((r) => setTimeout(r, 3000));
    }
  };
  const url = (path: string) => `/v1/nodes/${node.id}/${path}`;
  const seen = new Set<string>();

  before(async () => {
    mkdirSync(state, { recursive: true });
    makeZone('web01', 'bhyve', { ram: '2G', vcpus: '2' });
    makeZone('base', 'lipkg', {});
    // ~120 simulated tool runs on a shared machine: a busy agent misses 1 s heartbeats, and 3 missed is offline.
    ctx = await IdentityContext.start({ env: { ...FAST_JOBS_ENV, HOSTPLANE_AGENT_OFFLINE_AFTER_MISSED: '20' } });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, {
      PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOSTPLANE_SIM_STATE: state,
      HOSTPLANE_AGENT_ZONE_ENABLED: 'on',
      HOSTPLANE_AGENT_ZONE_ZONEPATH_ROOT: join(state, 'zones'),
      HOSTPLANE_AGENT_ZONE_CONSOLE_LOG_DIR: join(state, 'var', 'log', 'zones'),
      // Only the session start and the agent's own writes send the inventory in this test.
      HOSTPLANE_AGENT_INVENTORY_CHECK_INTERVAL_MS: '3600000',
    });
    node.start();
    await node.waitStatus('online');
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  /** `template` as in the route table; `:name` segments filled from `values`, URL-encoded. */
  const fill = (template: string, values: Record<string, string>) =>
    template.replace(/:([a-z_]+)/g, (_m, k: string) => encodeURIComponent(values[k]));

  /** The documented 200 schema of each read that declares its `data`, compiled from the served OpenAPI document. */
  const documented = new Map<string, ValidateFunction>();
  const responseValidator = async (template: string) => {
    if (documented.size === 0) {
      const doc = (await owner.request('/openapi.json')).body;
      const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
      for (const r of HOST_RESOURCE_ROUTES.filter((x) => x.method === 'GET' && x.data)) {
        const schema =
          doc.paths[`/v1/nodes/{id}/${r.path.replace(/:([a-z_]+)/g, '{$1}')}`].get.responses['200'].content[
            'application/json'
          ].schema;
        documented.set(r.path, ajv.compile(schema));
      }
    }
    return documented.get(template);
  };
  const read = async (template: string, values: Record<string, string>, operation: string, query = '') => {
    seen.add(`GET ${template}`);
    const r = await owner.request(url(fill(template, values)) + query);
    assert.equal(r.status, 200, `GET ${template}: ${r.text}`);
    assert.equal(r.body.operation, operation, `GET ${template} runs ${operation}`);
    const validate = await responseValidator(template);
    if (validate)
      assert.ok(validate(r.body), `GET ${template}${query} answers as documented: ${JSON.stringify(validate.errors)}`);
    return r.body;
  };
  const write = async (
    method: 'POST' | 'PATCH' | 'DELETE',
    template: string,
    values: Record<string, string>,
    operation: string,
    json?: Record<string, unknown>,
    query = '',
  ) => {
    seen.add(`${method} ${template}`);
    const r = await owner.request(url(fill(template, values)) + query, { method, ...(json ? { json } : {}) });
    assert.equal(r.status, 202, `${method} ${template}: ${r.text}`);
    assert.equal(r.headers.get('location'), `/v1/operations/${r.body.id}`);
    const done = await waitForOperation(owner, r.body.id, 60_000);
    assert.equal(done.status, 'succeeded', `${method} ${template}: ${JSON.stringify(done)}`);
    assert.equal(done.result.operation, operation, `${method} ${template} runs ${operation}`);
    return done.result.data;
  };

  it('serves list and get reads from the last inventory, and from the host with ?live=true', async () => {
    const first = await waitFor('the illumos inventory', async () => {
      const r = await owner.request(url('zones'));
      return r.status === 200 && r.body.source === 'inventory' ? r.body : undefined;
    });
    const web01 = first.data.find((z: { name: string }) => z.name === 'web01');
    assert.deepEqual(
      [web01.brand, web01.state, web01.ram, web01.vcpus, web01.autoboot],
      ['bhyve', 'installed', '2G', 2, false],
      'the inventory carries each zone with its memory and CPUs',
    );
    const inventoryAt = first.as_of;
    assert.ok(Date.parse(inventoryAt) > 0);

    makeZone('outside', 'lipkg', {}, false);
    const before = calls().length;
    const cached = await read('zones', {}, 'zones.list');
    assert.equal(cached.source, 'inventory');
    assert.equal(cached.as_of, inventoryAt);
    assert.ok(!cached.data.some((z: { name: string }) => z.name === 'outside'), 'the inventory predates it');
    assert.equal(calls().length, before, 'an inventory read runs nothing on the host');
    const one = await read('zones/:zone', { zone: 'web01' }, 'zones.get');
    assert.deepEqual([one.source, one.data.ram], ['inventory', '2G']);
    assert.equal(
      (await owner.request(url('zones/nothere'))).body.code,
      'host_resource_not_found',
      'a name missing from a complete inventory list is 404',
    );

    const live = await read('zones', {}, 'zones.list', '?live=true');
    assert.equal(live.source, 'live');
    assert.ok(Date.parse(live.as_of) >= Date.parse(inventoryAt));
    assert.ok(
      live.data.some((z: { name: string }) => z.name === 'outside'),
      'a live read sees the host now',
    );
    const liveOne = await read('zones/:zone', { zone: 'web01' }, 'zones.get', '?live=true');
    assert.equal(liveOne.source, 'live');
    assert.deepEqual([liveOne.data.ram, liveOne.data.vcpus], ['2G', 2]);
    assert.equal(liveOne.data.config.properties.ram, '2G', 'zones.get reads zadm show, which lifts bhyve attrs');
    assert.ok(calls().length > before, 'live reads ran commands');
    const beforeMissing = calls().length;
    const missing = await owner.request(url('zones/nothere?live=true'));
    assert.deepEqual(
      [missing.status, missing.body.code, missing.body.field],
      [404, 'host_resource_not_found', 'zone'],
      `a live read of a zone the host does not have is 404 like the inventory's: ${missing.text}`,
    );
    assert.ok(
      calls()
        .slice(beforeMissing)
        .some((l) => l.includes('"nothere"')),
      'the host was asked (zoneadm said "No such zone configured")',
    );
    assert.equal((await owner.request(url('zones?live=maybe'))).body.field, 'live');

    // A write made through the hub refreshes the inventory without waiting for the next check.
    await write('POST', 'zones/:zone/start', { zone: 'web01' }, 'zones.start');
    const after = await waitFor(
      'an inventory with the change',
      async () => {
        const r = await owner.request(url('zones'));
        const z = r.body.data?.find((x: { name: string }) => x.name === 'web01');
        return r.body.source === 'inventory' && z?.state === 'running' ? r.body : undefined;
      },
      30_000,
      200,
    );
    assert.ok(Date.parse(after.as_of) > Date.parse(inventoryAt));
    assert.ok(after.data.some((z: { name: string }) => z.name === 'outside'));
    await write('POST', 'zones/:zone/halt', { zone: 'web01' }, 'zones.halt');
    await write('DELETE', 'zones/:zone', { zone: 'outside' }, 'zones.delete');

    const vnics = await read('network/vnics', {}, 'network.vnics.list');
    assert.equal(vnics.source, 'inventory');
    const pools = await read('storage/pools', {}, 'storage.pools.list');
    assert.deepEqual([pools.source, pools.data[0].name], ['inventory', 'rpool']);
    const pool = await read('storage/pools/:pool', { pool: 'rpool' }, 'storage.pools.list');
    assert.equal(pool.data.health, 'ONLINE');
    assert.equal(
      (await read('storage/pools/:pool', { pool: 'rpool' }, 'storage.pools.list', '?live=true')).source,
      'live',
    );
    const zonesDs = await read('storage/datasets', {}, 'storage.datasets.list', '?root=rpool/zones');
    assert.equal(zonesDs.source, 'inventory');
    assert.ok(zonesDs.data.length > 0);
    assert.ok(
      zonesDs.data.every((d: { name: string }) => d.name.startsWith('rpool/zones')),
      'root filters the inventory',
    );
    const ds = await read('storage/datasets/:dataset', { dataset: 'rpool/zones' }, 'storage.datasets.get');
    assert.deepEqual([ds.source, ds.data.name], ['inventory', 'rpool/zones']);
  });

  it('maps every resource path onto its operation and returns its result', async () => {
    const z = `${state}/zones`;
    assert.equal(
      (await read('zones/:zone/config', { zone: 'base' }, 'zones.config.get')).data.properties.brand,
      'lipkg',
    );
    assert.equal(
      (
        await write('PATCH', 'zones/:zone/config', { zone: 'base' }, 'zones.config.update', {
          properties: { autoboot: 'true' },
        })
      ).properties.autoboot,
      'true',
    );
    await write('POST', 'zones/:zone/clone', { zone: 'base' }, 'zones.clone', { name: 'copy', zonepath: `${z}/copy` });
    await write('POST', 'zones/:zone/start', { zone: 'copy' }, 'zones.start');
    await write('POST', 'zones/:zone/restart', { zone: 'copy' }, 'zones.restart');
    await write('POST', 'zones/:zone/stop', { zone: 'copy' }, 'zones.stop');
    await write('DELETE', 'zones/:zone', { zone: 'copy' }, 'zones.delete');

    await write('POST', 'bootenvs', {}, 'bootenvs.create', { name: 'pre-update', from: 'omnios-r151046' });
    await write('POST', 'bootenvs/:name/mount', { name: 'pre-update' }, 'bootenvs.mount', { mountpoint: '/mnt/be' });
    assert.equal(
      (await read('bootenvs', {}, 'bootenvs.list')).data.find((b: { name: string }) => b.name === 'pre-update')
        .mountpoint,
      '/mnt/be',
    );
    await write('POST', 'bootenvs/:name/unmount', { name: 'pre-update' }, 'bootenvs.unmount');
    await write('POST', 'bootenvs/:name/activate', { name: 'pre-update' }, 'bootenvs.activate');
    await write('POST', 'bootenvs/:name/activate', { name: 'omnios-r151046' }, 'bootenvs.activate');
    await write('DELETE', 'bootenvs/:name', { name: 'pre-update' }, 'bootenvs.destroy');

    await write('POST', 'network/etherstubs', {}, 'network.etherstubs.create', { name: 'stub0' });
    assert.deepEqual((await read('network/etherstubs', {}, 'network.etherstubs.list')).data, [{ link: 'stub0' }]);
    const vnic = await write('POST', 'network/vnics', {}, 'network.vnics.create', {
      name: 'web0',
      over: 'stub0',
      vlan_id: 30,
      properties: { maxbw: '100M' },
    });
    assert.deepEqual([vnic.link, vnic.vlan_id], ['web0', 30]);
    assert.equal(
      (await read('network/vnics/:name', { name: 'web0' }, 'network.vnics.list', '?live=true')).data.over,
      'stub0',
    );
    assert.equal((await read('network/vnics/:name/stats', { name: 'web0' }, 'network.vnics.stats')).data.link, 'web0');
    const props = await write('PATCH', 'network/vnics/:name/properties', { name: 'web0' }, 'network.linkprops.set', {
      properties: { priority: 'low' },
    });
    assert.equal(props.find((p: { property: string }) => p.property === 'priority').value, 'low');
    assert.equal(
      (await read('network/vnics/:name/properties', { name: 'web0' }, 'network.linkprops.get')).data.find(
        (p: { property: string }) => p.property === 'maxbw',
      ).value,
      '100M',
    );
    await write('POST', 'network/vlans', {}, 'network.vlans.create', { name: 'vlan10', over: 'e1000g0', vlan_id: 10 });
    assert.equal((await read('network/vlans', {}, 'network.vlans.list')).data[0].vlan_id, 10);
    await write('POST', 'network/bridges', {}, 'network.bridges.create', { name: 'br0', link: 'e1000g0' });
    await write('POST', 'network/bridges/:name/links', { name: 'br0' }, 'network.bridges.add-link', { link: 'vlan10' });
    await write(
      'DELETE',
      'network/bridges/:name/links/:link',
      { name: 'br0', link: 'vlan10' },
      'network.bridges.remove-link',
    );
    await write(
      'DELETE',
      'network/bridges/:name/links/:link',
      { name: 'br0', link: 'e1000g0' },
      'network.bridges.remove-link',
    );
    assert.equal((await read('network/bridges', {}, 'network.bridges.list')).data[0].bridge, 'br0');
    await write('DELETE', 'network/bridges/:name', { name: 'br0' }, 'network.bridges.delete');
    assert.equal((await read('network/aggregates', {}, 'network.aggregates.list')).data[0].link, 'aggr0');
    await write('POST', 'network/addresses', {}, 'network.addresses.create', {
      addrobj: 'web0/v4',
      address: '10.0.0.5/24',
    });
    assert.ok(
      (await read('network/addresses', {}, 'network.addresses.list')).data.some(
        (a: { address: string }) => a.address === '10.0.0.5/24',
      ),
    );
    assert.ok(
      (await read('network/routes', {}, 'network.routes.list')).data.some(
        (r: { destination: string }) => r.destination === 'default',
      ),
    );
    await write('DELETE', 'network/addresses/:addrobj', { addrobj: 'web0/v4' }, 'network.addresses.delete');
    await write('DELETE', 'network/vlans/:name', { name: 'vlan10' }, 'network.vlans.delete');
    await write('DELETE', 'network/vnics/:name', { name: 'web0' }, 'network.vnics.delete');
    await write('DELETE', 'network/etherstubs/:name', { name: 'stub0' }, 'network.etherstubs.delete');

    // Dataset names travel in one path segment, '/' URL-encoded as %2F.
    const created = await write('POST', 'storage/datasets', {}, 'storage.datasets.create', {
      dataset: 'rpool/data',
      properties: { compression: 'lz4' },
    });
    assert.equal(created.name, 'rpool/data');
    const raw = await owner.request(url('storage/datasets/rpool%2Fdata?live=true'));
    assert.deepEqual([raw.status, raw.body.data.name, raw.body.source], [200, 'rpool/data', 'live']);
    assert.equal(
      (await read('storage/datasets', {}, 'storage.datasets.list', '?live=true&root=rpool/data')).data[0].name,
      'rpool/data',
    );
    await write(
      'PATCH',
      'storage/datasets/:dataset/properties',
      { dataset: 'rpool/data' },
      'storage.datasets.properties.set',
      {
        properties: { quota: '10G' },
      },
    );
    assert.equal(
      (
        await read(
          'storage/datasets/:dataset/properties',
          { dataset: 'rpool/data' },
          'storage.datasets.properties.get',
          '?names=compression',
        )
      ).data[0].value,
      'lz4',
    );
    await write('POST', 'storage/datasets/:dataset/snapshots', { dataset: 'rpool/data' }, 'storage.snapshots.create', {
      name: 'daily-1',
    });
    assert.equal(
      (await read('storage/datasets/:dataset/snapshots', { dataset: 'rpool/data' }, 'storage.snapshots.list')).data[0]
        .name,
      'rpool/data@daily-1',
    );
    assert.ok(
      (await read('storage/snapshots', {}, 'storage.snapshots.list')).data.some(
        (s: { name: string }) => s.name === 'rpool/data@daily-1',
      ),
    );
    const snap = { snapshot: 'rpool/data@daily-1' };
    await write('POST', 'storage/snapshots/:snapshot/holds', snap, 'storage.snapshots.hold', { tag: 'keep' });
    assert.equal(
      (await read('storage/snapshots/:snapshot/holds', snap, 'storage.snapshots.holds')).data[0].tag,
      'keep',
    );
    await write(
      'DELETE',
      'storage/snapshots/:snapshot/holds/:tag',
      { ...snap, tag: 'keep' },
      'storage.snapshots.release',
    );
    await write('POST', 'storage/snapshots/:snapshot/rollback', snap, 'storage.snapshots.rollback', {});
    await write('POST', 'storage/snapshots/:snapshot/clone', snap, 'storage.datasets.clone', { to: 'rpool/data-copy' });
    await write(
      'POST',
      'storage/datasets/:dataset/promote',
      { dataset: 'rpool/data-copy' },
      'storage.datasets.promote',
    );
    await write('POST', 'storage/datasets/:dataset/rename', { dataset: 'rpool/data' }, 'storage.datasets.rename', {
      to: 'rpool/data-old',
    });
    await write(
      'DELETE',
      'storage/datasets/:dataset',
      { dataset: 'rpool/data-old' },
      'storage.datasets.delete',
      undefined,
      '?recursive=true',
    );
    await write(
      'DELETE',
      'storage/snapshots/:snapshot',
      { snapshot: 'rpool/data-copy@daily-1' },
      'storage.snapshots.delete',
    );
    assert.equal(
      (await read('storage/pools/:pool/status', { pool: 'rpool' }, 'storage.pools.status')).data.state,
      'ONLINE',
    );
    assert.ok(
      (await read('storage/pools/:pool/properties', { pool: 'rpool' }, 'storage.pools.properties')).data.some(
        (p: { property: string }) => p.property === 'health',
      ),
    );
    await write('POST', 'storage/pools/:pool/scrub', { pool: 'rpool' }, 'storage.pools.scrub', {});
    assert.equal(
      (await read('storage/pools/:pool/iostat', { pool: 'rpool' }, 'storage.pools.iostat')).data.pool,
      'rpool',
    );
    sim(['zfs', 'create', '-V', '1G', 'rpool/swap2']);
    await write('POST', 'storage/swap', {}, 'storage.swap.add', { volume: 'rpool/swap2' });
    assert.equal((await read('storage/swap', {}, 'storage.swap.list')).data.length, 2);
    await write('DELETE', 'storage/swap/:volume', { volume: 'rpool/swap2' }, 'storage.swap.remove');
    assert.ok((await read('storage/swap/summary', {}, 'storage.swap.summary')).data.available_bytes > 0);
    assert.ok((await read('storage/arc', {}, 'storage.arc')).data.size > 0);

    assert.ok(
      (await read('system/packages', {}, 'system.packages.list')).data.some(
        (p: { name: string }) => p.name === 'network/openssh',
      ),
    );
    assert.equal(
      (await read('system/packages/search', {}, 'system.packages.search', '?term=nginx')).data[0].fmri,
      'pkg:/web/server/nginx@1.24.0-151046.0',
    );
    const nginx = { name: 'web/server/nginx' };
    assert.equal((await read('system/packages/:name', nginx, 'system.packages.info')).data.state, 'Not installed');
    assert.equal((await write('POST', 'system/packages', {}, 'system.packages.install', nginx)).changed, true);
    await write('DELETE', 'system/packages/:name', nginx, 'system.packages.uninstall');
    assert.deepEqual(
      (await read('system/updates', {}, 'system.updates.check')).data.map((p: { name: string }) => p.name),
      ['network/openssh'],
    );
    assert.equal((await write('POST', 'system/updates/apply', {}, 'system.updates.apply')).changed, true);
    assert.ok(
      (await read('system/services', {}, 'system.services.list', '?all=true')).data.some(
        (s: { state: string }) => s.state === 'disabled',
      ),
    );
    await write('POST', 'system/services/:fmri/enable', { fmri: 'svc:/network/ntp:default' }, 'system.services.enable');
    await write('POST', 'system/services/:fmri/restart', { fmri: 'network/ntp' }, 'system.services.restart');
    await write('POST', 'system/services/:fmri/refresh', { fmri: 'network/ntp' }, 'system.services.refresh');
    await write('POST', 'system/services/:fmri/disable', { fmri: 'network/ntp' }, 'system.services.disable');
    await write(
      'POST',
      'system/services/:fmri/clear',
      { fmri: 'svc:/application/pkg/server:default' },
      'system.services.clear',
    );
    assert.ok((await read('system/metrics', {}, 'system.metrics')).data.memory_total_bytes > 0);

    assert.deepEqual(
      HOST_RESOURCE_ROUTES.map((r) => `${r.method} ${r.path}`).filter((k) => !seen.has(k)),
      [],
      'every resource path was exercised',
    );
  });

  it('refuses injection strings in path segments, query and body with 400 naming the field, running nothing', async () => {
    const before = await settled();
    const cases: { method: string; template: string; field: string; values?: Record<string, string>; json?: object }[] =
      [
        { method: 'GET', template: 'zones/:zone', field: 'zone' },
        { method: 'GET', template: 'zones/:zone/config', field: 'zone' },
        { method: 'POST', template: 'zones/:zone/start', field: 'zone' },
        { method: 'POST', template: 'zones/:zone/clone', field: 'zone', json: { name: 'c1', zonepath: '/zones/c1' } },
        { method: 'DELETE', template: 'zones/:zone', field: 'zone' },
        { method: 'GET', template: 'network/vnics/:name', field: 'name' },
        {
          method: 'PATCH',
          template: 'network/vnics/:name/properties',
          field: 'name',
          json: { properties: { mtu: '1500' } },
        },
        { method: 'DELETE', template: 'network/bridges/:name/links/:link', field: 'link', values: { name: 'br0' } },
        { method: 'GET', template: 'storage/datasets/:dataset', field: 'dataset' },
        { method: 'DELETE', template: 'storage/snapshots/:snapshot', field: 'snapshot' },
        { method: 'GET', template: 'storage/pools/:pool/status', field: 'pool' },
        { method: 'POST', template: 'system/services/:fmri/enable', field: 'fmri' },
        { method: 'DELETE', template: 'system/packages/:name', field: 'name' },
      ];
    for (const c of cases) {
      for (const bad of INJECTIONS) {
        const path = fill(c.template, { ...c.values, [c.field]: bad });
        const r = await owner.request(url(path), { method: c.method, ...(c.json ? { json: c.json } : {}) });
        assert.equal(r.status, 400, `${c.method} ${c.template} ${c.field}=${JSON.stringify(bad)}: ${r.text}`);
        assert.deepEqual(
          [r.body.code, r.body.field],
          ['invalid_argument', c.field],
          `${c.template} ${JSON.stringify(bad)}`,
        );
      }
    }
    for (const bad of INJECTIONS) {
      const q = encodeURIComponent(bad);
      for (const [path, field] of [
        [`storage/datasets?root=${q}`, 'root'],
        [`storage/datasets?live=true&root=${q}`, 'root'],
        [`system/packages/search?term=${q}`, 'term'],
        [`storage/datasets/rpool%2Fzones/properties?names=${q}`, 'names[0]'],
        [`zones?${q}=1`, bad],
      ] as const) {
        const r = await owner.request(url(path));
        assert.equal(r.status, 400, `${path}: ${r.text}`);
        assert.equal(r.body.field, field, path);
      }
      const body = await owner.request(url('network/vnics'), { method: 'POST', json: { name: 'web9', over: bad } });
      assert.deepEqual([body.status, body.body.field], [400, 'over']);
      const props = await owner.request(url('storage/datasets/rpool%2Fzones/properties'), {
        method: 'PATCH',
        json: { properties: { compression: bad } },
      });
      assert.deepEqual([props.status, props.body.field], [400, 'properties.compression']);
    }
    const again = await owner.request(url('zones/web01/start'), { method: 'POST', json: { zone: 'base' } });
    assert.deepEqual([again.status, again.body.field], [400, 'zone'], 'a path parameter is not taken from the body');
    const made = calls().slice(before);
    assert.deepEqual(made, [], 'the simulated tools recorded no call');
  });

  it("another organization's node is 404, a viewer without zones.read 403, and OpenAPI lists every path", async () => {
    const other = await ctx.newOrg();
    const outsider = other.owner.inOrg(other.id);
    assert.equal((await outsider.request(url('zones'))).status, 404);
    assert.equal((await outsider.request(url('zones/web01?live=true'))).status, 404);
    assert.equal((await outsider.request(url('storage/datasets/rpool%2Fzones'))).status, 404);
    assert.equal((await outsider.request(url('zones/web01/start'), { method: 'POST' })).status, 404);
    assert.equal((await outsider.request(url('storage/datasets/rpool%2Fzones'), { method: 'DELETE' })).status, 404);
    const viewer = await ctx.addMember({ id: ctx.admin.personalOrgId, owner }, 'viewer');
    assert.equal((await viewer.request(url('zones'))).status, 403);
    assert.equal((await viewer.request(url('zones/web01/start'), { method: 'POST' })).status, 403);

    const doc = (await owner.request('/openapi.json')).body;
    for (const r of HOST_RESOURCE_ROUTES) {
      const path = `/v1/nodes/{id}/${r.path.replace(/:([a-z_]+)/g, '{$1}')}`;
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${path} is documented`);
      assert.equal(op['x-permission'], r.method === 'GET' ? 'zones.read' : 'zones.manage', path);
      const names = op.parameters.filter((p: { in?: string }) => p.in === 'path').map((p: { name: string }) => p.name);
      assert.deepEqual(names, ['id', ...[...r.path.matchAll(/:([a-z_]+)/g)].map((m) => m[1])], path);
      assert.match(op.responses['400'].description, /invalid_argument/, path);
      assert.ok(op.responses[r.method === 'GET' ? '200' : '202'], path);
      if (r.data)
        assert.ok(
          op.responses['200'].content['application/json'].schema.properties.data,
          `${path} documents the shape of its data`,
        );
    }
    assert.deepEqual(
      HOST_RESOURCE_ROUTES.filter((r) => r.data).map((r) => r.path),
      ['zones', 'zones/:zone', 'zones/:zone/config', 'bootenvs'],
      'the zone and boot environment reads document their answers',
    );
  });
});

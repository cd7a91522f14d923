import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, registerNode, TestNode, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';

const SIM_BIN = join(__dirname, '../../../agent/test/sim-tools/bin');
const INJECTIONS = ['x;id', '$(id)', '`id`', 'a b', '../x', 'a\nb', '-x'];

describe('host operations API: hub → host.operation job → agent → simulated illumos tools', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  const state = join(mkdtempSync(join(tmpdir(), 'hp-hsim-')), 's');
  // The driver's availability probe (`zoneadm list -c -p`, at hello and reconciliation) runs on its own.
  const calls = () =>
    existsSync(join(state, 'calls.log'))
      ? readFileSync(join(state, 'calls.log'), 'utf8')
          .split('\n')
          .filter(
            (l) => l && !l.includes('"argv":["zoneadm","list","-c","-p"]') && !l.includes('"argv":["list","-c","-p"]'),
          ).length
      : 0;
  const host = (op: string) => `/v1/nodes/${node.id}/host/${op}`;

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, {
      PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOSTPLANE_SIM_STATE: state,
      HOSTPLANE_AGENT_ZONE_ENABLED: 'on',
      HOSTPLANE_AGENT_ZONE_ZONEPATH_ROOT: join(state, 'zones'),
      HOSTPLANE_AGENT_ZONE_CONSOLE_LOG_DIR: join(state, 'var', 'log', 'zones'),
    });
    node.start();
    await node.waitStatus('online');
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  it('reads live and writes as operations, for zones, boot environments, network, storage and system', async () => {
    const read = async (op: string, query = '') => {
      const r = await owner.request(`${host(op)}${query}`);
      assert.equal(r.status, 200, `${op}: ${r.text}`);
      return r.body.data;
    };
    const write = async (op: string, json: Record<string, unknown>) => {
      const r = await owner.request(host(op), { method: 'POST', json });
      assert.equal(r.status, 202, `${op}: ${r.text}`);
      assert.equal(r.headers.get('location'), `/v1/operations/${r.body.id}`);
      const done = await waitForOperation(owner, r.body.id, 60_000);
      assert.equal(done.status, 'succeeded', `${op}: ${JSON.stringify(done)}`);
      return done.result.data;
    };
    assert.deepEqual(await read('zones.list'), []);
    assert.equal((await read('storage.pools.list'))[0].health, 'ONLINE');
    assert.equal(
      (await write('storage.datasets.create', { dataset: 'rpool/data', properties: { compression: 'lz4' } })).name,
      'rpool/data',
    );
    assert.equal(
      (await read('storage.datasets.properties.get', '?dataset=rpool/data&names=compression'))[0].value,
      'lz4',
    );
    await write('storage.snapshots.create', { dataset: 'rpool/data', name: 'daily-1' });
    assert.equal((await read('storage.snapshots.list', '?dataset=rpool/data'))[0].name, 'rpool/data@daily-1');
    await write('network.etherstubs.create', { name: 'stub0' });
    assert.equal((await write('network.vnics.create', { name: 'web0', over: 'stub0', vlan_id: 30 })).vlan_id, 30);
    assert.equal((await read('network.vnics.list'))[0].link, 'web0');
    assert.ok((await read('bootenvs.list')).some((b: { active_now: boolean }) => b.active_now));
    assert.ok((await read('system.services.list', '?all=true')).some((s: { state: string }) => s.state === 'disabled'));
    await write('system.services.enable', { fmri: 'network/ntp' });
    assert.ok((await read('system.metrics')).memory_total_bytes > 0);

    const failed = await owner.request(host('network.vnics.create'), {
      method: 'POST',
      json: { name: 'web0', over: 'stub0' },
    });
    assert.equal(
      (await waitForOperation(owner, failed.body.id, 60_000)).error.code,
      'host_command_failed',
      'a failing tool fails the operation with its message',
    );
    assert.equal((await owner.request(host('zones.start'))).status, 405);
    assert.equal((await owner.request(host('zones.nothing'))).status, 404);
  });

  it('refuses injection strings with 400 naming the field, and the tools record no call', async () => {
    // The inventory refresh the agent starts after a host write runs commands of its own: wait it out.
    let before = -1;
    while (before !== calls()) {
      before = calls();
      await new Promise((r) => setTimeout(r, 3000));
    }
    const cases: [string, 'GET' | 'POST', string][] = [
      ['zones.get', 'GET', 'zone'],
      ['storage.datasets.get', 'GET', 'dataset'],
      ['zones.start', 'POST', 'zone'],
      ['storage.datasets.create', 'POST', 'dataset'],
      ['storage.snapshots.create', 'POST', 'name'],
      ['network.vnics.create', 'POST', 'over'],
      ['system.packages.install', 'POST', 'name'],
      ['bootenvs.mount', 'POST', 'mountpoint'],
    ];
    const valid: Record<string, Record<string, unknown>> = {
      'storage.snapshots.create': { dataset: 'rpool/data' },
      'network.vnics.create': { name: 'web1' },
      'bootenvs.mount': { name: 'omnios-r151046' },
    };
    for (const [op, method, field] of cases) {
      for (const bad of INJECTIONS) {
        const r =
          method === 'GET'
            ? await owner.request(`${host(op)}?${field}=${encodeURIComponent(bad)}`)
            : await owner.request(host(op), { method: 'POST', json: { ...valid[op], [field]: bad } });
        assert.equal(r.status, 400, `${op} ${field}=${JSON.stringify(bad)}: ${r.text}`);
        assert.equal(r.body.code, 'invalid_argument');
        assert.equal(r.body.field, field);
      }
    }
    const props = await owner.request(host('storage.datasets.properties.set'), {
      method: 'POST',
      json: { dataset: 'rpool/data', properties: { compression: 'lz4;id' } },
    });
    assert.equal(props.status, 400);
    assert.equal(props.body.field, 'properties.compression');
    assert.equal(calls(), before, 'no host command ran');
  });

  it("another organization's node is 404, and a viewer without zones.read is refused", async () => {
    const other = await ctx.newOrg();
    const outsider = other.owner.inOrg(other.id);
    assert.equal((await outsider.request(host('zones.list'))).status, 404);
    assert.equal((await outsider.request(host('zones.start'), { method: 'POST', json: { zone: 'web' } })).status, 404);
    const viewer = await ctx.addMember({ id: ctx.admin.personalOrgId, owner }, 'viewer');
    assert.equal((await viewer.request(host('zones.list'))).status, 403);
  });
});

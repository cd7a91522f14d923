import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';

/** A free-ish range of this run's own, so parallel runs on one machine do not bind each other's ports. */
const BASE = 20_000 + Math.floor(Math.random() * 400) * 20;
const POOL = 12;

/** Answers "port N" on SERVER_IP:SERVER_PORT (it declares no ports: {{SERVER_PORT}} gives it a primary allocation). */
const LISTENER = {
  name: 'port-echo',
  driver: 'process',
  startup: `echo "binding {{SERVER_IP}}:{{SERVER_PORT}}"; exec ${process.execPath} -e "require('net').createServer((s) => s.end('port ' + process.env.SERVER_PORT)).listen(+process.env.SERVER_PORT, process.env.SERVER_IP, () => console.log('listening'))"`,
  resources: { cpu_cores: 0.01, memory_bytes: 32 * 1024 * 1024, disk_bytes: 0 },
  ready_pattern: '^listening$',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 2 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => resolve(text));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error(`no answer on ${port}`)));
  });
}

describe('allocations on a real agent (process driver)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let workloadId: string;
  const created: { id: string; port: number }[] = [];

  const create = (name: string, extra: Record<string, unknown> = {}) =>
    owner.request('/v1/instances', { method: 'POST', json: { name, workload_id: workloadId, ...extra } });

  before(async () => {
    ctx = await IdentityContext.start({
      env: { ...FAST_JOBS_ENV, HOSTPLANE_AGENT_DEFAULT_ALLOCATIONS: `127.0.0.1:${BASE}-${BASE + POOL - 1}` },
    });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url);
    node.start();
    await node.waitStatus('online');
    await waitFor('inventory', async () =>
      (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
    const w = await owner.request('/v1/workloads', { method: 'POST', json: LISTENER });
    assert.equal(w.status, 201, w.text);
    workloadId = w.body.id;
  });
  after(async () => {
    for (const c of created) await owner?.request(`/v1/instances/${c.id}`, { method: 'DELETE' }).catch(() => undefined);
    await node?.stop();
    await ctx?.close();
  });

  it('a registered node gets the configured default pool, all free', async () => {
    const res = await owner.request(`/v1/nodes/${node.id}/allocations?limit=500`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.total, POOL);
    assert.deepEqual(
      res.body.data.map((a: { port: number }) => a.port),
      Array.from({ length: POOL }, (_, i) => BASE + i),
    );
    assert.ok(
      res.body.data.every(
        (a: { ip: string; instance_id: string | null }) => a.ip === '127.0.0.1' && a.instance_id === null,
      ),
    );
  });

  it('ten instances of one workload on one node get ten distinct host ports and all run', async () => {
    const accepted = await Promise.all(Array.from({ length: 10 }, (_, i) => create(`echo-${i}`)));
    for (const res of accepted) {
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.instance.node_id, node.id);
      const port = Number(res.body.instance.variables.SERVER_PORT ?? res.body.instance.ports[0].host_port);
      created.push({ id: res.body.instance.id, port });
    }
    const ports = created.map((c) => c.port);
    assert.equal(new Set(ports).size, 10, `distinct ports: ${ports.join(', ')}`);
    assert.ok(
      ports.every((p) => p >= BASE && p < BASE + POOL),
      'every port comes from the pool',
    );
    for (const c of created) {
      await waitFor(
        `instance ${c.id} running`,
        async () => ((await owner.request(`/v1/instances/${c.id}`)).body.state === 'running' ? true : undefined),
        30_000,
      );
      assert.equal(await ask(c.port), `port ${c.port}`, 'the program listens on the port it was given');
    }
    const held = await owner.request(`/v1/instances/${created[0]!.id}/allocations`);
    assert.equal(held.status, 200, held.text);
    assert.deepEqual(
      held.body.data.map((a: { port: number; primary: boolean; ip: string }) => [a.ip, a.port, a.primary]),
      [['127.0.0.1', created[0]!.port, true]],
    );
  });

  it('a node whose allocations are used up is skipped by placement, with that reason', async () => {
    // Two ports left: an instance holding an extra port and one more instance take them.
    const extra = await owner.request(`/v1/instances/${created[0]!.id}/allocations`, { method: 'POST', json: {} });
    assert.equal(extra.status, 202, extra.text);
    assert.ok(
      extra.body.instance.ports.some((p: { host_port: number }) => p.host_port === extra.body.allocation.port),
      'the extra port is published',
    );
    const last = await create('echo-last', { start: false });
    assert.equal(last.status, 202, last.text);
    created.push({ id: last.body.instance.id, port: last.body.instance.ports[0].host_port });

    const refused = await create('echo-none');
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.body.code, 'no_node_fits');
    assert.match(refused.body.error, /out of free ports/);
    assert.match(
      refused.body.rejected[0].reasons.join(' '),
      new RegExp(`needs 1 free port from the node's allocation pool, 0 free`),
    );
    const fit = await owner.request('/v1/planner/suggest-fit', { method: 'POST', json: { workload_id: workloadId } });
    assert.equal(fit.status, 200, fit.text);
    assert.equal(fit.body.rejected_counts.ports, 1);
    assert.equal(fit.body.request.ports, 1);

    // Removing a held range is refused whole; adding ports makes the node fit again.
    const busy = await owner.request(`/v1/nodes/${node.id}/allocations?ip=127.0.0.1&ports=${BASE}-${BASE + 1}`, {
      method: 'DELETE',
    });
    assert.equal(busy.status, 409, busy.text);
    assert.equal(busy.body.code, 'allocation_in_use');
    const added = await owner.request(`/v1/nodes/${node.id}/allocations`, {
      method: 'POST',
      json: { ip: '127.0.0.1', ports: [`${BASE + POOL}-${BASE + POOL + 1}`, BASE] },
    });
    assert.equal(added.status, 201, added.text);
    assert.deepEqual([added.body.created, added.body.existing], [2, 1]);
    const now = await create('echo-after', { start: false });
    assert.equal(now.status, 202, now.text);
    created.push({ id: now.body.instance.id, port: now.body.instance.ports[0].host_port });
    assert.equal(now.body.instance.ports[0].host_port, BASE + POOL);

    // Chosen by hand: a free allocation is taken as the primary; a held one is refused.
    const pick = (
      (await owner.request(`/v1/nodes/${node.id}/allocations?assigned=false`)).body.data as {
        id: string;
        port: number;
      }[]
    )[0]!;
    const chosen = await create('echo-chosen', { start: false, allocation_id: pick.id });
    assert.equal(chosen.status, 202, chosen.text);
    assert.equal(chosen.body.instance.ports[0].host_port, pick.port);
    assert.equal(chosen.body.instance.node_id, node.id, "the allocation's node");
    created.push({ id: chosen.body.instance.id, port: pick.port });
    const taken = await create('echo-taken', { start: false, allocation_id: pick.id });
    assert.equal(taken.status, 409, taken.text);
    assert.equal(taken.body.code, 'allocation_unavailable');

    // The extra port goes back; the primary cannot.
    const primary = await owner.request(`/v1/instances/${created[0]!.id}/allocations`);
    const [main, more] = primary.body.data as { id: string; primary: boolean }[];
    assert.equal(
      (await owner.request(`/v1/instances/${created[0]!.id}/allocations/${main!.id}`, { method: 'DELETE' })).body.code,
      'allocation_primary',
    );
    const gone = await owner.request(`/v1/instances/${created[0]!.id}/allocations/${more!.id}`, { method: 'DELETE' });
    assert.equal(gone.status, 202, gone.text);
    assert.deepEqual(
      gone.body.instance.ports.map((p: { name: string; host_port: number }) => [p.name, p.host_port]),
      [
        ['default', created[0]!.port],
        ['default-udp', created[0]!.port],
      ],
    );
  });

  it('concurrent creates never share a port, and a delete frees its port', async () => {
    const pool = await owner.request(`/v1/nodes/${node.id}/allocations?assigned=false`);
    const free = pool.body.total as number;
    const results = await Promise.all(
      Array.from({ length: free + 4 }, (_, i) => create(`race-${i}`, { start: false, node_id: node.id })),
    );
    const ok = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status !== 202);
    assert.equal(ok.length, free, results.map((r) => r.status).join(','));
    // Placed before the pool ran out, then beaten to the last ports: 409 no_free_allocation; placed after:
    // no_node_fits.
    assert.ok(
      refused.every((r) => r.status === 409 && ['no_node_fits', 'no_free_allocation'].includes(r.body.code)),
      refused.map((r) => r.text).join('\n'),
    );
    for (const r of ok) created.push({ id: r.body.instance.id, port: r.body.instance.ports[0].host_port });
    const all = (await owner.request(`/v1/nodes/${node.id}/allocations?limit=500&assigned=true`)).body.data as {
      port: number;
      instance_id: string;
    }[];
    assert.equal(
      new Set(all.map((a) => a.instance_id)).size,
      all.length,
      `one port per instance: ${JSON.stringify(all)}`,
    );
    const ports = created.map((c) => c.port);
    assert.equal(new Set(ports).size, ports.length, `no port given twice: ${ports.join(', ')}`);

    const victim = created.pop()!;
    const del = await owner.request(`/v1/instances/${victim.id}`, { method: 'DELETE' });
    assert.equal(del.status, 202, del.text);
    await waitForOperation(owner, del.body.id);
    await waitFor('the port to be free again', async () => {
      const rows = (await owner.request(`/v1/nodes/${node.id}/allocations?assigned=false`)).body.data as {
        port: number;
        primary: boolean;
      }[];
      return rows.some((a) => a.port === victim.port && !a.primary) ? true : undefined;
    });
  });
});

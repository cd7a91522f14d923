import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type TestNode } from './support/agents';
import {
  createWorkload,
  FLEET_ENV,
  keeperWorkload,
  removeAllInstances,
  startNodes,
  waitInstance,
  waitMigration,
} from './support/fleet';
import { Client, IdentityContext } from './support/identity';

const BASE = 23_000 + Math.floor(Math.random() * 400) * 20;

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

describe('allocations move with a migration (two real agents, process driver)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let a: TestNode;
  let b: TestNode;

  const held = async (id: string) =>
    (await owner.request(`/v1/instances/${id}/allocations`)).body.data as {
      node_id: string;
      port: number;
      primary: boolean;
    }[];
  const free = async (nodeId: string) =>
    (
      (await owner.request(`/v1/nodes/${nodeId}/allocations?assigned=false&limit=500`)).body.data as { port: number }[]
    ).map((x) => x.port);

  before(async () => {
    ctx = await IdentityContext.start({
      env: { ...FLEET_ENV, HOSTPLANE_AGENT_DEFAULT_ALLOCATIONS: `127.0.0.1:${BASE}-${BASE + 4}` },
    });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    [a, b] = (await startNodes(owner, ctx.hub.url, 2)) as [TestNode, TestNode];
  });
  after(async () => {
    if (owner) await removeAllInstances(owner);
    await Promise.all([a?.stop(), b?.stop()]);
    await ctx?.close();
  });

  it('the instance takes a free port on the target, answers there, and its source port is free again', async () => {
    const workloadId = await createWorkload(
      owner,
      keeperWorkload('listener', {
        extra: {
          startup: `echo "on {{SERVER_IP}}:{{SERVER_PORT}}"; exec ${process.execPath} -e "require('net').createServer((s) => s.end('port ' + process.env.SERVER_PORT)).listen(+process.env.SERVER_PORT, process.env.SERVER_IP, () => console.log('ready'))"`,
        },
      }),
    );
    // The target's lowest port is taken, so the move has to change the port number.
    const squatter = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'squatter', workload_id: workloadId, node_id: b.id, start: false },
    });
    assert.equal(squatter.status, 202, squatter.text);
    const res = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'mover', workload_id: workloadId, node_id: a.id },
    });
    assert.equal(res.status, 202, res.text);
    const id = res.body.instance.id as string;
    await waitInstance(owner, id, (i) => i.state === 'running', 'running on the source');
    assert.deepEqual(
      (await held(id)).map((x) => [x.node_id, x.port, x.primary]),
      [[a.id, BASE, true]],
    );
    assert.equal(await ask(BASE), `port ${BASE}`);

    const mig = await owner.request(`/v1/nodes/${a.id}/migrate`, {
      method: 'POST',
      json: { instance_ids: [id], target_node_id: b.id },
    });
    assert.equal(mig.status, 202, mig.text);
    const done = await waitMigration(
      owner,
      mig.body.data[0].id,
      (m) => m.status !== 'queued' && m.status !== 'running',
      'finished',
      60_000,
    );
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    const moved = await waitInstance(
      owner,
      id,
      (i) => i.state === 'running' && i.node_id === b.id,
      'running on the target',
      30_000,
    );

    assert.deepEqual(
      (await held(id)).map((x) => [x.node_id, x.port, x.primary]),
      [[b.id, BASE + 1, true]],
      'held on the target only',
    );
    assert.equal(moved.variables.SERVER_PORT ?? moved.ports[0].host_port, BASE + 1);
    assert.ok((await free(a.id)).includes(BASE), "the source's port is free again");
    assert.ok(!(await free(b.id)).includes(BASE + 1));
    assert.equal(await ask(BASE + 1), `port ${BASE + 1}`, 'the program listens on its new port');
  });
});

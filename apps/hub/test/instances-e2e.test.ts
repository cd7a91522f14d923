import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';

const ECHO_WORKLOAD = {
  name: 'echo-service',
  driver: 'process',
  startup: 'echo "starting {{GREETING}}"; echo ready; while read -r line; do echo "got: $line"; done',
  variables: [
    {
      key: 'GREETING',
      name: 'Greeting',
      default: 'hello',
      type: 'string',
      rules: { required: true, max: 40 },
      user_editable: true,
    },
  ],
  resources: { cpu_cores: 0.1, memory_bytes: 64 * 1024 * 1024, disk_bytes: 0 },
  ready_pattern: '^ready$',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 2 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

describe('instances end to end on a real agent (process driver)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let workloadId: string;

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url);
    node.start();
    await node.waitStatus('online');
    await waitFor('inventory', async () =>
      (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
    const w = await owner.request('/v1/workloads', { method: 'POST', json: ECHO_WORKLOAD });
    assert.equal(w.status, 201, w.text);
    workloadId = w.body.id;
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  it('deploy → running → console round trip → live logs → stop → restart of the agent reconciles without restarting → delete', async () => {
    const created = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'echo-1', workload_id: workloadId, variables: { GREETING: 'world' } },
    });
    assert.equal(created.status, 202, created.text);
    const id = created.body.instance.id;
    const running = await waitFor(
      'running',
      async () => {
        const i = await owner.request(`/v1/instances/${id}`);
        return i.body.state === 'running' ? i.body : undefined;
      },
      30_000,
    );
    assert.equal(running.node_id, node.id);

    const wsUrl = `${ctx.hub.url.replace('http', 'ws')}/v1/instances/${id}`;
    const auth = { headers: { authorization: `Bearer ${owner.accessToken}`, 'x-org-id': owner.defaultOrg! } };
    const logs = new WebSocket(`${wsUrl}/logs?tail=10`, auth);
    let logText = '';
    logs.on('message', (d: Buffer) => (logText += d.toString()));
    await new Promise((r, j) => (logs.once('open', r), logs.once('error', j)));
    await waitFor('history in live logs', async () => (logText.includes('starting world') ? true : undefined), 10_000);

    const consoleWs = new WebSocket(`${wsUrl}/console`, auth);
    let out = '';
    consoleWs.on('message', (d: Buffer) => (out += d.toString()));
    await new Promise((r, j) => (consoleWs.once('open', r), consoleWs.once('error', j)));
    consoleWs.send('ping-42\n');
    await waitFor('console answer', async () => (out.includes('got: ping-42') ? true : undefined), 10_000);
    await waitFor('live log line', async () => (logText.includes('got: ping-42') ? true : undefined), 10_000);
    consoleWs.close();
    logs.close();

    const history = await owner.request(`/v1/instances/${id}/logs/history?lines=50`);
    assert.equal(history.status, 200, history.text);
    assert.ok(history.body.lines.some((l: string) => l.includes('got: ping-42')));
    const stats = await owner.request(`/v1/instances/${id}/stats`);
    assert.equal(stats.status, 200, stats.text);
    assert.ok(stats.body.memory_bytes > 0);

    // The agent restarts while the instance runs: the instance keeps running and is not restarted.
    const before = (
      await owner.request(`/v1/operations?resource=${encodeURIComponent(`/v1/instances/${id}`)}&kind=instance.start`)
    ).body.total;
    await node.stop();
    node.start();
    await node.waitStatus('online');
    await new Promise((r) => setTimeout(r, 1500));
    const afterRestart = await owner.request(`/v1/instances/${id}`);
    assert.equal(afterRestart.body.state, 'running');
    const starts = (
      await owner.request(`/v1/operations?resource=${encodeURIComponent(`/v1/instances/${id}`)}&kind=instance.start`)
    ).body.total;
    assert.equal(starts, before, 'no start was queued by the reconciliation');

    const stop = await owner.request(`/v1/instances/${id}/stop`, { method: 'POST' });
    const stopped = await waitForOperation(owner, stop.body.id, 20_000);
    assert.equal(stopped.status, 'succeeded', JSON.stringify(stopped));
    assert.equal((await owner.request(`/v1/instances/${id}`)).body.state, 'stopped');

    const del = await owner.request(`/v1/instances/${id}`, { method: 'DELETE' });
    assert.equal((await waitForOperation(owner, del.body.id, 20_000)).status, 'succeeded');
    await waitFor('row gone', async () =>
      (await owner.request(`/v1/instances/${id}`)).status === 404 ? true : undefined,
    );
  });

  it('a crashing workload ends crashed with its exit code', async () => {
    const w = await owner.request('/v1/workloads', {
      method: 'POST',
      json: { ...ECHO_WORKLOAD, name: 'crasher', startup: 'echo ready; sleep 0.5; exit 3', variables: [] },
    });
    assert.equal(w.status, 201, w.text);
    const created = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'crash-1', workload_id: w.body.id },
    });
    assert.equal(created.status, 202, created.text);
    const crashed = await waitFor(
      'crashed',
      async () => {
        const i = await owner.request(`/v1/instances/${created.body.instance.id}`);
        return i.body.state === 'crashed' ? i.body : undefined;
      },
      30_000,
    );
    assert.equal(crashed.exit_code, 3);
    assert.match(crashed.state_reason, /code 3/);
  });
});

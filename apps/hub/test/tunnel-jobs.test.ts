import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { IdentityContext } from './support/identity';

function lines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

describe('agent tunnel and jobs', () => {
  let ctx: IdentityContext;
  let node: TestNode;

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    node = await registerNode(ctx.admin.inOrg(ctx.admin.personalOrgId), ctx.hub.url);
    node.start();
    await node.waitStatus('online');
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  const client = () => ctx.admin.inOrg(ctx.admin.personalOrgId);

  it('a registered agent comes online with its hello facts', async () => {
    const n = await node.node();
    assert.equal(n.status, 'online');
    assert.equal(n.protocol_version, 1);
    assert.ok(n.drivers.some((d: { name: string }) => d.name === 'process'));
    assert.ok(n.last_seen_at);
    assert.match(n.agent_token_hint, /^hp_agt_/);
  });

  it('a job travels API → queue → tunnel → agent and its result lands in /v1/operations/{id}', async () => {
    const res = await client().request(`/v1/nodes/${node.id}/selftest`, {
      method: 'POST',
      json: { marker: 'first', steps: 2, delay_ms: 100 },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.headers.get('location'), `/v1/operations/${res.body.id}`);
    assert.equal(res.body.kind, 'agent.selftest');
    assert.ok(['queued', 'running'].includes(res.body.status));
    assert.deepEqual(res.body.actor.type, 'user');
    const done = await waitForOperation(client(), res.body.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.progress.percent, 100);
    assert.match(done.result.line, new RegExp(`^${res.body.id} first$`));
    assert.ok(done.started_at && done.finished_at);
    assert.ok(lines(node.selftestLog).includes(`${res.body.id} first`));
  });

  it("a failing job ends failed with the agent's code and message", async () => {
    const res = await client().request(`/v1/nodes/${node.id}/selftest`, {
      method: 'POST',
      json: { marker: 'boom', fail_with: 'disk on fire' },
    });
    const done = await waitForOperation(client(), res.body.id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error.code, 'selftest_failed');
    assert.match(done.error.message, /disk on fire/);
  });

  it('jobs on one resource run in order under concurrency', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await client().request(`/v1/nodes/${node.id}/selftest`, {
        method: 'POST',
        json: { marker: `order-${i}`, resource: 'ordered', delay_ms: 20 },
      });
      assert.equal(res.status, 202);
      ids.push(res.body.id);
    }
    // A second resource runs alongside without disturbing the order of the first.
    const other = await client().request(`/v1/nodes/${node.id}/selftest`, {
      method: 'POST',
      json: { marker: 'other', resource: 'other', delay_ms: 20 },
    });
    for (const id of [...ids, other.body.id]) assert.equal((await waitForOperation(client(), id)).status, 'succeeded');
    const ordered = lines(node.selftestLog).filter((l) => l.includes(' order-'));
    assert.deepEqual(
      ordered,
      ids.map((id, i) => `${id} order-${i}`),
    );
  });

  it('a job for an offline node waits, then runs when the agent returns', async () => {
    await node.stop();
    await node.waitStatus('offline');
    const res = await client().request(`/v1/nodes/${node.id}/selftest`, {
      method: 'POST',
      json: { marker: 'while-away' },
    });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await client().request(`/v1/operations/${res.body.id}`)).body.status, 'queued');
    node.start();
    await node.waitStatus('online');
    const done = await waitForOperation(client(), res.body.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(lines(node.selftestLog).filter((l) => l.startsWith(res.body.id)).length, 1);
  });

  it('a job whose deadline passes while the node is away ends expired, never delivered', async () => {
    await node.stop();
    await node.waitStatus('offline');
    const res = await client().request(`/v1/nodes/${node.id}/selftest`, {
      method: 'POST',
      json: { marker: 'too-late', deadline_seconds: 1 },
    });
    const done = await waitForOperation(client(), res.body.id, 15_000);
    assert.equal(done.status, 'expired');
    assert.equal(done.error.code, 'expired');
    node.start();
    await node.waitStatus('online');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(lines(node.selftestLog).filter((l) => l.startsWith(res.body.id)).length, 0);
  });

  it('kill -9 of the agent mid-job: after restart the job completes exactly once', async () => {
    const res = await client().request(`/v1/nodes/${node.id}/selftest`, {
      method: 'POST',
      json: { marker: 'crash', delay_ms: 1500, steps: 3 },
    });
    await waitForOperation(client(), res.body.id, 10_000, new Set(['running']));
    await new Promise((r) => setTimeout(r, 300));
    await node.agent!.stop('SIGKILL');
    node.start();
    const done = await waitForOperation(client(), res.body.id, 30_000);
    assert.equal(done.status, 'succeeded');
    assert.equal(lines(node.selftestLog).filter((l) => l.startsWith(res.body.id)).length, 1);
  });

  it('cancels a queued job at once and a running one through the agent; others are not cancellable', async () => {
    await node.stop();
    await node.waitStatus('offline');
    const queued = await client().request(`/v1/nodes/${node.id}/selftest`, {
      method: 'POST',
      json: { marker: 'never' },
    });
    const cancelled = await client().request(`/v1/operations/${queued.body.id}/cancel`, { method: 'POST' });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.body.status, 'cancelled');
    node.start();
    await node.waitStatus('online');

    const running = await client().request(`/v1/nodes/${node.id}/selftest`, {
      method: 'POST',
      json: { marker: 'long', delay_ms: 20_000 },
    });
    await waitForOperation(client(), running.body.id, 10_000, new Set(['running']));
    const asked = await client().request(`/v1/operations/${running.body.id}/cancel`, { method: 'POST' });
    assert.equal(asked.status, 200);
    assert.ok(['cancelling', 'cancelled'].includes(asked.body.status));
    const done = await waitForOperation(client(), running.body.id, 10_000);
    assert.equal(done.status, 'cancelled');

    const again = await client().request(`/v1/operations/${running.body.id}/cancel`, { method: 'POST' });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'not_cancellable');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      lines(node.selftestLog).filter((l) => l.startsWith(queued.body.id) || l.startsWith(running.body.id)).length,
      0,
    );
  });

  it('lists operations with filters and pagination', async () => {
    const all = await client().request(`/v1/operations?node_id=${node.id}&limit=2`);
    assert.equal(all.status, 200);
    assert.equal(all.body.data.length, 2);
    assert.ok(all.body.total >= 10);
    const failed = await client().request('/v1/operations?status=failed');
    assert.ok(failed.body.data.every((o: { status: string }) => o.status === 'failed'));
    assert.ok(failed.body.total >= 1);
    const byResource = await client().request(
      `/v1/operations?resource=${encodeURIComponent(`/v1/nodes/${node.id}`)}&kind=agent.selftest&limit=500`,
    );
    assert.equal(byResource.body.total, all.body.total);
    const future = await client().request(
      `/v1/operations?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    assert.equal(future.body.total, 0);
    const bad = await client().request('/v1/operations?status=sideways');
    assert.equal(bad.status, 400);
  });

  it('sends a signal to a host process as a job', async () => {
    const { spawn } = await import('node:child_process');
    const victim = spawn('sleep', ['300']);
    const gone = new Promise((r) => victim.on('exit', (_c, sig) => r(sig)));
    const res = await client().request(`/v1/nodes/${node.id}/processes/${victim.pid}/kill`, {
      method: 'POST',
      json: { signal: 'SIGKILL' },
    });
    assert.equal(res.status, 202, res.text);
    const done = await waitForOperation(client(), res.body.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(await gone, 'SIGKILL');
    const missing = await client().request(`/v1/nodes/${node.id}/processes/999999/kill`, { method: 'POST', json: {} });
    const failed = await waitForOperation(client(), missing.body.id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'no_such_process');
    const bad = await client().request(`/v1/nodes/${node.id}/processes/1/kill`, { method: 'POST', json: {} });
    assert.equal(bad.status, 400);
  });

  it("a node's job Worker closes once its queue stays empty, so idle nodes hold no Redis connection", async () => {
    // Several jobs back to back: wake-ups arrive while the Worker is busy and after it drained.
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        (await client().request(`/v1/nodes/${node.id}/selftest`, { method: 'POST', json: { marker: `idle-${i}` } }))
          .body.id,
      );
    for (const id of ids) await waitForOperation(client(), id);
    const busy = await ctx.admin.request('/v1/tunnel/stats');
    assert.ok(busy.body.active_job_workers >= 1);
    await waitFor(
      'worker closed',
      async () => ((await ctx.admin.request('/v1/tunnel/stats')).body.active_job_workers === 0 ? true : undefined),
      20_000,
      250,
    );
    assert.equal((await ctx.admin.request('/v1/tunnel/stats')).body.queues.nodes_with_work, 0);
  });

  it('rotating the token refuses the old one: the agent prints why and stops (exit 78)', async () => {
    const rotated = await client().request(`/v1/nodes/${node.id}/rotate-token`, { method: 'POST' });
    assert.equal(rotated.status, 200);
    assert.match(rotated.body.agent_token, /^hp_agt_/);
    const exit = await node.agent!.exited;
    assert.equal(exit.code, 78);
    assert.match(node.agent!.output(), /rotated/);
    await waitFor('offline', async () => ((await node.node()).status === 'offline' ? true : undefined));
  });
});

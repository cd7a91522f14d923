import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { FAST_JOBS_ENV, registerNode, TestNode, waitForOperation } from './support/agents';
import { HubProcess } from './support/hub-process';
import { Client, strongPassword, uniqueEmail } from './support/identity';
import { freePort, OwnRedis } from './support/redis-server';
import { createTestDatabase, tempDir, TestDatabase, testRedisPrefix } from './support/test-env';

function linesFor(file: string, id: string): number {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(id)).length;
  } catch {
    return 0;
  }
}

describe('jobs survive crashes of the hub, Redis and the agent link', () => {
  let db: TestDatabase;
  let redis: OwnRedis;
  let hubA: HubProcess;
  let hubB: HubProcess;
  let admin: Client;
  let node: TestNode;
  const prefix = testRedisPrefix();

  before(async () => {
    db = await createTestDatabase();
    redis = await OwnRedis.start();
    // One data dir: both replicas (and a restarted one) share the generated signing keys.
    const env = { ...FAST_JOBS_ENV, HOSTPLANE_REDIS_URL: redis.url, HOSTPLANE_DATA_DIR: tempDir() };
    hubA = new HubProcess(db, prefix, await freePort(), env);
    hubB = new HubProcess(db, prefix, await freePort(), env);
    await hubA.start();
    await hubB.start();
    const user = { email: uniqueEmail('admin'), password: strongPassword() };
    const boot = await hubA
      .asTestHub()
      .request('/v1/auth/bootstrap', { method: 'POST', json: { ...user, organization_name: 'Ops' } });
    assert.equal(boot.status, 201, boot.text);
    admin = new Client(
      hubA.asTestHub(),
      { bearer: boot.body.access_token },
      { id: boot.body.user.id, ...user },
      boot.body.organization.id,
      boot.body.organization.id,
    );
    node = await registerNode(admin, hubA.url);
    node.start();
    await node.waitStatus('online');
  });

  after(async () => {
    await node?.stop();
    await hubA?.kill('SIGTERM');
    await hubB?.kill('SIGTERM');
    await redis?.kill();
    await db?.drop();
  });

  it('kill -9 of the hub while a job runs: after restart the job is recorded, its effect happened once', async () => {
    const res = await admin.request(`/v1/nodes/${node.id}/selftest`, {
      method: 'POST',
      json: { marker: 'hub-crash', delay_ms: 1500 },
    });
    assert.equal(res.status, 202);
    await waitForOperation(admin, res.body.id, 10_000, new Set(['running']));
    await hubA.kill('SIGKILL');
    await hubA.start();
    const done = await waitForOperation(admin, res.body.id, 40_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(linesFor(node.selftestLog, res.body.id), 1);
  });

  it('a job requested through hub B runs on the agent connected to hub A', async () => {
    const viaB = new Client(hubB.asTestHub(), admin.credential, admin.user, admin.personalOrgId, admin.defaultOrg);
    const res = await viaB.request(`/v1/nodes/${node.id}/selftest`, { method: 'POST', json: { marker: 'via-b' } });
    assert.equal(res.status, 202, res.text);
    const done = await waitForOperation(viaB, res.body.id, 20_000);
    assert.equal(done.status, 'succeeded');
    assert.equal(linesFor(node.selftestLog, res.body.id), 1);
  });

  it('user events reach a subscriber on the other hub', async () => {
    const ws = new WebSocket(`${hubB.url.replace('http', 'ws')}/v1/ws/subscribe?events=operation.completed`, {
      headers: { authorization: `Bearer ${admin.accessToken}` },
    });
    const messages: any[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    await new Promise((r) => setTimeout(r, 200));
    const res = await admin.request(`/v1/nodes/${node.id}/selftest`, { method: 'POST', json: { marker: 'event' } });
    await waitForOperation(admin, res.body.id);
    const deadline = Date.now() + 5000;
    while (
      !messages.some((m) => m.type === 'event' && m.event.data.operation_id === res.body.id) &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 50));
    ws.close();
    assert.equal(messages[0].type, 'welcome');
    const event = messages.find((m) => m.type === 'event' && m.event.data.operation_id === res.body.id);
    assert.ok(event, `no completion event in ${JSON.stringify(messages)}`);
    assert.equal(event.event.type, 'operation.completed');
    assert.equal(event.event.data.status, 'succeeded');
    assert.match(event.event.id, /^\d+-\d+$/);
  });

  it('Redis stops and comes back empty: queued jobs are rebuilt from PostgreSQL and run', async () => {
    await node.stop();
    await node.waitStatus('offline');
    const res = await admin.request(`/v1/nodes/${node.id}/selftest`, {
      method: 'POST',
      json: { marker: 'redis-lost' },
    });
    assert.equal(res.status, 202);
    await redis.kill();
    await new Promise((r) => setTimeout(r, 500));
    await redis.start();
    node.start();
    await node.waitStatus('online', 30_000).catch((err: Error) => {
      throw new Error(
        `${err.message}\nhub:\n${hubA.output.slice(-3000)}\nagent:\n${node.agent?.output().slice(-2000)}`,
      );
    });
    const done = await waitForOperation(admin, res.body.id, 40_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(linesFor(node.selftestLog, res.body.id), 1);
    const next = await admin.request(`/v1/nodes/${node.id}/selftest`, {
      method: 'POST',
      json: { marker: 'after-redis' },
    });
    assert.equal((await waitForOperation(admin, next.body.id, 20_000)).status, 'succeeded');
  });
});

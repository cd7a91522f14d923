import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { readStream } from './support/event-stream-reader';
import { HubProcess } from './support/hub-process';
import { Client, strongPassword, uniqueEmail } from './support/identity';
import { freePort, OwnRedis } from './support/redis-server';
import { TcpProxy } from './support/tcp-proxy';
import { createTestDatabase, tempDir, TestDatabase, testRedisPrefix } from './support/test-env';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function selftestLines(file: string): { opId: string; marker: string }[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ opId: l.slice(0, l.indexOf(' ')), marker: l.slice(l.indexOf(' ') + 1) }));
  } catch {
    return [];
  }
}

/**
 * Two hub replicas on one database and a Redis of the test's own (append-only, fsync always, so
 * it can be killed and restarted from disk), one real agent dialing replica A through a proxy
 * that can blackhole its link, and clients on replica B: the setting of issue 26's fault table.
 */
describe('faults: replicas survive a lost agent, order per resource holds, no event is lost', () => {
  let db: TestDatabase;
  let redis: OwnRedis;
  let hubA: HubProcess;
  let hubB: HubProcess;
  let proxy: TcpProxy;
  let viaB: Client;
  let node: TestNode;
  const prefix = testRedisPrefix();

  const replicasUp = async () => {
    for (const hub of [hubA, hubB]) {
      assert.equal(hub.child?.exitCode, null, `replica ${hub.url} exited:\n${hub.output.slice(-3000)}`);
      const ready = await fetch(`${hub.url}/health/live`);
      assert.equal(ready.status, 200);
    }
  };

  const selftest = async (marker: string, extra: Record<string, unknown> = {}) => {
    const res = await viaB.request(`/v1/nodes/${node.id}/selftest`, { method: 'POST', json: { marker, ...extra } });
    assert.equal(res.status, 202, res.text);
    return res.body.id as string;
  };

  before(async () => {
    db = await createTestDatabase();
    const redisDir = tempDir('hostplane-redis-');
    redis = await OwnRedis.start(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', redisDir]);
    const env = { ...FAST_JOBS_ENV, HOSTPLANE_REDIS_URL: redis.url, HOSTPLANE_DATA_DIR: tempDir() };
    hubA = new HubProcess(db, prefix, await freePort(), env);
    hubB = new HubProcess(db, prefix, await freePort(), env);
    await hubA.start();
    await hubB.start();
    proxy = new TcpProxy(hubA.port);
    await proxy.start();
    const user = { email: uniqueEmail('admin'), password: strongPassword() };
    const boot = await hubA
      .asTestHub()
      .request('/v1/auth/bootstrap', { method: 'POST', json: { ...user, organization_name: 'Ops' } });
    assert.equal(boot.status, 201, boot.text);
    const orgId = boot.body.organization.id;
    const viaA = new Client(
      hubA.asTestHub(),
      { bearer: boot.body.access_token },
      { id: boot.body.user.id, ...user },
      orgId,
      orgId,
    );
    viaB = new Client(hubB.asTestHub(), viaA.credential, viaA.user, orgId, orgId);
    node = await registerNode(viaA, hubA.url, { HOSTPLANE_AGENT_HUB_URL: proxy.url });
    node.start();
    await node.waitStatus('online');
  });

  after(async () => {
    redis?.resume();
    await node?.stop();
    await proxy?.stop();
    await hubA?.kill('SIGTERM');
    await hubB?.kill('SIGTERM');
    await redis?.kill();
    await db?.drop();
  });

  it('an agent link cut while a job awaits its ack: both replicas stay up and the job runs once', async () => {
    proxy.blackhole();
    const id = await selftest('link-cut');
    // Long enough for the ack to time out and for replica A to drop the silent session.
    await node.waitStatus('offline', 15_000);
    await replicasUp();
    proxy.restore();
    proxy.cutAll();
    const done = await waitForOperation(viaB, id, 30_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(selftestLines(node.selftestLog).filter((l) => l.opId === id).length, 1);
    await replicasUp();
  });

  it('an agent killed while a job awaits its ack: both replicas stay up and the job runs once', async () => {
    await node.waitStatus('online');
    proxy.blackhole();
    const id = await selftest('agent-killed');
    await sleep(300);
    await node.agent!.stop('SIGKILL');
    await sleep(500);
    await replicasUp();
    proxy.restore();
    node.start();
    const done = await waitForOperation(viaB, id, 30_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(selftestLines(node.selftestLog).filter((l) => l.opId === id).length, 1);
    await replicasUp();
  });

  it('200 operations over 4 resources, with faults between them, start in acknowledgement order per resource', async () => {
    await node.waitStatus('online');
    const faults: Record<number, () => Promise<void>> = {
      40: async () => {
        await node.agent!.stop('SIGKILL');
        node.start();
      },
      80: async () => {
        proxy.blackhole();
        await sleep(3000);
        proxy.restore();
        proxy.cutAll();
      },
      120: async () => {
        redis.pause();
        await sleep(3000);
        redis.resume();
      },
      160: async () => {
        await hubA.kill('SIGKILL');
        await hubA.start();
      },
    };
    const acked: { id: string; resource: string; n: number }[] = [];
    const running: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      if (faults[i]) running.push(faults[i]!());
      const resource = `r${i % 4}`;
      const id = await selftest(`${resource}:${i}`, { resource, delay_ms: (i * 7) % 40 });
      acked.push({ id, resource, n: i });
    }
    await Promise.all(running);
    for (const a of acked) {
      const done = await waitForOperation(viaB, a.id, 90_000);
      assert.equal(done.status, 'succeeded', `${a.resource}:${a.n} ${JSON.stringify(done)}`);
    }
    const lines = selftestLines(node.selftestLog);
    const byId = new Map(acked.map((a) => [a.id, a]));
    const ran = lines.filter((l) => byId.has(l.opId));
    assert.equal(ran.length, 200, 'each operation ran exactly once');
    assert.equal(new Set(ran.map((l) => l.opId)).size, 200);
    for (const r of ['r0', 'r1', 'r2', 'r3']) {
      const order = ran
        .map((l) => byId.get(l.opId)!)
        .filter((a) => a.resource === r)
        .map((a) => a.n);
      assert.deepEqual(
        order,
        [...order].sort((x, y) => x - y),
        `resource ${r} ran in acknowledgement order`,
      );
    }
    await replicasUp();
  });

  it('a job requested while Redis hangs is accepted at once from PostgreSQL and runs when Redis answers again', async () => {
    await node.waitStatus('online');
    redis.pause();
    try {
      const started = Date.now();
      const id = await selftest('redis-hung');
      const took = Date.now() - started;
      assert.ok(took < 6000, `answered in ${took} ms`);
      redis.resume();
      const done = await waitForOperation(viaB, id, 60_000);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.equal(selftestLines(node.selftestLog).filter((l) => l.opId === id).length, 1);
    } finally {
      redis.resume();
    }
    await replicasUp();
  });

  it('Redis killed while operations finish: after it returns, the replay has every operation.completed exactly once', async () => {
    await node.waitStatus('online');
    const probe = new Redis(redis.url);
    const last = (await probe.xrevrange(`${prefix}:{events}`, '+', '-', 'COUNT', 1)) as [string, string[]][];
    probe.disconnect();
    const cursor = last[0]![0];
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await selftest(`outage:${i}`, { delay_ms: 1500 + i * 50 }));
    await waitFor(
      'jobs running',
      async () => ((await viaB.request(`/v1/operations/${ids[0]}`)).body.status === 'running' ? true : undefined),
      20_000,
    );
    await redis.kill();
    await sleep(3500);
    await redis.start();
    for (const id of ids) assert.equal((await waitForOperation(viaB, id, 60_000)).status, 'succeeded');
    const completed = new Map<string, number>();
    await waitFor(
      'every operation.completed in the replay',
      async () => {
        completed.clear();
        const events = await readStream(
          `${hubB.url}/v1/events/stream?events=operation.completed&since=${cursor}`,
          viaB.accessToken,
          {
            ndjson: true,
            stopAfter: 1000,
            timeoutMs: 1500,
          },
        );
        for (const e of events)
          if (ids.includes(e.data.operation_id))
            completed.set(e.data.operation_id, (completed.get(e.data.operation_id) ?? 0) + 1);
        return completed.size === ids.length ? true : undefined;
      },
      30_000,
      500,
    );
    for (const id of ids) assert.equal(completed.get(id), 1, `operation ${id} completed once in the replay`);
    await replicasUp();
  });
});

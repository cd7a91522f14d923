import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, TestNode, waitFor, waitForOperation } from './support/agents';
import { download, newInstance, newWorkload, onlineNode } from './support/backups';
import { readStream } from './support/event-stream-reader';
import { Client, IdentityContext } from './support/identity';
import { credentialHeaders, openSocket } from './support/live-sockets';
import { loadConfig } from '../src/config/load-config';
import { parseRedisTopology } from '../src/redis/redis-seeds';
import { OwnRedisCluster } from './support/redis-cluster';
import { uniqueName } from './support/test-env';
import { startTestHub, type TestHub } from './support/test-hub';

function selftestLines(node: TestNode): string[] {
  try {
    return readFileSync(node.selftestLog, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

describe('HOSTPLANE_REDIS_URL: one Redis or the seeds of a cluster', () => {
  it('several seeds mean a cluster; credentials and TLS come from the first', () => {
    const t = parseRedisTopology('rediss://app:s%40cret@10.0.0.1:7000, redis://10.0.0.2:7001,redis://[fd00::3]', false);
    assert.equal(t.cluster, true);
    assert.deepEqual(t.seeds, [
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: 'fd00::3', port: 6379 },
    ]);
    assert.equal(t.username, 'app');
    assert.equal(t.password, 's@cret');
    assert.equal(t.tls, true);
  });

  it('one seed is one Redis unless HOSTPLANE_REDIS_CLUSTER says otherwise', () => {
    assert.equal(parseRedisTopology('redis://cache:6379', false).cluster, false);
    assert.equal(parseRedisTopology('redis://cache:6379', true).cluster, true);
  });

  it('a list with one bad seed is refused at start with a line naming the variable', () => {
    const env = {
      HOSTPLANE_ENV: 'test',
      HOSTPLANE_DATABASE_URL: 'postgres://x@127.0.0.1/x',
      HOSTPLANE_REDIS_URL: 'redis://a:1,http://b:2',
    };
    assert.throws(
      () => loadConfig({ env }),
      /HOSTPLANE_REDIS_URL must be a URL starting with redis:\/\/ or rediss:\/\/, or several comma-separated/,
    );
    assert.equal(
      loadConfig({ env: { ...env, HOSTPLANE_REDIS_URL: 'redis://a:1, rediss://b:2' } }).redis.url,
      'redis://a:1, rediss://b:2',
    );
  });
});

/**
 * The hub on a Redis Cluster of three masters with a replica each (HOSTPLANE_REDIS_URL lists
 * the seeds): jobs, events and streams work, and keep working, with nothing lost or doubled,
 * while every master in turn hands over to its replica (`CLUSTER FAILOVER`).
 */
describe('the hub on a Redis Cluster, through master failovers', () => {
  let cluster: OwnRedisCluster;
  let ctx: IdentityContext;
  let owner: Client;
  /** The same user on a second replica: the agent's socket is on the first. */
  let ownerOnB: Client;
  let hubB: TestHub;
  let node: TestNode;
  let instanceId: string;
  const prefix = uniqueName('hpc');

  before(async () => {
    cluster = await OwnRedisCluster.start();
    const env = {
      ...FAST_JOBS_ENV,
      HOSTPLANE_REDIS_URL: cluster.url,
      HOSTPLANE_JWT_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    };
    ctx = await IdentityContext.start({ env, hub: { redisPrefix: prefix } });
    hubB = await startTestHub({ database: ctx.hub.database, redisPrefix: prefix, env: { ...env, ...ctx.mail.env() } });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    ownerOnB = new Client(hubB, owner.credential, owner.user, owner.personalOrgId, owner.defaultOrg);
    node = await onlineNode(owner, ctx.hub.url);
  });
  after(async () => {
    if (instanceId) {
      await owner.request(`/v1/instances/${instanceId}`, { method: 'DELETE' });
      await waitFor(
        'instance deleted',
        async () => ((await owner.request(`/v1/instances/${instanceId}`)).status === 404 ? true : undefined),
        20_000,
      ).catch(() => undefined);
    }
    await node?.stop();
    await hubB?.close();
    await ctx?.close();
    await cluster?.stop();
  });

  const selftest = async (marker: string, via: Client = owner) => {
    const res = await via.request(`/v1/nodes/${node.id}/selftest`, { method: 'POST', json: { marker, delay_ms: 20 } });
    assert.equal(res.status, 202, res.text);
    return res.body.id as string;
  };

  it('jobs: an instance is created and started through the API and the agent runs it; the node queue is a hash tag of its own', async () => {
    instanceId = (await newInstance(owner, await newWorkload(owner), 'on-cluster', true)).id as string;
    const op = await waitForOperation(owner, await selftest('first'));
    assert.equal(op.status, 'succeeded', JSON.stringify(op));
    // The hub really is on the cluster: the node's queue and the event stream are there.
    const probe = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    try {
      assert.equal(await probe.exists(`${prefix}:bull:{node-${node.id}}:meta`), 1);
      assert.ok((await probe.xlen(`${prefix}:{events}`)) > 0);
    } finally {
      probe.disconnect();
    }
    // Cluster-wide views: readiness pings the cluster, the agents list reads every replica's hash on every master.
    assert.equal((await ctx.hub.request('/health/ready')).status, 200);
    const agents = await ctx.admin.request('/v1/tunnel/agents');
    assert.equal(agents.status, 200, agents.text);
    assert.deepEqual(
      agents.body.data.map((a: { node_id: string }) => a.node_id),
      [node.id],
    );
    const stats = await ctx.admin.request('/v1/tunnel/stats');
    assert.equal(stats.status, 200, stats.text);
  });

  it('streams: the instance console echoes a line and the log download has its output', async () => {
    const consoleWs = await openSocket(
      ctx.hub,
      `/v1/instances/${instanceId}/console`,
      credentialHeaders(owner),
      /"live"/,
    );
    consoleWs.ws.send('over-the-cluster\n');
    await waitFor(
      'console echo',
      async () => (consoleWs.received().includes('got: over-the-cluster') ? true : undefined),
      10_000,
    );
    consoleWs.ws.close();
    const logs = await download(owner, `/v1/instances/${instanceId}/logs/download`);
    assert.equal(logs.status, 200);
    assert.match(logs.body.toString(), /^ready$/m);
  });

  it('events: a subscriber resuming from an id replays what followed it, then gets live events', async () => {
    const first = await waitForOperation(owner, await selftest('before-cursor'));
    const replayed = await readStream(`${ctx.hub.url}/v1/events/stream`, owner.accessToken, {
      lastEventId: '0-0',
      stopAfter: 1000,
      timeoutMs: 1500,
    });
    const done = replayed.find((e) => e.type === 'operation.completed' && e.data.operation_id === first.id);
    assert.ok(done, 'the completed event of an earlier operation is replayed');
    const live = readStream(`${ctx.hub.url}/v1/events/stream`, owner.accessToken, {
      lastEventId: done.id,
      stopAfter: 50,
      timeoutMs: 3000,
    });
    await new Promise((r) => setTimeout(r, 300));
    const next = await waitForOperation(owner, await selftest('after-cursor'));
    const got = await live;
    assert.ok(
      got.some((e) => e.type === 'operation.completed' && e.data.operation_id === next.id),
      'the live event arrives',
    );
    assert.ok(!got.some((e) => e.id === done.id), 'nothing at or before the cursor is repeated');
  });

  it('every master fails over to its replica while jobs run: each job runs once, each event is delivered once, streams still open', async () => {
    const cursor = (
      await readStream(`${ctx.hub.url}/v1/events/stream`, owner.accessToken, {
        lastEventId: '0-0',
        stopAfter: 10_000,
        timeoutMs: 1500,
      })
    ).at(-1).id as string;
    const ops: string[] = [];
    let submitting = true;
    const submitter = (async () => {
      let i = 0;
      while (submitting) {
        // Half of them through the replica without the agent: the wake-up crosses the cluster's pub/sub.
        ops.push(await selftest(`failover-${i}`, i % 2 ? ownerOnB : owner));
        i++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // The shards of the node's queue, of the event stream, then whichever master is left.
    const masters = [await cluster.masterOf(`{node-${node.id}}`), await cluster.masterOf('{events}')];
    for (const n of await cluster.nodes()) if (n.master && !masters.includes(n.port)) masters.push(n.port);
    const promoted: number[] = [];
    for (const port of [...new Set(masters)]) {
      promoted.push(await cluster.failover(port));
      await new Promise((r) => setTimeout(r, 500));
    }
    // On a slow machine few jobs may fit in the failovers: keep going to at least ten in all.
    while (ops.length < 10) await new Promise((r) => setTimeout(r, 100));
    submitting = false;
    await submitter;
    for (const id of ops)
      assert.equal((await waitForOperation(owner, id, 60_000)).status, 'succeeded', `operation ${id}`);

    // The agent's own record: every job's effect happened exactly once.
    const lines = selftestLines(node);
    for (const id of ops) assert.equal(lines.filter((l) => l.startsWith(`${id} `)).length, 1, `job ${id} ran once`);

    // The event stream from before the failovers, read on the other replica: one completion per job, in stream order,
    // no duplicates.
    const events = await readStream(`${hubB.url}/v1/events/stream`, owner.accessToken, {
      lastEventId: cursor,
      stopAfter: 100_000,
      timeoutMs: 2500,
    });
    const ids = events.map((e) => e.id as string);
    assert.equal(new Set(ids).size, ids.length, 'no event is delivered twice');
    for (const id of ops) {
      const n = events.filter((e) => e.type === 'operation.completed' && e.data.operation_id === id).length;
      assert.equal(n, 1, `operation ${id} has one completed event`);
    }

    // Streams after the failovers.
    const consoleWs = await openSocket(
      ctx.hub,
      `/v1/instances/${instanceId}/console`,
      credentialHeaders(owner),
      /"live"/,
    );
    consoleWs.ws.send('after-failover\n');
    await waitFor(
      'console echo after failover',
      async () => (consoleWs.received().includes('got: after-failover') ? true : undefined),
      10_000,
    );
    consoleWs.ws.close();
    const warnings = ctx.hub.logs
      .entries()
      .filter((e) => Number(e.level) >= 40)
      .map((e) => e.msg);
    console.log(`# hub warnings during the run: ${JSON.stringify([...new Set(warnings)])}`);
    console.log(
      `# ${ops.length} jobs through ${promoted.length} failovers (promoted ${promoted.join(', ')}), ${events.length} events replayed`,
    );
  });

  it('kill -9 of the master that holds the node queue: its replica takes over and jobs carry on, each run once', async () => {
    const ops: string[] = [];
    let submitting = true;
    const submitter = (async () => {
      let i = 0;
      while (submitting) {
        ops.push(await selftest(`killed-${i}`, i % 2 ? ownerOnB : owner));
        i++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    const promoted = await cluster.killMaster(await cluster.masterOf(`{node-${node.id}}`));
    const tookOver = Date.now() - started;
    await new Promise((r) => setTimeout(r, 1500));
    submitting = false;
    await submitter;
    for (const id of ops)
      assert.equal((await waitForOperation(owner, id, 60_000)).status, 'succeeded', `operation ${id}`);
    const lines = selftestLines(node);
    for (const id of ops) assert.equal(lines.filter((l) => l.startsWith(`${id} `)).length, 1, `job ${id} ran once`);
    console.log(
      `# kill -9 of the queue's master: ${promoted} took over after ${tookOver} ms; ${ops.length} jobs all ran once`,
    );
  });
});

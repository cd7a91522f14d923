import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Redis from 'ioredis';
import { endParkedDisconnects } from '../src/redis/end-parked-disconnects';
import { OwnRedis } from './support/redis-server';

async function parkedClient(redis: OwnRedis, patched: boolean): Promise<Redis> {
  const raw = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 3_000 });
  const client = patched ? endParkedDisconnects(raw) : raw;
  client.on('error', () => undefined);
  await once(client, 'ready');
  await redis.kill();
  const deadline = Date.now() + 5_000;
  while (client.status !== 'reconnecting' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(client.status, 'reconnecting', 'the client waits out its retry back-off');
  return client;
}

function ended(client: Redis, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    client.once('end', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('disconnecting a Redis client that waits to reconnect', () => {
  const servers: OwnRedis[] = [];
  after(async () => {
    for (const s of servers) await s.kill();
  });

  it('control: plain ioredis never ends such a disconnect (ioredis#1830); when this fails, ioredis fixed it and endParkedDisconnects can go', async () => {
    const redis = await OwnRedis.start();
    servers.push(redis);
    const client = await parkedClient(redis, false);
    const end = ended(client, 1_000);
    client.disconnect();
    assert.equal(await end, false);
    assert.equal(client.status, 'reconnecting');
  });

  it('with endParkedDisconnects the disconnect ends at once and rejects the commands it queued', async () => {
    const redis = await OwnRedis.start();
    servers.push(redis);
    const client = await parkedClient(redis, true);
    const queued = client.get('k').then(
      () => 'answered',
      (err: Error) => err.message,
    );
    const end = ended(client, 1_000);
    client.disconnect();
    assert.equal(await end, true);
    assert.equal(client.status, 'end');
    assert.equal(await queued, 'Connection is closed.');
  });
});

describe('a hub stopped just after Redis returns from an outage', () => {
  // The outage outlasts the job workers' blocking wait, so their clients are mid back-off when the
  // hub stops: BullMQ's Worker.close() waited forever for them (bullmq#4656). The hub runs in a
  // process of its own so a close that never returns can be killed, failing this test only.
  for (const afterMs of [0, 1_000]) {
    it(`closes within 10 s when asked ${afterMs} ms after Redis is back from 8 s down`, async () => {
      const child = spawn(process.execPath, [join(__dirname, 'support/close-after-outage.js')], {
        env: { ...process.env, OUTAGE_MS: '8000', AFTER_MS: String(afterMs) },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(killer);
      assert.equal(code, 0, `the close did not return: ${out}`);
      const ms = Number(/closed after (\d+) ms/.exec(out)?.[1]);
      console.log(
        `# closed ${ms} ms after the request, ${afterMs} ms after Redis returned; ${out.replace(/\n/g, '; ')}`,
      );
      assert.ok(ms < 10_000, out);
    });
  }
});

import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { MIGRATIONS } from '../src/database/schema-migrations';
import { freePort } from './support/redis-server';
import { createTestDatabase, TestDatabase, testRedisPrefix } from './support/test-env';
import { deleteRedisPrefix, testEnv } from './support/test-hub';

const PROBE_HUB = join(__dirname, 'fixtures/probe-hub.js');
const MIGRATE = join(__dirname, '../src/database/migrate.js');

function waitForLine(proc: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in: ${buf}`)), timeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => pattern.test(l));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
}

describe('hub process', () => {
  let db: TestDatabase;
  const prefix = testRedisPrefix();
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
    await deleteRedisPrefix(prefix);
  });

  it('SIGTERM lets an in-flight request finish, refuses new ones, and exits 0', async () => {
    const port = await freePort();
    const hub = spawn(process.execPath, [PROBE_HUB], {
      env: { PATH: process.env.PATH, ...testEnv(db, prefix, { HOSTPLANE_PORT: String(port) }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => hub.on('exit', (code) => r(code)));
    await waitForLine(hub, /"msg":"hub listening"/);

    const inflight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/test/slow?ms=1500', agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((r) => setTimeout(r, 300));
    hub.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(fetch(`http://127.0.0.1:${port}/health/live`), 'new connections are refused while draining');

    const res = await inflight;
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { slept_ms: 1500 });
    assert.equal(await exited, 0);
  });

  it('a stop that hangs past the shutdown timeout still ends the process (exit 1, said in the log)', async () => {
    const port = await freePort();
    const hub = spawn(process.execPath, [PROBE_HUB], {
      env: {
        PATH: process.env.PATH,
        HOSTPLANE_TEST_HANG_SHUTDOWN: '1',
        ...testEnv(db, prefix, { HOSTPLANE_PORT: String(port), HOSTPLANE_SHUTDOWN_TIMEOUT_SECONDS: '1' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => hub.on('exit', (code) => r(code)));
    await waitForLine(hub, /"msg":"hub listening"/);
    const said = waitForLine(hub, /shutdown did not finish/, 15_000);
    const sent = Date.now();
    hub.kill('SIGTERM');
    assert.match(await said, /"graceMs":5000/);
    assert.equal(await exited, 1);
    const took = Date.now() - sent;
    assert.ok(took >= 5500 && took < 12_000, `exited ${took} ms after SIGTERM (1 s timeout + 5 s grace)`);
  });

  it('a database that stays unreachable stops start-up with one clear line', () => {
    const run = spawnSync(process.execPath, [PROBE_HUB], {
      env: {
        PATH: process.env.PATH,
        ...testEnv(db, prefix, {
          HOSTPLANE_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
          HOSTPLANE_DATABASE_CONNECT_TIMEOUT_SECONDS: '2',
        }),
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 1);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^hostplane-hub: database unreachable after 2s \(\d+ attempts\): .*ECONNREFUSED/);
    const retries = run.stdout.split('\n').filter((l) => l.includes('database not reachable yet, retrying'));
    assert.ok(retries.length >= 2, 'it retried with backoff before giving up');
  });

  it('npm run migrate applies migrations to an empty database and reports status', async () => {
    const fresh = await createTestDatabase({ empty: true });
    try {
      const env = { PATH: process.env.PATH, ...testEnv(fresh, prefix) };
      const status = spawnSync(process.execPath, [MIGRATE, 'status'], { env, encoding: 'utf8' });
      assert.equal(status.status, 0, status.stderr);
      const up = spawnSync(process.execPath, [MIGRATE, 'up'], { env, encoding: 'utf8' });
      assert.equal(up.status, 0, up.stderr);
      const again = spawnSync(process.execPath, [MIGRATE, 'up'], { env, encoding: 'utf8' });
      assert.equal(again.stdout.trim(), 'database is up to date');
      const c = new Client({ connectionString: fresh.url });
      await c.connect();
      const { rows } = await c.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
      await c.end();
      const pending = status.stdout.split('\n').filter((l) => l.startsWith('pending')).length;
      assert.equal(pending, MIGRATIONS.length, 'an empty database has every migration pending');
      assert.equal(Number(rows[0]!.n), MIGRATIONS.length);
      const bad = spawnSync(process.execPath, [MIGRATE, 'sideways'], { env, encoding: 'utf8' });
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /unknown command "sideways"/);
    } finally {
      await fresh.drop();
    }
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testEnv } from './support/test-hub';
import { createTestDatabase, TestDatabase, testRedisPrefix } from './support/test-env';

const BOOT = join(__dirname, 'support/boot-without.js');

/**
 * A capability one domain needs from another is an injection token its owner provides: when the
 * provider is missing the hub does not start, and the error names what is missing (before, a
 * setter-injected port read 0 until someone registered it).
 */
describe('boot wiring: a missing capability stops the hub at boot', () => {
  let database: TestDatabase;

  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await database.drop();
  });

  function boot(leaveOut: string): Promise<{ code: number; stderr: string }> {
    const env = { ...process.env, BOOT_TEST_ENV: JSON.stringify(testEnv(database, testRedisPrefix())) };
    return new Promise((resolve) => {
      execFile(process.execPath, [BOOT, leaveOut], { env, timeout: 60_000 }, (err, _stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr });
      });
    });
  }

  it('the whole graph resolves (so the failures below are the missing providers)', async () => {
    const r = await boot('none');
    assert.equal(r.code, 0, r.stderr);
  });

  const cases: [string, string, RegExp][] = [
    ['the tunnel without the nodes domain’s NODE_RECORDS', 'node-records', /TunnelServer[\s\S]*Symbol\(NodeRecords\)/],
    [
      'nodes, scheduler and workloads without the instances domain’s counts',
      'instance-capabilities',
      /Symbol\((NodeOccupancy|NodeAllocations|WorkloadUsage)\)/,
    ],
    ['drains without the migrations domain’s DRAIN_DRIVER', 'migrations', /NodeDrains[\s\S]*Symbol\(DrainDriver\)/],
    ['users without the auth domain’s USER_SESSIONS', 'user-sessions', /UsersService[\s\S]*Symbol\(UserSessions\)/],
  ];
  for (const [what, leaveOut, names] of cases) {
    it(`refuses to start: ${what}`, async () => {
      const r = await boot(leaveOut);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /can't resolve dependencies/);
      assert.match(r.stderr, names);
    });
  }
});

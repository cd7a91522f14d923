import assert from 'node:assert/strict';
import { FAST_JOBS_ENV } from './agents';
import { HubProcess } from './hub-process';
import { Client, strongPassword, uniqueEmail } from './identity';
import { freePort } from './redis-server';
import { deleteRedisPrefix } from './test-hub';
import { createTestDatabase, tempDir, type TestDatabase, testRedisPrefix } from './test-env';

/**
 * N real hub processes on one database and Redis prefix, sharing one data dir (so one set of
 * generated keys, as replicas in production share HOSTPLANE_ENCRYPTION_KEY and the JWT keys),
 * and an admin who bootstrapped through the first.
 */
export class Replicas {
  private constructor(
    readonly db: TestDatabase,
    readonly prefix: string,
    readonly hubs: HubProcess[],
    readonly admin: Client,
  ) {}

  static async start(count: number, env: Record<string, string> = {}): Promise<Replicas> {
    const db = await createTestDatabase();
    const prefix = testRedisPrefix();
    const shared = { ...FAST_JOBS_ENV, HOSTPLANE_DATA_DIR: tempDir(), ...env };
    const hubs: HubProcess[] = [];
    for (let i = 0; i < count; i++) hubs.push(new HubProcess(db, prefix, await freePort(), shared));
    // The first migrates the database; the others start on it together.
    await hubs[0]!.start();
    await Promise.all(hubs.slice(1).map((h) => h.start()));
    const user = { email: uniqueEmail('admin'), password: strongPassword() };
    const boot = await hubs[0]!
      .asTestHub()
      .request('/v1/auth/bootstrap', { method: 'POST', json: { ...user, organization_name: 'Ops' } });
    assert.equal(boot.status, 201, boot.text);
    const admin = new Client(
      hubs[0]!.asTestHub(),
      { bearer: boot.body.access_token },
      { id: boot.body.user.id, ...user },
      boot.body.organization.id,
      boot.body.organization.id,
    );
    return new Replicas(db, prefix, hubs, admin);
  }

  /** The admin, talking to replica `i`. */
  via(i: number): Client {
    const a = this.admin;
    return new Client(this.hubs[i]!.asTestHub(), a.credential, a.user, a.personalOrgId, a.defaultOrg);
  }

  /** `Authorization` and organization headers for raw WebSocket and fetch calls. */
  get headers(): Record<string, string> {
    return { authorization: `Bearer ${this.admin.accessToken}`, 'x-org-id': this.admin.defaultOrg! };
  }

  wsUrl(i: number, path: string): string {
    return this.hubs[i]!.url.replace('http', 'ws') + path;
  }

  async close(): Promise<void> {
    await Promise.all(this.hubs.map((h) => h.kill('SIGTERM')));
    await this.db.drop();
    await deleteRedisPrefix(this.prefix);
  }
}

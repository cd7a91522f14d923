import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const adminUrl = process.env.HOSTPLANE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const testRedisUrl = process.env.HOSTPLANE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const runId = process.env.HOSTPLANE_TEST_RUN_ID ?? `adhoc${randomBytes(3).toString('hex')}`;
const template = process.env.HOSTPLANE_TEST_TEMPLATE_DB;

export function uniqueName(prefix = 'x'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

async function admin(sql: string): Promise<void> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/**
 * A database of this test's own, cloned from the run's migrated template (fast, and the schema
 * is exactly what migrations produce). Without a template (a file run by hand) it is empty and
 * the hub's auto-migration fills it.
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const name = `hp_test_${runId}_${randomBytes(4).toString('hex')}`;
  await admin(
    template && !options.empty ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`,
  );
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

export function testRedisPrefix(): string {
  return `hp_test_${runId}_${randomBytes(4).toString('hex')}`;
}

export function tempDir(prefix = 'hostplane-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

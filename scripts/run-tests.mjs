#!/usr/bin/env node
// Runs every compiled test file with node's test runner. One run owns a template database
// (created and migrated here) and a Redis prefix; each test file clones the template into its
// own database, so files run in parallel without seeing each other's rows. All are dropped after.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pg = require('pg');
const root = new URL('..', import.meta.url).pathname;

const adminUrl = process.env.HOSTPLANE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.HOSTPLANE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const template = `hp_test_${runId}_tpl`;
const filters = process.argv.slice(2);

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

async function admin(sql) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

async function dropRunDatabases() {
  const { rows } = await admin(`SELECT datname FROM pg_database WHERE datname LIKE 'hp_test_${runId}%'`);
  for (const { datname } of rows) await admin(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
}

const files = [
  'apps/hub/dist/test',
  'apps/agent/dist/test',
  'apps/cli/dist/test',
  'libs/protocol/dist/test',
  'libs/config/dist/test',
  'libs/sdk/dist/test',
]
  .map((d) => join(root, d))
  .filter((d) => {
    try {
      return statSync(d).isDirectory();
    } catch {
      return false;
    }
  })
  .flatMap(findTests)
  .filter((f) => !f.includes('/support/') && !f.includes('/fixtures/'))
  .filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

await admin(`CREATE DATABASE "${template}"`);
const base = new URL(adminUrl);
base.pathname = `/${template}`;
const migrate = spawn(process.execPath, [join(root, 'apps/hub/dist/src/database/migrate.js'), 'up'], {
  env: {
    ...process.env,
    HOSTPLANE_ENV: 'test',
    HOSTPLANE_DATABASE_URL: base.toString(),
    HOSTPLANE_DATA_DIR: join(root, '.hostplane/test'),
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const migrated = await new Promise((r) => migrate.on('exit', r));
if (migrated !== 0) {
  await dropRunDatabases();
  console.error('migrating the test template database failed');
  process.exit(1);
}

const concurrency = process.env.HOSTPLANE_TEST_CONCURRENCY ?? '3';
// A file that hangs (a close waiting on a peer that never answers) fails by name after this bound
// instead of holding the whole run until CI's own limit. The slowest file takes about 4 minutes.
const fileTimeoutMs = Number(process.env.HOSTPLANE_TEST_FILE_TIMEOUT_SECONDS ?? 900) * 1000;
const child = spawn(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, `--test-timeout=${fileTimeoutMs}`, '--test-reporter=spec', ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      HOSTPLANE_TEST_RUN_ID: runId,
      HOSTPLANE_TEST_TEMPLATE_DB: template,
      HOSTPLANE_TEST_PG_URL: adminUrl,
      HOSTPLANE_TEST_REDIS_URL: redisUrl,
    },
  },
);
const stop = () => child.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
const code = await new Promise((r) => child.on('exit', (c, sig) => r(c ?? (sig ? 1 : 0))));
await dropRunDatabases().catch((e) => console.error(`dropping test databases failed: ${e.message}`));
process.exit(code);

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load-config';
import { tempDir } from './support/test-env';

const HUB_MAIN = join(__dirname, '../src/main.js');
const key = Buffer.alloc(32, 7).toString('base64');
const jwt = `k1:${Buffer.alloc(32, 9).toString('base64')}`;
const productionEnv = {
  HOSTPLANE_ENV: 'production',
  HOSTPLANE_DATABASE_URL: 'postgres://u@db.example/hp',
  HOSTPLANE_REDIS_URL: 'redis://cache.example:6379',
  HOSTPLANE_PUBLIC_URL: 'https://hub.example.com/',
  HOSTPLANE_ENCRYPTION_KEY: key,
  HOSTPLANE_JWT_KEYS: jwt,
};

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected the config to be refused');
}

describe('configuration', () => {
  it('loads a complete production environment', () => {
    const c = loadConfig({ env: productionEnv });
    assert.equal(c.env, 'production');
    assert.equal(c.http.publicUrl, 'https://hub.example.com');
    assert.equal(c.http.port, 8080);
    assert.equal(c.secrets.encryptionKey.length, 32);
    assert.deepEqual(
      c.secrets.jwtKeys.map((k) => k.kid),
      ['k1'],
    );
    assert.equal(c.redis.prefix, 'hp');
  });

  it('names the missing variable when a production secret is absent', () => {
    const { HOSTPLANE_JWT_KEYS: _drop, ...env } = productionEnv;
    assert.match(
      configError(() => loadConfig({ env })),
      /^config: HOSTPLANE_JWT_KEYS is required in production/,
    );
  });

  it('names the variable and the bad value of a malformed setting', () => {
    const msg = configError(() => loadConfig({ env: { ...productionEnv, HOSTPLANE_PORT: 'eighty' } }));
    assert.equal(msg, 'config: HOSTPLANE_PORT must be an integer between 0 and 65535 (got "eighty")');
  });

  it('never prints the value of a secret it refuses', () => {
    const msg = configError(() =>
      loadConfig({ env: { ...productionEnv, HOSTPLANE_DATABASE_URL: 'mysql://root:hunter2@db/x' } }),
    );
    assert.match(msg, /HOSTPLANE_DATABASE_URL must be a URL starting with postgres:\/\//);
    assert.doesNotMatch(msg, /hunter2/);
  });

  it('reads a YAML file, and the environment overrides it', () => {
    const dir = tempDir();
    const file = join(dir, 'hub.yaml');
    writeFileSync(file, `http:\n  port: 9001\n  host: 127.0.0.1\nrateLimit:\n  max: 42\nlog:\n  level: debug\n`);
    const c = loadConfig({ env: { ...productionEnv, HOSTPLANE_CONFIG: file, HOSTPLANE_LOG_LEVEL: 'warn' } });
    assert.equal(c.http.port, 9001);
    assert.equal(c.http.host, '127.0.0.1');
    assert.equal(c.rateLimit.max, 42);
    assert.equal(c.log.level, 'warn');
  });

  it('names the YAML key of a bad value from the file', () => {
    const dir = tempDir();
    const file = join(dir, 'hub.yaml');
    writeFileSync(file, `rateLimit:\n  windowSeconds: -5\n`);
    assert.match(
      configError(() => loadConfig({ env: { ...productionEnv }, file })),
      /hub\.yaml: rateLimit\.windowSeconds must be an integer/,
    );
  });

  it('refuses a file that is not YAML', () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'http: [unclosed');
    assert.match(
      configError(() => loadConfig({ env: productionEnv, file })),
      /is not valid YAML/,
    );
  });

  it('generates development secrets once and keeps them 0600 under the data dir', () => {
    const dataDir = tempDir();
    const env = { HOSTPLANE_ENV: 'development', HOSTPLANE_DATA_DIR: dataDir };
    const first = loadConfig({ env });
    const second = loadConfig({ env });
    assert.deepEqual(first.secrets.encryptionKey, second.secrets.encryptionKey);
    assert.deepEqual(first.secrets.jwtKeys, second.secrets.jwtKeys);
    const file = join(dataDir, 'secrets.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(JSON.parse(readFileSync(file, 'utf8')).encryptionKey);
  });

  it('the hub process refuses a bad value with exit code 1 and exactly one line naming it', () => {
    const run = spawnSync(process.execPath, [HUB_MAIN], {
      env: { PATH: process.env.PATH, ...productionEnv, HOSTPLANE_REDIS_URL: 'http://not-redis' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 1);
    const lines = run.stderr.trim().split('\n');
    assert.deepEqual(lines, [
      'hostplane-hub: config: HOSTPLANE_REDIS_URL must be a URL starting with redis:// or rediss://, or several comma-separated (the seeds of a Redis Cluster)',
    ]);
    assert.equal(run.stdout, '');
  });

  it('the hub process reads --config', () => {
    const dir = tempDir();
    const file = join(dir, 'hub.yaml');
    writeFileSync(file, 'http:\n  port: 99999\n');
    const run = spawnSync(process.execPath, [HUB_MAIN, '--config', file], {
      env: { PATH: process.env.PATH, ...productionEnv },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr.trim(),
      `hostplane-hub: config: ${file}: http.port must be an integer between 0 and 65535 (got 99999)`,
    );
  });
});

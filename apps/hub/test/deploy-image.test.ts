import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  createTestDatabase,
  tempDir,
  testRedisPrefix,
  testRedisUrl,
  uniqueName,
  type TestDatabase,
} from './support/test-env';

const run = promisify(execFile);
const REPO = join(__dirname, '../../../..');
/** A fixed tag, like hostplane/busybox:test: the next run rebuilds it warm. */
const IMAGE = 'hostplane/hub:test';
const SHUTDOWN_TIMEOUT_SECONDS = 10;
/** serve()'s hard exit comes 5 s after the shutdown timeout: the longest a SIGTERM may take. */
const SHUTDOWN_BOUND_MS = (SHUTDOWN_TIMEOUT_SECONDS + 5) * 1000;

const dockerd = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
const skip =
  dockerd.status === 0
    ? false
    : 'dockerd is not running (scripts/services.sh docker starts it): the hub image cannot be built here';

const docker = async (...args: string[]) => (await run('docker', args, { maxBuffer: 16 << 20 })).stdout.trim();

/** What the container wrote, stdout and stderr. */
async function logs(name: string): Promise<string> {
  const { stdout, stderr } = await run('docker', ['logs', name], { maxBuffer: 16 << 20 });
  return stdout + stderr;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The hub's configuration as an operator passes it to the container, on the host's services. */
function hubEnv(db: TestDatabase, port: number): string[] {
  const env = {
    HOSTPLANE_ENV: 'production',
    HOSTPLANE_HOST: '127.0.0.1',
    HOSTPLANE_PORT: String(port),
    HOSTPLANE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    HOSTPLANE_DATABASE_URL: db.url,
    HOSTPLANE_DATABASE_AUTO_MIGRATE: 'false',
    HOSTPLANE_REDIS_URL: testRedisUrl,
    HOSTPLANE_REDIS_PREFIX: testRedisPrefix(),
    HOSTPLANE_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    HOSTPLANE_JWT_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    HOSTPLANE_SHUTDOWN_TIMEOUT_SECONDS: String(SHUTDOWN_TIMEOUT_SECONDS),
  };
  return Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
}

/** The Kubernetes Deployment's init container command, as the manifest gives it. */
function waitForMigrationsCommand(): string[] {
  const text = readFileSync(join(REPO, 'deploy/kubernetes/deployment.yaml'), 'utf8');
  const deployment = parseAllDocuments(text)[0]!.toJS();
  return deployment.spec.template.spec.initContainers[0].command;
}

describe('the hub image: built from the checkout, run on the host services', { skip }, () => {
  const containers: string[] = [];
  const databases: TestDatabase[] = [];
  let built: { seconds: number; report: string };

  before(async () => {
    const previous = await docker('image', 'inspect', '-f', '{{.Id}}', IMAGE).catch(() => '');
    const started = Date.now();
    const { stderr } = await run('bash', [join(REPO, 'deploy/docker/hub-image.sh'), 'test'], {
      maxBuffer: 16 << 20,
    });
    built = { seconds: (Date.now() - started) / 1000, report: stderr.trim() };
    // The image this tag named before is left untagged by a rebuild: remove it (layers still used stay).
    if (previous && previous !== (await docker('image', 'inspect', '-f', '{{.Id}}', IMAGE)))
      await docker('rmi', previous).catch(() => undefined);
  });

  after(async () => {
    for (const name of containers) await docker('rm', '-f', name).catch(() => undefined);
    for (const db of databases) await db.drop();
  });

  it('is non-root, on the local base, with the tree checked in the build', async (t) => {
    t.diagnostic(`built in ${built.seconds.toFixed(1)} s: ${built.report}`);
    const config = JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config}}', IMAGE));
    assert.equal(config.User, '10001:10001');
    assert.deepEqual(config.Entrypoint, ['/usr/bin/tini', '--']);
    assert.ok(config.Env.includes(`NODE_VERSION=${process.version}`), 'the base carries the host Node');
    // The verify stage's report: the native addons loaded in the image as the hub's user.
    const report = JSON.parse(
      await docker(
        'run',
        '--rm',
        '--entrypoint',
        'node',
        IMAGE,
        '-p',
        'require("fs").readFileSync("deploy/docker/verified.json", "utf8")',
      ),
    );
    assert.equal(report.node, process.version);
    assert.ok(report.addons.includes('argon2'), JSON.stringify(report));
    // The check fails, naming the package, when an addon does not load (here: an empty file
    // mounted over argon2's build, as a base with another ABI or a missing library would make it).
    const broken = join(tempDir('hp-image-'), 'argon2.node');
    writeFileSync(broken, '');
    const check = spawnSync(
      'docker',
      [
        'run',
        '--rm',
        '-v',
        `${broken}:/app/node_modules/argon2/build/Release/argon2.node:ro`,
        '--entrypoint',
        'node',
        IMAGE,
        'deploy/docker/verify-hub-tree.mjs',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(check.status, 1, check.stderr);
    assert.match(check.stderr, /verify-hub-tree: argon2 does not load here/);
    // Nothing but the hub's data directory and /tmp is writable by the hub's user.
    const write = spawnSync(
      'docker',
      ['run', '--rm', '--entrypoint', 'node', IMAGE, '-e', 'require("fs").writeFileSync("apps/hub/x", "")'],
      {
        encoding: 'utf8',
      },
    );
    assert.notEqual(write.status, 0);
    assert.match(write.stderr, /EACCES/);
  });

  it('the Kubernetes init container waits for the migration Job, which migrates from the image', async () => {
    const db = await createTestDatabase({ empty: true });
    databases.push(db);
    const [entrypoint, ...args] = waitForMigrationsCommand();
    const name = uniqueName('hp-image-wait-');
    containers.push(name);
    const env = hubEnv(db, 0);
    await docker('run', '-d', '--name', name, '--network', 'host', ...env, '--entrypoint', entrypoint!, IMAGE, ...args);
    // An empty database: every migration is pending, so it waits.
    await until('the init container to report waiting', 60_000, async () =>
      /waiting for the hostplane-migrate Job/.test(await logs(name)) ? true : undefined,
    );
    assert.equal(await docker('inspect', '-f', '{{.State.Running}}', name), 'true');
    // The Job's command, run from the image.
    const job = await docker(
      'run',
      '--rm',
      '--network',
      'host',
      ...env,
      '--entrypoint',
      'node',
      IMAGE,
      'apps/hub/dist/src/database/migrate.js',
      'up',
    );
    assert.match(job, /migration/i);
    const exit = await docker('wait', name);
    assert.equal(exit, '0', await logs(name));
  });

  it('serves /health/live, /health/ready and /install.sh on PostgreSQL and Redis, as uid 10001, and stops on SIGTERM', async (t) => {
    const db = await createTestDatabase();
    databases.push(db);
    const port = await freePort();
    const name = uniqueName('hp-image-hub-');
    containers.push(name);
    await docker('run', '-d', '--name', name, '--network', 'host', ...hubEnv(db, port), IMAGE);
    const base = `http://127.0.0.1:${port}`;
    const startedAt = Date.now();
    try {
      await until('/health/live', 90_000, async () => ((await fetch(`${base}/health/live`)).ok ? true : undefined));
      t.diagnostic(`live ${Date.now() - startedAt} ms after docker run`);
      await until('/health/ready', 30_000, async () => ((await fetch(`${base}/health/ready`)).ok ? true : undefined));
    } catch (err) {
      throw new Error(`${(err as Error).message}; container log:\n${await logs(name).catch(() => '')}`);
    }

    // Every process of the container (tini and node) runs as the hub's user.
    const top = await docker('top', name, '-o', 'pid,uid,comm');
    const rows = top
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    // (the HEALTHCHECK's node may be running too)
    assert.equal(rows.filter((r) => r[2] === 'tini').length, 1, top);
    assert.ok(
      rows.some((r) => r[2] === 'node'),
      top,
    );
    assert.ok(
      rows.every((r) => r[1] === '10001'),
      top,
    );

    const install = await fetch(`${base}/install.sh`);
    assert.equal(install.status, 200);
    assert.equal(await install.text(), readFileSync(join(REPO, 'apps/hub/assets/install.sh'), 'utf8'));
    // The agent bundle built with the image is the one it serves.
    const platform = `${{ linux: 'linux', darwin: 'darwin', sunos: 'illumos' }[process.platform as string]}-${process.arch}`;
    const bundle = readFileSync(join(REPO, `apps/hub/agent-bundles/hostplane-agent-${platform}.tar.gz`));
    const sums = await fetch(`${base}/v1/agent/bundle/${platform}.sha256`);
    assert.equal(sums.status, 200);
    assert.match(await sums.text(), new RegExp(`^${createHash('sha256').update(bundle).digest('hex')} `));

    // SIGTERM reaches node through tini; the hub drains and exits 0 within its bound.
    const stopAt = Date.now();
    await docker('kill', '--signal', 'TERM', name);
    const exit = await docker('wait', name);
    const tookMs = Date.now() - stopAt;
    t.diagnostic(`stopped ${tookMs} ms after SIGTERM`);
    const log = await logs(name);
    assert.equal(exit, '0', log);
    assert.ok(tookMs < SHUTDOWN_BOUND_MS, `stopped in ${tookMs} ms`);
    assert.match(log, /"signal":"SIGTERM"/);
    assert.match(log, /"msg":"stopped"/);
  });
});

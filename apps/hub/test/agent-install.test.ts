import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import plist from 'plist';
import { agentEnv, FAST_JOBS_ENV, runCommand, waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';
import { tempDir } from './support/test-env';

const REPO = join(__dirname, '../../../..');
const SMF_DTD = join(REPO, 'apps/hub/test/fixtures/smf/service_bundle.dtd.1');
const PLATFORM = `${process.platform === 'sunos' ? 'illumos' : process.platform}-${process.arch}`;
const PREFIX = '/opt/hostplane-agent';

/** `curl <hub>/install.sh | sh -s -- …` exactly as the one-liner runs it (sh is dash on Debian). */
function runInstaller(hub: string, args: string[], env: Record<string, string> = {}) {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return runCommand(
    'sh',
    ['-c', `curl -fsSL "$HUB/install.sh" | sh -s -- ${quoted}`],
    { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', HUB: hub, ...env },
    180_000,
  );
}

function treeDigest(root: string): string {
  if (!existsSync(root)) return 'absent';
  return execFileSync('sh', ['-c', 'cd "$1" && find . -print | LC_ALL=C sort', 'sh', root], { encoding: 'utf8' });
}

/** A proxy in front of the hub that flips one byte of every bundle it passes (a corrupting middlebox). */
async function startTamperingProxy(hub: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(hub + req.url);
      const body = Buffer.from(await upstream.arrayBuffer());
      if (/^\/v1\/agent\/bundle\/[^/.]+$/.test(req.url ?? '') && body.length > 1000) body[500] ^= 0xff;
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
      res.end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('one-line agent install: install.sh and the agent bundle served by the hub', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let bundleDir: string;
  let root: string;
  const agents: { kill(): void }[] = [];

  before(async () => {
    bundleDir = tempDir('hostplane-bundles-');
    root = tempDir('hostplane-install-root-');
    // The real build, as `npm run bundle:agent` runs it (tsc has built the agent already).
    execFileSync(process.execPath, [join(REPO, 'scripts/bundle-agent.mjs'), '--out', bundleDir], {
      cwd: REPO,
      stdio: 'pipe',
    });
    ctx = await IdentityContext.start({ env: { ...FAST_JOBS_ENV, HOSTPLANE_AGENT_BUNDLE_DIR: bundleDir } });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
  });
  after(async () => {
    for (const a of agents) a.kill();
    await ctx?.close();
    for (const dir of [bundleDir, root]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function registrationToken(): Promise<string> {
    const t = await owner.request('/v1/nodes/register-token', { method: 'POST', json: { max_uses: 1 } });
    assert.equal(t.status, 201, t.text);
    return t.body.token as string;
  }

  it('serves a POSIX script that shellcheck passes, and documents the routes', async () => {
    const res = await ctx.hub.request('/install.sh');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/x-shellscript/);
    assert.match(res.text, /^#!\/bin\/sh\n/);
    const dir = tempDir('hostplane-script-');
    const file = join(dir, 'install.sh');
    execFileSync('sh', ['-c', 'cat > "$1"', 'sh', file], { input: res.text });
    // shellcheck exits non-zero on any finding, at every severity.
    execFileSync('shellcheck', ['--shell=sh', '--severity=style', file], { stdio: 'pipe' });
    execFileSync('sh', ['-n', file]);
    rmSync(dir, { recursive: true });

    const spec = (await ctx.hub.request('/openapi.json')).body;
    assert.ok(spec.paths['/install.sh'].get);
    assert.ok(spec.paths['/v1/agent/bundle/{platform}'].get);
    assert.ok(spec.paths['/v1/agent/bundle/{platform}.sha256'].get);
  });

  it('serves the bundle with its SHA-256 in a header and at .sha256; a platform without one is a clear 404', async () => {
    const res = await fetch(`${ctx.hub.url}/v1/agent/bundle/${PLATFORM}`);
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    const sha = createHash('sha256').update(body).digest('hex');
    assert.equal(res.headers.get('x-checksum-sha256'), sha);
    assert.equal(res.headers.get('digest'), `sha-256=${Buffer.from(sha, 'hex').toString('base64')}`);
    assert.equal(Number(res.headers.get('content-length')), body.length);
    const file = join(bundleDir, `hostplane-agent-${PLATFORM}.tar.gz`);
    assert.deepEqual(body, readFileSync(file));
    const sums = await ctx.hub.request(`/v1/agent/bundle/${PLATFORM}.sha256`);
    assert.equal(sums.text, `${sha}  hostplane-agent-${PLATFORM}.tar.gz\n`);

    const other = PLATFORM === 'illumos-x64' ? 'darwin-arm64' : 'illumos-x64';
    for (const path of [`/v1/agent/bundle/${other}`, `/v1/agent/bundle/${other}.sha256`]) {
      const missing = await ctx.hub.request(path);
      assert.equal(missing.status, 404, missing.text);
      assert.equal(missing.body.code, 'agent_bundle_not_found');
      assert.match(missing.body.error, new RegExp(`no agent bundle for ${other}.*npm run bundle:agent`));
    }
    const bad = await ctx.hub.request('/v1/agent/bundle/windows-x64');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'validation_failed');
  });

  it('refuses a bundle altered on the way, changing nothing', async () => {
    const proxy = await startTamperingProxy(ctx.hub.url);
    const tamperedRoot = tempDir('hostplane-tampered-');
    try {
      const token = await registrationToken();
      const run = await runInstaller(proxy.url, ['--hub', proxy.url, '--token', token, '--root', tamperedRoot]);
      assert.equal(run.code, 1, run.output);
      assert.match(run.output, /error: checksum mismatch for .*expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}/);
      assert.match(run.output, /nothing was installed/);
      assert.deepEqual(readdirSync(tamperedRoot), [], 'nothing written below the root');
      const nodes = await owner.request('/v1/nodes?limit=500');
      assert.equal(nodes.body.total, 0, 'no node registered');
    } finally {
      proxy.server.close();
      rmSync(tamperedRoot, { recursive: true, force: true });
    }
  });

  it('says what to do when Node.js is absent, changing nothing', async () => {
    // A PATH with everything the script uses but node.
    const bin = tempDir('hostplane-no-node-');
    const empty = tempDir('hostplane-no-node-root-');
    for (const tool of [
      'sh',
      'curl',
      'tar',
      'gzip',
      'sha256sum',
      'cut',
      'uname',
      'id',
      'mktemp',
      'rm',
      'dirname',
      'cat',
    ]) {
      const found = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      symlinkSync(found, join(bin, tool));
    }
    try {
      const run = await runInstaller(ctx.hub.url, ['--hub', ctx.hub.url, '--token', 'hp_reg_x', '--root', empty], {
        PATH: bin,
      });
      assert.equal(run.code, 1, run.output);
      assert.match(run.output, /Node\.js 20\.11 or newer is needed and was not found on PATH .*Nothing was changed\./);
      assert.deepEqual(readdirSync(empty), []);
    } finally {
      rmSync(bin, { recursive: true, force: true });
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('a token the hub refuses leaves nothing behind; a malformed one is refused before any download', async () => {
    const empty = tempDir('hostplane-refused-');
    try {
      const refused = await runInstaller(ctx.hub.url, [
        '--hub',
        ctx.hub.url,
        '--token',
        `hp_reg_${'a'.repeat(38)}`,
        '--root',
        empty,
      ]);
      assert.equal(refused.code, 1, refused.output);
      assert.match(refused.output, /register: .*\(registration_refused\)/);
      assert.match(refused.output, /registration failed \(the reason is above\); nothing else was changed/);
      assert.deepEqual(readdirSync(empty), [], 'the unpacked bundle and its directories are gone');

      const malformed = await runInstaller(ctx.hub.url, ['--hub', ctx.hub.url, '--token', 'hp_agt_x', '--root', empty]);
      assert.equal(malformed.code, 1);
      assert.match(malformed.output, /--token must be a registration token starting with hp_reg_/);
      assert.doesNotMatch(malformed.output, /downloading/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('installs in a root, registers, writes a 0600 config and a valid unit; the installed agent comes online', async () => {
    const token = await registrationToken();
    const run = await runInstaller(ctx.hub.url, ['--hub', ctx.hub.url, '--token', token, '--root', root]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /sha256 [0-9a-f]{64} verified/);

    const config = join(root, 'etc/hostplane/agent.yaml');
    assert.equal(statSync(config).mode & 0o777, 0o600);
    assert.match(
      readFileSync(config, 'utf8'),
      new RegExp(`^hub_url: ${ctx.hub.url}$[\\s\\S]*^state_dir: /var/lib/hostplane-agent$`, 'm'),
    );
    const credentials = JSON.parse(readFileSync(join(root, 'var/lib/hostplane-agent/credentials.json'), 'utf8'));
    assert.equal(statSync(join(root, 'var/lib/hostplane-agent/credentials.json')).mode & 0o777, 0o600);
    const node = await owner.request(`/v1/nodes/${credentials.node_id}`);
    assert.equal(node.status, 200, node.text);
    assert.equal(node.body.status, 'pending');

    const unitFile = join(root, 'etc/systemd/system/hostplane-agent.service');
    const unit = readFileSync(unitFile, 'utf8');
    assert.match(
      unit,
      new RegExp(`^ExecStart=${PREFIX}/bin/hostplane-agent run --config /etc/hostplane/agent.yaml$`, 'm'),
    );
    assert.match(unit, /^User=root$/m);
    // systemd-analyze checks every directive and that ExecStart is an executable: the unit as
    // installed, its program path seen from inside the root. A bad value is only a warning, so
    // the check is also that it says nothing.
    const check = join(tempDir('hostplane-unit-'), 'hostplane-agent.service');
    writeFileSync(check, unit.replace(`ExecStart=${PREFIX}/`, `ExecStart=${root}${PREFIX}/`));
    const verify = spawnSync('systemd-analyze', ['verify', check], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', 'systemd-analyze has no complaint');

    // The installed tree runs on its own: its launcher, its node_modules, nothing from this checkout.
    const launcher = join(root, PREFIX, 'bin/hostplane-agent');
    const child = startInstalledAgent(
      launcher,
      ['run', '--config', config],
      agentEnv(join(root, 'var/lib/hostplane-agent'), {
        HOSTPLANE_AGENT_CONFIG: config,
      }),
    );
    agents.push(child);
    await waitFor(
      'the installed agent online',
      async () => {
        const n = await owner.request(`/v1/nodes/${credentials.node_id}`);
        return n.body.status === 'online' ? n.body : undefined;
      },
      30_000,
    );
    child.kill();
    await child.exited;
  });

  it('renders an SMF manifest that the service_bundle DTD accepts and a launchd plist that parses', async () => {
    const agentBin = join(root, PREFIX, 'bin/hostplane-agent');
    const other = tempDir('hostplane-service-files-');
    try {
      for (const platform of ['illumos', 'darwin']) {
        const r = await runCommand(
          agentBin,
          [
            'service',
            'install',
            '--platform',
            platform,
            '--root',
            other,
            '--no-enable',
            '--exec',
            `${PREFIX}/bin/hostplane-agent`,
            '--user',
            'hostplane',
          ],
          { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        );
        assert.equal(r.code, 0, r.output);
      }
      const manifest = join(other, 'var/svc/manifest/site/hostplane-agent.xml');
      execFileSync('xmllint', ['--noout', '--nonet', '--dtdvalid', SMF_DTD, manifest], { stdio: 'pipe' });
      const xml = readFileSync(manifest, 'utf8');
      assert.match(xml, /<method_credential user="hostplane"\/>/);
      assert.match(
        xml,
        new RegExp(`exec="${PREFIX}/bin/hostplane-agent run --config /etc/hostplane/agent.yaml --fatal-exit-code 96"`),
      );

      const parsed = plist.parse(
        readFileSync(join(other, 'Library/LaunchDaemons/com.hostplane.agent.plist'), 'utf8'),
      ) as Record<string, unknown>;
      assert.equal(parsed.Label, 'com.hostplane.agent');
      assert.deepEqual(parsed.ProgramArguments, [
        `${PREFIX}/bin/hostplane-agent`,
        'run',
        '--config',
        '/etc/hostplane/agent.yaml',
        '--fatal-exit-code',
        '0',
      ]);
      assert.equal(parsed.UserName, 'hostplane');
      assert.deepEqual(parsed.KeepAlive, { SuccessfulExit: false });
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('a re-run upgrades in place: same node, config and credentials kept, one version, no token needed', async () => {
    const config = join(root, 'etc/hostplane/agent.yaml');
    const credentialsFile = join(root, 'var/lib/hostplane-agent/credentials.json');
    const before = { config: readFileSync(config), credentials: readFileSync(credentialsFile), tree: treeDigest(root) };
    const nodesBefore = (await owner.request('/v1/nodes?limit=500')).body.total;

    const run = await runInstaller(ctx.hub.url, ['--hub', ctx.hub.url, '--root', root]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /already registered/);
    assert.match(run.output, /config .* kept/);
    assert.deepEqual(readFileSync(config), before.config);
    assert.deepEqual(readFileSync(credentialsFile), before.credentials);
    assert.equal(treeDigest(root), before.tree, 'the same files, nothing left over');
    assert.equal((await owner.request('/v1/nodes?limit=500')).body.total, nodesBefore);

    // A rebuilt bundle (another checksum) replaces the version and removes the old one.
    const versions = readdirSync(join(root, PREFIX, 'versions'));
    assert.equal(versions.length, 1);
    const bundle = join(bundleDir, `hostplane-agent-${PLATFORM}.tar.gz`);
    execFileSync('sh', [
      '-c',
      'gzip -dc "$1" > "$1.tar" && gzip -n -1 -c "$1.tar" > "$1" && rm "$1.tar"',
      'sh',
      bundle,
    ]);
    const upgrade = await runInstaller(ctx.hub.url, ['--hub', ctx.hub.url, '--root', root]);
    assert.equal(upgrade.code, 0, upgrade.output);
    const after = readdirSync(join(root, PREFIX, 'versions'));
    assert.equal(after.length, 1);
    assert.notEqual(after[0], versions[0]);
    assert.match(readFileSync(join(root, PREFIX, 'bin/hostplane-agent'), 'utf8'), new RegExp(`versions/${after[0]}/`));
    assert.deepEqual(readFileSync(credentialsFile), before.credentials);
  });
});

/** The installed launcher, started as a service manager would start it. */
function startInstalledAgent(file: string, args: string[], env: Record<string, string>) {
  mkdirSync(env.HOSTPLANE_AGENT_STATE_DIR!, { recursive: true });
  const child = spawn(file, args, { env, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return { kill: () => child.kill('SIGTERM'), exited };
}

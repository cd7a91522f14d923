import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IdentityContext } from '../../hub/test/support/identity';
import type { TestNode } from '../../hub/test/support/agents';
import type * as NodePty from 'node-pty';
import { cliHome, hpctl, HPCTL, hubAgents, hubFleet, hubIdentity, spawnHpctl } from './support/hpctl';

const ECHO_WORKLOAD = {
  name: 'echo',
  driver: 'process',
  startup: 'echo ready; while read -r line; do echo "got: $line"; done',
  resources: { cpu_cores: 0.1, memory_bytes: 64 * 1024 * 1024, disk_bytes: 0 },
  ready_pattern: '^ready$',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 1 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

describe('hpctl with a running instance on a real agent (process driver)', () => {
  let ctx: IdentityContext;
  let nodes: TestNode[];
  let env: Record<string, string>;
  let workloadId: string;
  let instanceId: string;

  const json = (stdout: string) => JSON.parse(stdout) as unknown;

  before(async () => {
    ctx = await hubIdentity.IdentityContext.start({ env: hubFleet.FLEET_ENV });
    const owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    nodes = [];
    for (let i = 0; i < 2; i++) nodes.push(await hubAgents.registerNode(owner, ctx.hub.url, hubFleet.FLEET_ENV));
    for (const node of nodes) {
      node.start();
      await node.waitStatus('online', 60_000);
      await hubAgents.waitFor('inventory', async () =>
        (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
      );
    }
    workloadId = (await owner.request('/v1/workloads', { method: 'POST', json: ECHO_WORKLOAD })).body.id;
    // The admin's session (an access token and the organization, from the environment): the platform admin's
    // workloads may run on a node that cannot confine a tenant's.
    env = cliHome({
      HOSTPLANE_URL: ctx.hub.url,
      HOSTPLANE_TOKEN: owner.credential.bearer!,
      HOSTPLANE_ORG: ctx.admin.personalOrgId,
    });
  });
  after(async () => {
    await Promise.all((nodes ?? []).map((n) => n.stop()));
    await ctx?.close();
  });

  it('deploys a process workload and waits with plain progress lines off a tty', async () => {
    const res = await hpctl(
      ['deploy', '--name', 'echo-1', '--workload', workloadId, '--node', nodes[0].id, '--wait', '-o', 'json'],
      env,
    );
    assert.equal(res.code, 0, `${res.stderr}\n${res.stdout}`);
    const d = json(res.stdout) as { status: string; instance_id: string };
    assert.equal(d.status, 'running');
    assert.match(res.stderr, /^deploy: \d+%/m);
    instanceId = d.instance_id;
  });

  it('round-trips the console: piped input reaches the instance and its answer comes back', async () => {
    const child = spawnHpctl(['instances', 'console', instanceId], env);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)));
    await hubAgents.waitFor('the scrollback', async () => (out.includes('ready') ? true : undefined));
    child.stdin!.write('ping-42\n');
    await hubAgents.waitFor('the echo', async () => (out.includes('got: ping-42') ? true : undefined));
    child.stdin!.end();
    assert.equal(await exited, 0);
  });

  it('round-trips the console through a pty: raw keys in, output back, Ctrl-] detaches', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pty = require('node-pty') as typeof NodePty;
    const term = pty.spawn(process.execPath, [HPCTL, 'instances', 'console', instanceId], { cols: 100, rows: 30, env });
    let seen = '';
    term.onData((d) => (seen += d));
    const exited = new Promise<number>((r) => term.onExit((e) => r(e.exitCode)));
    await hubAgents.waitFor('the live console', async () => (seen.includes('ready') ? true : undefined));
    term.write('pty-7\n');
    await hubAgents.waitFor('the echo', async () => (seen.includes('got: pty-7') ? true : undefined));
    term.resize(120, 40);
    term.write('\x1d');
    assert.equal(await exited, 0);
  });

  it('uploads 50 MB with TUS, resumes after the upload is cut, and the file arrives whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hpctl-up-'));
    const local = join(dir, 'big.bin');
    const content = randomBytes(50 * 1024 * 1024);
    writeFileSync(local, content);
    const first = spawnHpctl(['files', 'put', instanceId, local, 'big.bin', '--chunk-mib', '4'], env);
    let stderr = '';
    await new Promise<void>((resolve) => {
      first.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/put big\.bin: [2-9]\d%/.test(stderr)) {
          first.kill('SIGKILL');
          resolve();
        }
      });
      first.on('exit', () => resolve());
    });
    assert.doesNotMatch(stderr, /uploaded/, 'the first run was cut before the end');
    const second = await hpctl(['files', 'put', instanceId, local, 'big.bin', '--chunk-mib', '4'], env);
    assert.equal(second.code, 0, second.stderr);
    const resumed = Number(/resumed from byte (\d+)/.exec(second.stderr)?.[1]);
    assert.ok(resumed >= 4 * 1024 * 1024, `resumed from ${resumed}: ${second.stderr}`);
    const onNode = hubFleet.readDataFile(nodes[0], instanceId, 'big.bin');
    assert.ok(onNode, 'the file is on the node');
    assert.equal(hubFleet.sha256(onNode), hubFleet.sha256(content));
    const ls = await hpctl(['files', 'ls', instanceId, '.', '-o', 'json'], env);
    const entries = (json(ls.stdout) as { entries: { name: string; size_bytes: number }[] }).entries;
    assert.equal(entries.find((e) => e.name === 'big.bin')?.size_bytes, content.length);
  });

  it('backs up with progress and downloads the archive', async () => {
    const res = await hpctl(['backups', 'create', instanceId, '--name', 'cli', '--wait', '-o', 'json'], env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /^backup: 100% succeeded$/m);
    const backup = json(res.stdout) as { id: string; status: string; size_bytes: number };
    assert.equal(backup.status, 'ready');
    const target = join(mkdtempSync(join(tmpdir(), 'hpctl-bk-')), 'b.tar.gz');
    const dl = await hpctl(['backups', 'download', instanceId, backup.id, target], env);
    assert.equal(dl.code, 0, dl.stderr);
    assert.equal(statSync(target).size, backup.size_bytes);
  });

  it('follows events: a restart with --wait shows up as operation.completed', async () => {
    const follower = spawnHpctl(['events', '-f', '--type', 'operation.completed', '-o', 'json'], env);
    let out = '';
    follower.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 1000));
    const restart = await hpctl(['instances', 'restart', instanceId, '--wait', '-o', 'json'], env);
    assert.equal(restart.code, 0, restart.stderr);
    const opId = (json(restart.stdout) as { id: string }).id;
    await hubAgents.waitFor('the event', async () => (out.includes(opId) ? true : undefined));
    follower.kill('SIGINT');
    const event = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; data: { id?: string; operation_id?: string } })
      .find((e) => JSON.stringify(e.data).includes(opId));
    assert.equal(event?.type, 'operation.completed');
  });

  it('drains a node: its instance moves to the other node', async () => {
    const res = await hpctl(['nodes', 'drain', nodes[0].id, '--wait', '-o', 'json'], env);
    assert.equal(res.code, 0, res.stderr);
    const node = json(res.stdout) as { drain: { status: string } };
    assert.equal(node.drain.status, 'complete');
    assert.match(res.stderr, /^drain: 100%/m);
    const instance = await hpctl(['instances', 'get', instanceId, '-o', 'json'], env);
    assert.equal((json(instance.stdout) as { node_id: string }).node_id, nodes[1].id);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type * as NodePty from 'node-pty';
import type { IdentityContext } from '../../hub/test/support/identity';
import type { TestNode } from '../../hub/test/support/agents';
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

describe('hpctl logs -f, files get, backups restore, migrate and nodes terminal against a real hub and agents', () => {
  let ctx: IdentityContext;
  let nodes: TestNode[];
  let env: Record<string, string>;
  let workloadId: string;
  let instanceId: string;
  const dir = mkdtempSync(join(tmpdir(), 'hpctl-lc-'));

  const json = <T>(stdout: string) => JSON.parse(stdout) as T;
  const ok = (res: { code: number; stdout: string; stderr: string }) =>
    assert.equal(res.code, 0, `exit ${res.code}\n${res.stderr}\n${res.stdout}`);
  const put = async (name: string, content: string) => {
    const local = join(dir, `up-${name}`);
    writeFileSync(local, content);
    ok(await hpctl(['files', 'put', instanceId, local, name], env));
  };
  const get = async (name: string) => {
    const local = join(dir, `down-${randomUUID()}`);
    const res = await hpctl(['files', 'get', instanceId, name, local], env);
    ok(res);
    return readFileSync(local, 'utf8');
  };

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

  it('creates an instance with --wait; logs prints the history (lines, or JSON), logs -f follows new output', async () => {
    const created = await hpctl(
      ['instances', 'create', 'echo-1', '--workload', workloadId, '--node', nodes[0].id, '--wait', '-o', 'json'],
      env,
    );
    ok(created);
    const instance = json<{ id: string; state: string; node_id: string }>(created.stdout);
    assert.deepEqual([instance.state, instance.node_id], ['running', nodes[0].id]);
    instanceId = instance.id;

    const history = await hpctl(['instances', 'logs', instanceId, '--tail', '5', '-o', 'json'], env);
    ok(history);
    const body = json<{ instance_id: string; lines: string[] }>(history.stdout);
    assert.equal(body.instance_id, instanceId);
    assert.ok(body.lines.includes('ready'), history.stdout);
    const plain = await hpctl(['instances', 'logs', instanceId], env);
    ok(plain);
    assert.match(plain.stdout, /^ready$/m);

    const follower = spawnHpctl(['instances', 'logs', instanceId, '-f', '--tail', '1'], env);
    let followed = '';
    follower.stdout!.on('data', (d: Buffer) => (followed += d.toString()));
    const exited = new Promise<number>((r) => follower.on('exit', (c) => r(c ?? 1)));
    await hubAgents.waitFor('the tail', async () => (followed.includes('ready') ? true : undefined));
    ok(await hpctl(['instances', 'console', instanceId], env, 'follow-me\n'));
    await hubAgents.waitFor('the live line', async () => (followed.includes('got: follow-me') ? true : undefined));
    follower.kill('SIGINT');
    assert.equal(await exited, 0, 'Ctrl-C ends -f cleanly');
  });

  it('files get downloads what put uploaded, byte for byte; a missing file exits 3', async () => {
    await put('state.txt', 'v1\n');
    const local = join(dir, 'state-copy.txt');
    const res = await hpctl(['files', 'get', instanceId, 'state.txt', local], env);
    ok(res);
    assert.match(res.stderr, /wrote 3 bytes to /);
    assert.equal(readFileSync(local, 'utf8'), 'v1\n');
    const onNode = hubFleet.readDataFile(nodes[0], instanceId, 'state.txt');
    assert.equal(onNode?.toString(), 'v1\n');
    const missing = await hpctl(['files', 'get', instanceId, 'no-such.txt', join(dir, 'x')], env);
    assert.equal(missing.code, 3, missing.stderr);
  });

  it('backups restore: refused while the instance runs (exit 4), then restores the backup with --truncate --wait', async () => {
    const backup = await hpctl(['backups', 'create', instanceId, '--name', 'v1', '--wait', '-o', 'json'], env);
    ok(backup);
    const backupId = json<{ id: string }>(backup.stdout).id;
    await put('state.txt', 'v2 changed\n');
    await put('extra.txt', 'made after the backup\n');

    const running = await hpctl(['backups', 'restore', instanceId, backupId, '--wait'], env);
    assert.equal(running.code, 4, running.stderr);
    assert.match(running.stderr, /instance_not_stopped/);

    ok(await hpctl(['instances', 'stop', instanceId, '--wait'], env));
    const restored = await hpctl(
      ['backups', 'restore', instanceId, backupId, '--truncate', '--wait', '-o', 'json'],
      env,
    );
    ok(restored);
    assert.match(restored.stderr, /^restore: 100% succeeded$/m);
    assert.equal(json<{ status: string }>(restored.stdout).status, 'succeeded');
    assert.equal(await get('state.txt'), 'v1\n');
    const ls = await hpctl(['files', 'ls', instanceId, '.', '-o', 'json'], env);
    ok(ls);
    const names = json<{ entries: { name: string }[] }>(ls.stdout).entries.map((e) => e.name);
    assert.ok(!names.includes('extra.txt'), `--truncate removed what came after: ${names.join(',')}`);
    ok(await hpctl(['instances', 'start', instanceId, '--wait'], env));
  });

  it('migrate --wait moves the instance and its files to the target with progress lines; a missing node exits 3', async () => {
    const res = await hpctl(
      ['migrate', nodes[0].id, '--instance', instanceId, '--target', nodes[1].id, '--wait', '-o', 'json'],
      env,
    );
    ok(res);
    const migrations = json<{ instance_id: string; status: string; target_node_id: string }[]>(res.stdout);
    assert.deepEqual(
      migrations.map((m) => [m.instance_id, m.status, m.target_node_id]),
      [[instanceId, 'succeeded', nodes[1].id]],
    );
    assert.match(res.stderr, /^migrate: 100% 1\/1$/m);
    const instance = json<{ node_id: string; state: string }>(
      (await hpctl(['instances', 'get', instanceId, '-o', 'json'], env)).stdout,
    );
    assert.deepEqual([instance.node_id, instance.state], [nodes[1].id, 'running']);
    assert.equal(hubFleet.readDataFile(nodes[1], instanceId, 'state.txt')?.toString(), 'v1\n');
    const missing = await hpctl(['migrate', randomUUID()], env);
    assert.equal(missing.code, 3, missing.stderr);
  });

  it('nodes terminal through a pty: a shell on the host, the window size follows, its exit code comes back', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pty = require('node-pty') as typeof NodePty;
    const term = pty.spawn(process.execPath, [HPCTL, 'nodes', 'terminal', nodes[0].id], { cols: 100, rows: 30, env });
    let seen = '';
    term.onData((d) => (seen += d));
    const exited = new Promise<number>((r) => term.onExit((e) => r(e.exitCode)));
    term.write('stty size; echo hp-$((6*7))\r');
    await hubAgents.waitFor('the echo', async () => (seen.includes('hp-42') ? true : undefined), 20_000);
    assert.match(seen, /30 100/, 'the size at connect');
    term.resize(120, 40);
    await new Promise((r) => setTimeout(r, 300));
    term.write('stty size\r');
    await hubAgents.waitFor('the new size', async () => (/40 120/.test(seen) ? true : undefined), 10_000);
    term.write('exit 3\r');
    assert.equal(await exited, 3, seen);

    const missing = await hpctl(['nodes', 'terminal', randomUUID()], env);
    assert.equal(missing.code, 3, missing.stderr);
  });

  it('the rest of the command set answers JSON that parses: workloads, nodes, operations, orgs, tokens, contexts, kill, delete', async () => {
    const workloads = await hpctl(['workloads', 'list', '-o', 'json'], env);
    ok(workloads);
    assert.ok(json<{ id: string }[]>(workloads.stdout).some((w) => w.id === workloadId));
    const workload = await hpctl(['workloads', 'get', workloadId, '-o', 'json'], env);
    ok(workload);
    assert.equal(json<{ name: string }>(workload.stdout).name, 'echo');
    const exportRun = await hpctl(['workloads', 'export', workloadId, '--file', join(dir, 'workload.json')], env);
    ok(exportRun);
    const exported = json<{ kind: string; name: string }>(readFileSync(join(dir, 'workload.json'), 'utf8'));
    assert.deepEqual([exported.kind, exported.name], ['Workload', 'echo'], 'a document POST /v1/workloads takes back');

    const cordoned = await hpctl(['nodes', 'cordon', nodes[0].id, '-o', 'json'], env);
    ok(cordoned);
    assert.equal(json<{ schedulable: boolean }>(cordoned.stdout).schedulable, false);
    const uncordoned = await hpctl(['nodes', 'uncordon', nodes[0].id, '-o', 'yaml'], env);
    ok(uncordoned);
    assert.match(uncordoned.stdout, /^schedulable: true$/m);
    const registration = await hpctl(['nodes', 'register-token', '--max-uses', '1', '-o', 'json'], env);
    ok(registration);
    assert.match(json<{ token: string }>(registration.stdout).token, /^hp_reg_/);
    const node = await hpctl(['nodes', 'get', nodes[1].id, '-o', 'json'], env);
    ok(node);
    assert.equal(json<{ status: string }>(node.stdout).status, 'online');

    const starts = await hpctl(['operations', 'list', '--kind', 'instance.start', '-o', 'json'], env);
    ok(starts);
    const [start] = json<{ id: string; kind: string }[]>(starts.stdout);
    assert.equal(start.kind, 'instance.start');
    const one = await hpctl(['operations', 'get', start.id, '-o', 'json'], env);
    ok(one);
    assert.equal(json<{ id: string }>(one.stdout).id, start.id);

    const orgs = await hpctl(['orgs', 'get', ctx.admin.personalOrgId, '-o', 'json'], env);
    ok(orgs);
    assert.equal(json<{ id: string }>(orgs.stdout).id, ctx.admin.personalOrgId);
    const token = await hpctl(['tokens', 'create', 'lab'], env);
    ok(token);
    // A context saved from an API token: no HOSTPLANE_* in the environment at all.
    const home = cliHome();
    ok(
      await hpctl(
        ['context', 'add', 'lab', '--server', ctx.hub.url, '--api-token', token.stdout.trim(), '--use'],
        home,
      ),
    );
    const listed = await hpctl(['instances', 'list', '-o', 'json'], home);
    ok(listed);
    assert.ok(json<{ id: string }[]>(listed.stdout).some((i) => i.id === instanceId));
    const contexts = await hpctl(['context', 'list', '-o', 'json'], home);
    ok(contexts);
    assert.equal(json<{ name: string }[]>(contexts.stdout)[0].name, 'lab');
    ok(await hpctl(['context', 'remove', 'lab'], home));
    const noHub = await hpctl(['instances', 'list'], home);
    assert.equal(noHub.code, 2, noHub.stderr);

    const killed = await hpctl(['instances', 'kill', instanceId, '--wait', '-o', 'json'], env);
    ok(killed);
    assert.equal(json<{ status: string }>(killed.stdout).status, 'succeeded');
    const deleted = await hpctl(['instances', 'delete', instanceId, '--wait'], env);
    ok(deleted);
    await hubAgents.waitFor('the row to go', async () =>
      (await hpctl(['instances', 'get', instanceId], env)).code === 3 ? true : undefined,
    );
  });
});

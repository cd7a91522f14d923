import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { readStream } from './support/event-stream-reader';
import { Client, IdentityContext } from './support/identity';

/** The agent's simulated Parallels tools (a path, not an import: the hub never imports the agent). */
const SIM_BIN = join(__dirname, '../../../agent/test/sim-tools/bin');
const E = '/v1/machines/ephemeral';

interface Call {
  tool: string;
  argv: string[];
  at: string;
}

describe('ephemeral clones for CI: hub → job → agent → simulated prlctl', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  const state = join(mkdtempSync(join(tmpdir(), 'hp-ephem-')), 's');
  const env = {
    PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOSTPLANE_SIM_STATE: state,
    HOSTPLANE_AGENT_PARALLELS_ENABLED: 'on',
    // The guest's address shows 1.5 s after start, as a booting guest's DHCP lease does.
    HOSTPLANE_SIM_PRL_IP_DELAY_MS: '1500',
  };
  const calls = (): Call[] =>
    readFileSync(join(state, 'calls.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Call);
  /** prlctl calls that act (not the reads the agent makes by itself) after the first `from` calls. */
  const actionsSince = (from: number): Call[] =>
    calls()
      .slice(from)
      .filter((c) => c.tool === 'prlctl' && !['list', 'snapshot-list', 'monitor-events'].includes(c.argv[0]!));
  const simVms = (): { id: string; name: string; state: string; linkedTo: string | null }[] =>
    Object.values(JSON.parse(readFileSync(join(state, 'parallels.json'), 'utf8')).vms);

  async function create(body: Record<string, unknown>): Promise<{ op: any; data: any }> {
    const res = await owner.request(E, { method: 'POST', json: body });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.headers.get('location'), `/v1/operations/${res.body.id}`);
    const op = await waitForOperation(owner, res.body.id, 60_000);
    return { op, data: op.result?.data };
  }

  before(async () => {
    execFileSync(join(SIM_BIN, 'prlctl'), ['create', 'ci-template', '-d', 'ubuntu'], {
      env: { ...process.env, ...env },
    });
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, env);
    node.start();
    await node.waitStatus('online');
    await waitFor('the parallels driver', async () =>
      (await node.node()).drivers.some(
        (d: { name: string; available: boolean }) => d.name === 'parallels' && d.available,
      )
        ? true
        : undefined,
    );
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  let clone: any;

  it('clones the template (linked), starts it and answers its address once the guest has one', async (t) => {
    const events = readStream(
      `${ctx.hub.url}/v1/events/stream?events=machine.ephemeral_created,machine.ephemeral_deleted`,
      owner.accessToken,
      { stopAfter: 2, timeoutMs: 90_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    const before = Date.now();
    const { op, data } = await create({ template: 'ci-template', name_prefix: 'gha', ttl_seconds: 600 });
    assert.equal(op.status, 'succeeded', JSON.stringify(op));
    t.diagnostic(`create (guest address after 1.5 s): ${Date.now() - before} ms to a finished operation`);
    assert.match(data.ip, /^10\.211\.55\.\d+$/);
    assert.match(data.name, /^gha-[0-9a-f]{8}$/);
    assert.equal(data.node_id, node.id);
    assert.match(data.machine_id, /^[0-9a-f-]{36}$/);
    const expires = Date.parse(data.expires_at);
    assert.ok(expires >= before + 599_000 && expires <= Date.now() + 600_000, data.expires_at);

    const template = simVms().find((v) => v.name === 'ci-template')!;
    const vm = simVms().find((v) => v.name === data.name)!;
    assert.equal(vm.id, data.machine_id);
    assert.equal(vm.state, 'running');
    assert.equal(vm.linkedTo, template.id, 'a linked clone of the template');
    const ours = calls().filter((c) => c.tool === 'prlctl' && c.argv[0] !== 'list');
    assert.deepEqual(
      ours.filter((c) => c.argv[0] === 'clone' || c.argv[0] === 'start').map((c) => c.argv),
      [
        ['clone', 'ci-template', '--name', data.name, '--linked'],
        ['start', data.machine_id],
      ],
    );
    const startAt = Date.parse(ours.find((c) => c.argv[0] === 'start')!.at);
    const polls = calls().filter((c) => c.argv[0] === 'list' && Date.parse(c.at) > startAt);
    assert.ok(polls.length >= 2, `the agent polled for the address (${polls.length} reads after start)`);

    const got = await owner.request(`${E}/${data.ephemeral_id}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.status, 'running');
    assert.equal(got.body.ip, data.ip);
    assert.equal(got.body.machine_id, data.machine_id);
    assert.equal(got.body.template, 'ci-template');
    const list = await owner.request(E);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(
      list.body.data.map((e: { id: string }) => e.id),
      [data.ephemeral_id],
    );
    clone = got.body;

    // Deleted here so that the stream sees both events of one clone.
    const deleteStart = Date.now();
    const del = await owner.request(`${E}/${clone.id}`, { method: 'DELETE' });
    assert.equal(del.status, 202, del.text);
    assert.equal((await waitForOperation(owner, del.body.id, 60_000)).status, 'succeeded');
    t.diagnostic(`delete of a running clone: ${Date.now() - deleteStart} ms to a finished operation`);
    const seen = await events;
    assert.deepEqual(
      seen.map((e) => [e.type, e.data.ephemeral_id]),
      [
        ['machine.ephemeral_created', clone.id],
        ['machine.ephemeral_deleted', clone.id],
      ],
    );
    assert.equal(seen[0].data.ip, data.ip);
    assert.equal(seen[1].data.reason, 'deleted');
  });

  it('DELETE powered the clone off and deleted it; asking again answers the same operation', async () => {
    assert.equal(
      simVms().some((v) => v.name === clone.name),
      false,
      'the simulated host no longer has the clone',
    );
    const ours = calls()
      .filter((c) => c.tool === 'prlctl' && (c.argv[0] === 'stop' || c.argv[0] === 'delete'))
      .map((c) => c.argv);
    assert.deepEqual(ours, [
      ['stop', clone.machine_id, '--kill'],
      ['delete', clone.machine_id],
    ]);
    const got = await waitFor('the row deleted', async () => {
      const r = await owner.request(`${E}/${clone.id}`);
      return r.body.status === 'deleted' ? r.body : undefined;
    });
    assert.equal(got.delete_reason, 'deleted');
    assert.ok(got.deleted_at);
    const again = await owner.request(`${E}/${clone.id}`, { method: 'DELETE' });
    assert.equal(again.status, 202, again.text);
    assert.equal(again.body.id, got.delete_operation_id);
    assert.deepEqual((await owner.request(E)).body.data, [], 'deleted clones are not listed');
    const all = await owner.request(`${E}?include_deleted=true`);
    assert.deepEqual(
      all.body.data.map((e: { id: string }) => e.id),
      [clone.id],
    );
  });

  it('another organization neither lists, reads, extends nor deletes a clone', async () => {
    const { data } = await create({ template: 'ci-template', start: false, ttl_seconds: 300 });
    const other = await ctx.newOrg();
    assert.deepEqual((await other.owner.request(E)).body.data, []);
    for (const [method, path, json] of [
      ['GET', `${E}/${data.ephemeral_id}`, undefined],
      ['DELETE', `${E}/${data.ephemeral_id}`, undefined],
      ['POST', `${E}/${data.ephemeral_id}/extend`, { ttl_seconds: 600 }],
    ] as const) {
      const res = await other.owner.request(path, { method, ...(json ? { json } : {}) });
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.code, 'not_found');
    }
    // Nor can it clone on this organization's node.
    const onOurs = await other.owner.request(E, {
      method: 'POST',
      json: { template: 'ci-template', node_id: node.id },
    });
    assert.equal(onOurs.status, 404, onOurs.text);
    const mine = await owner.request(`${E}/${data.ephemeral_id}`);
    assert.equal(mine.status, 200);
    assert.equal(mine.body.status, 'running', 'created without starting: no address, but alive');
    assert.equal(mine.body.ip, null);

    const extended = await owner.request(`${E}/${data.ephemeral_id}/extend`, {
      method: 'POST',
      json: { ttl_seconds: 7200 },
    });
    assert.equal(extended.status, 200, extended.text);
    assert.ok(Date.parse(extended.body.expires_at) > Date.now() + 7100_000);
    assert.equal(extended.body.ttl_seconds, 7200);
    const del = await owner.request(`${E}/${data.ephemeral_id}`, { method: 'DELETE' });
    assert.equal((await waitForOperation(owner, del.body.id, 60_000)).status, 'succeeded');
    assert.equal(
      simVms().some((v) => v.name === data.name),
      false,
    );
  });

  it('a failed delete is retried until it succeeds; a clone already gone counts as deleted', async () => {
    const { data } = await create({ template: 'ci-template', start: false });
    writeFileSync(
      join(state, 'faults.json'),
      JSON.stringify({ 'prlctl delete': 'Failed to delete the VM: disk busy' }),
    );
    const del = await owner.request(`${E}/${data.ephemeral_id}`, { method: 'DELETE' });
    assert.equal(del.status, 202, del.text);
    const first = await waitForOperation(owner, del.body.id, 60_000);
    assert.equal(first.status, 'failed');
    assert.match(first.error.message, /disk busy/);
    assert.equal((await owner.request(`${E}/${data.ephemeral_id}`)).body.status, 'deleting');
    rmSync(join(state, 'faults.json'));
    const row = await waitFor(
      'the next attempt to delete it',
      async () => {
        const r = await owner.request(`${E}/${data.ephemeral_id}`);
        return r.body.status === 'deleted' ? r.body : undefined;
      },
      60_000,
      250,
    );
    assert.notEqual(row.delete_operation_id, del.body.id, 'a second operation did it');
    assert.equal(
      simVms().some((v) => v.name === data.name),
      false,
    );
    const deletes = calls().filter((c) => c.argv[0] === 'delete' && c.argv[1] === data.machine_id);
    assert.equal(deletes.length, 2, 'the failed attempt and the one that succeeded');

    // Gone behind the hub's back (deleted by hand): deleting it succeeds and runs no delete.
    const gone = await create({ template: 'ci-template', start: false });
    execFileSync(join(SIM_BIN, 'prlctl'), ['delete', gone.data.name], { env: { ...process.env, ...env } });
    const again = await owner.request(`${E}/${gone.data.ephemeral_id}`, { method: 'DELETE' });
    const done = await waitForOperation(owner, again.body.id, 60_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.result.data.already_gone, true);
  });

  it('a clone that shows no address in time fails its create and is deleted', async () => {
    // A template without guest tools: Parallels never learns its guests' addresses.
    execFileSync(join(SIM_BIN, 'prlctl'), ['create', 'no-tools', '-d', 'ubuntu'], { env: { ...process.env, ...env } });
    const file = join(state, 'parallels.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    for (const vm of Object.values(doc.vms) as { name: string; toolsState: string }[])
      if (vm.name === 'no-tools') vm.toolsState = 'not installed';
    writeFileSync(file, JSON.stringify(doc));

    const res = await owner.request(E, { method: 'POST', json: { template: 'no-tools', wait_for_ip_seconds: 2 } });
    assert.equal(res.status, 202, res.text);
    const op = await waitForOperation(owner, res.body.id, 60_000);
    assert.equal(op.status, 'failed');
    assert.equal(op.error.code, 'ip_timeout');
    const id = op.resources[0].split('/').pop();
    const row = await waitFor(
      'the failed clone to be deleted',
      async () => {
        const r = await owner.request(`${E}/${id}`);
        return r.body.status === 'deleted' ? r.body : undefined;
      },
      60_000,
      250,
    );
    assert.equal(row.delete_reason, 'create_failed');
    assert.equal(row.error.code, 'ip_timeout');
    assert.equal(
      simVms().some((v) => v.name === row.name),
      false,
      'the clone is gone from the host',
    );
  });

  it('bad input is a 400 naming the problem, and no tool runs', async () => {
    const before = calls().length;
    const bad: Record<string, unknown>[] = [
      { template: '-rf' },
      { template: 'ci-template; rm -rf /' },
      { template: '$(reboot)' },
      { template: 'ci-template', ttl_seconds: 59 },
      { template: 'ci-template', ttl_seconds: 7 * 86_400 + 1 },
      { template: 'ci-template', ttl_seconds: 'soon' },
      { template: 'ci-template', name_prefix: 'Bad Prefix' },
      { template: 'ci-template', name_prefix: '--kill' },
      { template: 'ci-template', node_id: 'not-a-uuid' },
      { template: 'ci-template', wait_for_ip_seconds: 99999 },
      { template: 'ci-template', unknown: true },
      {},
    ];
    for (const body of bad) {
      const res = await owner.request(E, { method: 'POST', json: body });
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(typeof res.body.error, 'string');
      assert.equal(typeof res.body.code, 'string');
    }
    const badId = await owner.request(`${E}/..%2F..%2Fetc`);
    assert.equal(badId.status, 400, badId.text);
    const badExtend = await owner.request(`${E}/00000000-0000-4000-8000-000000000000/extend`, {
      method: 'POST',
      json: { ttl_seconds: 1 },
    });
    assert.equal(badExtend.status, 400, badExtend.text);
    // The agent reads its VMs and host in the background (inventory, events): only actions count.
    assert.deepEqual(actionsSince(before), [], 'no tool was called');
  });

  it('a template that does not exist is a clear 404, and nothing is cloned', async () => {
    for (const body of [{ template: 'no-such-template' }, { template: 'no-such-template', node_id: node.id }]) {
      const res = await owner.request(E, { method: 'POST', json: body });
      assert.equal(res.status, 404, res.text);
      assert.equal(res.body.code, 'template_not_found');
      assert.match(res.body.error, /no-such-template/);
    }
    assert.equal(
      calls().some((c) => c.argv[0] === 'clone' && c.argv[1] === 'no-such-template'),
      false,
    );
    assert.deepEqual((await owner.request(E)).body.data, []);
  });

  it('a cordoned node takes no clone', async () => {
    assert.equal((await owner.request(`/v1/nodes/${node.id}/cordon`, { method: 'POST' })).status < 300, true);
    try {
      const anywhere = await owner.request(E, { method: 'POST', json: { template: 'ci-template' } });
      assert.equal(anywhere.status, 404, anywhere.text);
      assert.equal(anywhere.body.code, 'template_not_found');
      const named = await owner.request(E, { method: 'POST', json: { template: 'ci-template', node_id: node.id } });
      assert.equal(named.status, 409, named.text);
      assert.equal(named.body.code, 'node_cordoned');
    } finally {
      await owner.request(`/v1/nodes/${node.id}/uncordon`, { method: 'POST' });
    }
  });
});

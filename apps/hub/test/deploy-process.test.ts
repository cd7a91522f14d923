import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';

const ECHO_WORKLOAD = {
  name: 'echo-service',
  driver: 'process',
  startup: 'echo "starting {{GREETING}}"; echo ready; while read -r line; do echo "got: $line"; done',
  variables: [
    {
      key: 'GREETING',
      name: 'Greeting',
      default: 'hello',
      type: 'string',
      rules: { required: true, max: 40 },
      user_editable: true,
    },
  ],
  resources: { cpu_cores: 0.1, memory_bytes: 64 * 1024 * 1024, disk_bytes: 0 },
  ready_pattern: '^ready$',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 2 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

/** A small PTDL_v2 egg; its image is irrelevant to these refusals (nothing reaches a node). */
const EGG = {
  meta: { version: 'PTDL_v2' },
  name: 'Tiny egg',
  author: 'tests@example.test',
  docker_images: { Busybox: 'hostplane/busybox:test' },
  startup: 'echo {{GREETING}}',
  config: { files: '{}', startup: '{"done": "ready"}', logs: '{}', stop: '^C' },
  variables: [{ name: 'Greeting', env_variable: 'GREETING', default_value: 'hi', rules: 'required|string|max:5' }],
};

describe('one-click deploy on a real agent (process driver)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let workloadId: string;

  const deployment = (id: string) => owner.request(`/v1/deploy/${id}`);
  const waitStatus = (id: string, status: string, timeoutMs = 30_000) =>
    waitFor(
      `deployment ${id} ${status}`,
      async () => {
        const d = await deployment(id);
        assert.equal(d.status, 200, d.text);
        if (d.body.status === 'failed' && status !== 'failed')
          assert.fail(`deployment failed: ${JSON.stringify(d.body.error)}`);
        return d.body.status === status ? d.body : undefined;
      },
      timeoutMs,
    );
  const counts = async () => ({
    workloads: (await owner.request('/v1/workloads?limit=500')).body.total as number,
    instances: (await owner.request('/v1/instances?limit=500')).body.total as number,
    deployments: (await owner.request('/v1/deploy?limit=500')).body.total as number,
  });

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url);
    node.start();
    await node.waitStatus('online');
    await waitFor('inventory', async () =>
      (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
    const w = await owner.request('/v1/workloads', { method: 'POST', json: ECHO_WORKLOAD });
    assert.equal(w.status, 201, w.text);
    workloadId = w.body.id;
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  it('an existing workload deploys to a running instance, is listed with its state and audited', async () => {
    const res = await owner.request('/v1/deploy', {
      method: 'POST',
      json: { name: 'echo-d1', workload_id: workloadId, variables: { GREETING: 'deploy' } },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.headers.get('location'), `/v1/deploy/${res.body.id}`);
    assert.ok(['pending', 'installing', 'starting'].includes(res.body.status), res.body.status);
    assert.deepEqual(res.body.source, { type: 'workload', template: null });
    assert.equal(res.body.workload_created, false);
    assert.ok(res.body.operations.create && res.body.operations.start, 'both the install and the start are queued');
    assert.equal(res.body.node_id, node.id, 'the scheduler placed it on the only node');

    // The row follows the operations by itself: read it without going through the API (whose reads also re-derive it).
    const db = ctx.hub.app.get(DataSource);
    await waitFor(
      'the stored status to reach running',
      async () => {
        const [row] = (await db.query(`SELECT status FROM deployments WHERE id = $1`, [res.body.id])) as {
          status: string;
        }[];
        return row?.status === 'running' ? true : undefined;
      },
      30_000,
    );
    const done = await waitStatus(res.body.id, 'running');
    assert.equal(done.instance.state, 'running');
    assert.equal(done.error, null);
    const logs = await owner.request(`/v1/instances/${done.instance_id}/logs/history?lines=20`);
    assert.ok(logs.body.lines.includes('starting deploy'), 'the variable reached the instance');

    const list = await owner.request('/v1/deploy?limit=1');
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.data.length, 1);
    assert.ok(list.body.total >= 1);
    assert.equal(list.body.data[0].instance.state, 'running');
    const audit = await ctx.auditEntries({ action: 'deployment.create' });
    assert.equal(audit[0].target_id, res.body.id);
  });

  it('a template deploy with start: false creates the workload and ends installed, not started', async () => {
    const res = await owner.request('/v1/deploy', {
      method: 'POST',
      json: { name: 'node-app-1', template: 'nodejs-app', size: 'small', start: false },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.operations.start, null);
    const done = await waitStatus(res.body.id, 'installed');
    assert.equal(done.instance.state, 'stopped');
    assert.equal(done.instance.desired_state, 'stopped');
    assert.equal(done.workload_created, true);
    const w = await owner.request(`/v1/workloads/${done.workload_id}`);
    assert.equal(w.body.name, 'node-app-1');
    assert.equal(w.body.spec.source.template, 'nodejs-app');
    assert.equal(w.body.spec.resources.memory_bytes, 256 * 1024 * 1024, 'the small size');
  });

  it('a failing install ends the deployment failed, with the error of that step', async () => {
    const w = await owner.request('/v1/workloads', {
      method: 'POST',
      json: { ...ECHO_WORKLOAD, name: 'broken-install', install: { script: 'echo preparing; exit 7' } },
    });
    assert.equal(w.status, 201, w.text);
    const res = await owner.request('/v1/deploy', {
      method: 'POST',
      json: { name: 'broken-1', workload_id: w.body.id },
    });
    assert.equal(res.status, 202, res.text);
    const failed = await waitStatus(res.body.id, 'failed');
    assert.equal(failed.error.step, 'install');
    assert.equal(failed.error.code, 'install_failed');
    assert.match(failed.error.message, /exited with code 7/);
    assert.equal(failed.instance.state, 'failed');
    const ops = await owner.request(`/v1/operations/${failed.operations.start}`);
    assert.equal(ops.body.kind, 'instance.start');
  });

  it('refused deployments answer 4xx with the reason and change nothing', async () => {
    const before = await counts();
    const refuse = async (json: unknown, status: number, code: string, match?: RegExp) => {
      const res = await owner.request('/v1/deploy', { method: 'POST', json });
      assert.equal(res.status, status, `${JSON.stringify(json)} → ${res.text}`);
      assert.equal(res.body.code, code, res.text);
      if (match) assert.match(res.body.error, match);
    };
    await refuse(
      { name: 'x1', template: 'nodejs-app', workload_id: workloadId },
      400,
      'validation_failed',
      /exactly one of template, workload_id and egg/,
    );
    await refuse({ name: 'x1' }, 400, 'validation_failed', /exactly one/);
    await refuse({ name: 'bad name!', workload_id: workloadId }, 400, 'validation_failed', /name/);
    await refuse(
      { name: 'x1', workload_id: workloadId, size: 'small' },
      400,
      'validation_failed',
      /size applies to a template/,
    );
    await refuse({ name: 'x1', template: 'no-such-template' }, 404, 'not_found', /see GET \/v1\/templates/);
    await refuse({ name: 'x1', workload_id: '00000000-0000-4000-8000-000000000000' }, 404, 'not_found');
    await refuse(
      { name: 'x1', workload_id: workloadId, variables: { GREETING: 'x'.repeat(41) } },
      400,
      'invalid_variables',
      /GREETING/,
    );
    await refuse(
      { name: 'x1', egg: { ...EGG, meta: { version: 'PTDL_v9' } } },
      400,
      'invalid_egg',
      /egg\.meta\.version/,
    );
    await refuse({ name: 'x1', egg: EGG, variables: { GREETING: 'too long' } }, 400, 'invalid_variables', /GREETING/);
    await refuse({ name: 'echo-d1', workload_id: workloadId }, 409, 'name_taken', /instance named "echo-d1"/);
    await refuse(
      { name: 'x1', template: 'nodejs-app', workload_name: 'echo-service' },
      409,
      'name_taken',
      /workload named "echo-service"/,
    );
    // Placement is refused after the workload was made: it is removed again.
    await refuse({ name: 'x1', template: 'nodejs-app', resources: { memory_bytes: 2 ** 50 } }, 409, 'no_node_fits');
    assert.deepEqual(await counts(), before);
    const bad = await owner.request('/v1/deploy/not-a-uuid');
    assert.equal(bad.status, 400);
  });

  it('a viewer lists deployments but cannot deploy; another organization sees none of them', async () => {
    const org = { id: owner.defaultOrg!, owner };
    const viewer = await ctx.addMember(org, 'viewer');
    assert.equal((await viewer.request('/v1/deploy')).status, 200);
    const denied = await viewer.request('/v1/deploy', {
      method: 'POST',
      json: { name: 'v1', workload_id: workloadId },
    });
    assert.equal(denied.status, 403, denied.text);
    const mine = (await owner.request('/v1/deploy')).body.data[0];
    const other = await ctx.newOrg();
    assert.equal((await other.owner.request(`/v1/deploy/${mine.id}`)).status, 404);
    assert.equal((await other.owner.request('/v1/deploy')).body.total, 0);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';
import { SimAgent } from './support/sim-agent';

const MiB = 1024 * 1024;

function processSpec(name: string, keys: string[], security?: Record<string, unknown>) {
  return {
    name,
    driver: 'process',
    startup: './server',
    variables: keys.map((key) => ({ key, name: key, default: 'x' })),
    resources: { cpu_cores: 1, memory_bytes: 256 * MiB, disk_bytes: 0 },
    ...(security ? { security } : {}),
  };
}

describe('workloads: variables cannot steer the loader or an interpreter', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let member: Client;
  let admin: Client;

  before(async () => {
    ctx = await IdentityContext.start();
    const org = await ctx.newOrg();
    owner = org.owner;
    member = await ctx.addMember(org, 'member');
    admin = await ctx.addMember(org, 'admin', await ctx.newUser({ platformAdmin: true }));
  });
  after(async () => {
    await ctx?.close();
  });

  it('refuses LD_*, PATH, NODE_OPTIONS, BASH_ENV, PYTHON* and the like with a 400 naming the variable', async () => {
    for (const key of [
      'LD_PRELOAD',
      'LD_LIBRARY_PATH',
      'PATH',
      'NODE_OPTIONS',
      'BASH_ENV',
      'PYTHONPATH',
      'PYTHONSTARTUP',
      'JAVA_TOOL_OPTIONS',
      'ld_preload',
    ]) {
      const res = await owner.request('/v1/workloads', {
        method: 'POST',
        json: processSpec(`bad-${key.toLowerCase()}`, [key]),
      });
      assert.equal(res.status, 400, `${key}: ${res.text}`);
      assert.equal(res.body.code, 'validation_failed');
      assert.match(res.body.error, new RegExp(`${key} would steer the loader or an interpreter`));
    }
    const fine = await owner.request('/v1/workloads', {
      method: 'POST',
      json: processSpec('fine', ['NODE_ENV', 'MAX_PLAYERS']),
    });
    assert.equal(fine.status, 201, fine.text);
  });

  it('refuses them on update too', async () => {
    const created = await owner.request('/v1/workloads', { method: 'POST', json: processSpec('later', ['GREETING']) });
    assert.equal(created.status, 201, created.text);
    const res = await owner.request(`/v1/workloads/${created.body.id}`, {
      method: 'PUT',
      json: processSpec('later', ['GREETING', 'BASH_ENV']),
    });
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.error, /BASH_ENV/);
  });

  it('only a platform admin may allow a name; the workload then keeps it when others edit it', async () => {
    const allowed = processSpec('with-lib-path', ['LD_LIBRARY_PATH'], { allow_env: ['LD_LIBRARY_PATH'] });
    const byOwner = await owner.request('/v1/workloads', { method: 'POST', json: allowed });
    assert.equal(byOwner.status, 403, byOwner.text);
    assert.equal(byOwner.body.code, 'platform_admin_required');
    assert.match(byOwner.body.error, /LD_LIBRARY_PATH/);

    const byAdmin = await admin.request('/v1/workloads', { method: 'POST', json: allowed });
    assert.equal(byAdmin.status, 201, byAdmin.text);
    const edited = await member.request(`/v1/workloads/${byAdmin.body.id}`, {
      method: 'PUT',
      json: { ...allowed, description: 'edited' },
    });
    assert.equal(edited.status, 200, edited.text);
    const widened = await member.request(`/v1/workloads/${byAdmin.body.id}`, {
      method: 'PUT',
      json: processSpec('with-lib-path', ['LD_LIBRARY_PATH', 'LD_PRELOAD'], {
        allow_env: ['LD_LIBRARY_PATH', 'LD_PRELOAD'],
      }),
    });
    assert.equal(widened.status, 403, widened.text);
  });
});

describe('process workloads on a node that cannot sandbox them', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let admin: Client;
  let sim: SimAgent;
  let workloadId: string;

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    const org = await ctx.newOrg();
    owner = org.owner;
    admin = await ctx.addMember(org, 'admin', await ctx.newUser({ platformAdmin: true }));
    const reg = await owner.request('/v1/nodes/register-token', { method: 'POST', json: {} });
    assert.equal(reg.status, 201, reg.text);
    const r = await ctx.hub.request('/v1/agents/register', {
      method: 'POST',
      json: { token: reg.body.token, hostname: 'bare-host' },
    });
    sim = new SimAgent({
      hubUrl: ctx.hub.url,
      token: r.body.agent_token,
      drivers: [
        {
          name: 'process',
          available: true,
          version: null,
          sandboxed: false,
          reason: 'unsandboxed: bubblewrap (bwrap) is not installed',
        },
      ],
    });
    await sim.connect();
    await owner.request(`/v1/nodes/${r.body.node_id}`, {
      method: 'PUT',
      json: { capacity: { cpu_cores: 4, memory_bytes: 8 * 2 ** 30, disk_bytes: 100 * 2 ** 30 } },
    });
    const w = await owner.request('/v1/workloads', { method: 'POST', json: processSpec('plain', ['GREETING']) });
    assert.equal(w.status, 201, w.text);
    workloadId = w.body.id;
  });
  after(async () => {
    sim?.close();
    await ctx?.close();
  });

  it("refuses a tenant's instance with the reason, and places a platform admin's one marked as allowed to run unsandboxed", async () => {
    const refused = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'tenant', workload_id: workloadId },
    });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.body.code, 'no_node_fits');
    assert.match(
      JSON.stringify(refused.body.rejected),
      /driver process cannot sandbox workloads on this node \(unsandboxed: bubblewrap \(bwrap\) is not installed\); only a platform admin/,
    );

    const placed = await admin.request('/v1/instances', {
      method: 'POST',
      json: { name: 'admin-run', workload_id: workloadId },
    });
    assert.equal(placed.status, 202, placed.text);
    const create = await waitFor('the create job on the node', async () =>
      sim.jobs.find((j) => j.kind === 'instance.create'),
    );
    assert.deepEqual((create.payload as { spec: { sandbox: unknown } }).spec.sandbox, {
      capabilities: [],
      read_only_root: false,
      allow_unsandboxed: true,
    });
  });
});

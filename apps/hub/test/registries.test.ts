import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { readStream } from './support/event-stream-reader';
import { Client, IdentityContext } from './support/identity';
import { LoopbackRegistry, startLoopbackRegistry } from './support/loopback-registry';

/** Imported locally by scripts/services.sh; pushed to the loopback registry by the test. */
const LOCAL_IMAGE = 'hostplane/busybox:test';

function workload(name: string, image: string, registryId: string) {
  return {
    name,
    driver: 'docker',
    image,
    registry_id: registryId,
    startup: 'echo ready; while read line; do echo "got: $line"; done',
    resources: { cpu_cores: 0.05, memory_bytes: 16 * 1024 * 1024, disk_bytes: 0 },
    ready_pattern: '^ready',
    stop: { type: 'signal', value: 'SIGKILL', grace_seconds: 1 },
    restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
  };
}

describe('registry credentials (/v1/registries) and pulls from a loopback registry', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let registry: LoopbackRegistry;
  let image: string;
  const instances: string[] = [];

  before(async () => {
    registry = await startLoopbackRegistry();
    image = registry.push(LOCAL_IMAGE, `hostplane/pulled-${Date.now()}:1`);
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, { HOSTPLANE_AGENT_DOCKER_SOCKET: '/var/run/docker.sock' });
    node.start();
    await node.waitStatus('online');
  });
  after(async () => {
    for (const id of instances)
      await owner?.request(`/v1/instances/${id}`, { method: 'DELETE' }).catch(() => undefined);
    await waitFor(
      'instances removed',
      async () => ((await owner.request('/v1/instances')).body.total === 0 ? true : undefined),
      60_000,
    ).catch(() => undefined);
    await node?.stop();
    await ctx?.close();
    try {
      execFileSync('docker', ['rmi', image], { stdio: 'ignore' });
    } catch {
      // Never pulled, or already gone.
    }
    await registry?.stop();
  });

  it('stores the password encrypted, never returns it, and keeps registries to their organization', async () => {
    const created = await owner.request('/v1/registries', {
      method: 'POST',
      json: { name: 'api-only', server: 'Registry.Example.com:5000', username: 'ci', password: 'hunter2-secret' },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.server, 'registry.example.com:5000');
    assert.equal(created.body.password_set, true);
    assert.ok(!created.text.includes('hunter2-secret'));
    // Docker reads a dotless first component as a Docker Hub path: such credentials would go there.
    const hubPath = await owner.request('/v1/registries', {
      method: 'POST',
      json: { name: 'dotless', server: 'myregistry', username: 'ci', password: 'x' },
    });
    assert.equal(hubPath.status, 400, hubPath.text);
    assert.equal(hubPath.body.code, 'validation_failed');
    const [row] = await ctx.hub.app
      .get(DataSource)
      .query('SELECT password_sealed FROM registry_credentials WHERE id = $1', [created.body.id]);
    assert.ok(row.password_sealed.startsWith('v1.') && !row.password_sealed.includes('hunter2'), 'sealed at rest');
    const listed = await owner.request('/v1/registries');
    assert.equal(listed.status, 200);
    assert.ok(
      !listed.text.includes('hunter2-secret') && listed.body.data.some((r: { id: string }) => r.id === created.body.id),
    );
    assert.equal(
      (
        await owner.request('/v1/registries', {
          method: 'POST',
          json: { name: 'api-only', server: 'ghcr.io', username: 'x', password: 'y' },
        })
      ).status,
      409,
    );
    const bad = await owner.request('/v1/registries', {
      method: 'POST',
      json: { name: 'bad', server: 'https://ghcr.io/v2', username: 'x', password: 'y' },
    });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.body.code, 'validation_failed');

    const other = await ctx.newOrg();
    assert.equal(
      (await other.owner.request(`/v1/registries/${created.body.id}`)).status,
      404,
      'another organization does not see it',
    );
    const foreign = await other.owner.request('/v1/workloads', {
      method: 'POST',
      json: workload('foreign', 'registry.example.com:5000/a/b:1', created.body.id),
    });
    assert.equal(foreign.status, 422, foreign.text);
    assert.equal(foreign.body.code, 'registry_not_found');
    const elsewhere = await owner.request('/v1/workloads', {
      method: 'POST',
      json: workload('elsewhere', 'ghcr.io/a/b:1', created.body.id),
    });
    assert.equal(elsewhere.status, 400, elsewhere.text);
    assert.match(elsewhere.body.error, /not on registry registry\.example\.com:5000/);
    assert.equal((await owner.request(`/v1/registries/${created.body.id}`, { method: 'DELETE' })).status, 204);
  });

  it('pulls a missing image with the credentials on the node, reporting pull progress on the operation; wrong credentials fail with registry_auth_failed', async () => {
    const reg = await owner.request('/v1/registries', {
      method: 'POST',
      json: { name: 'loopback', server: registry.server, username: registry.username, password: registry.password },
    });
    assert.equal(reg.status, 201, reg.text);
    const w = await owner.request('/v1/workloads', { method: 'POST', json: workload('pulled', image, reg.body.id) });
    assert.equal(w.status, 201, w.text);

    const progress = readStream(`${ctx.hub.url}/v1/events/stream?events=operation.progress`, owner.accessToken, {
      ndjson: true,
      stopAfter: 1000,
      timeoutMs: 10_000,
    });
    await new Promise((r) => setTimeout(r, 300));
    const res = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'pulled-1', workload_id: w.body.id, node_id: node.id },
    });
    assert.equal(res.status, 202, res.text);
    instances.push(res.body.instance.id);
    const op = await waitForOperation(owner, res.body.id, 60_000);
    assert.equal(op.status, 'succeeded', JSON.stringify(op.error));
    assert.ok(!JSON.stringify(op).includes(registry.password), 'the operation never shows the password');
    const [stored] = await ctx.hub.app
      .get(DataSource)
      .query('SELECT payload::text AS payload FROM operations WHERE id = $1', [res.body.id]);
    assert.ok(
      !stored.payload.includes(registry.password) && stored.payload.includes(reg.body.id),
      'the stored job names the registry, not its password',
    );
    await waitFor(
      'running',
      async () =>
        (await owner.request(`/v1/instances/${res.body.instance.id}`)).body.state === 'running' ? true : undefined,
      30_000,
    );
    const events = (await progress).filter(
      (e) => e.data?.operation_id === res.body.id || e.payload?.operation_id === res.body.id,
    );
    assert.ok(
      events.some((e) => /pulling/.test(JSON.stringify(e))),
      `pull progress reached the operation: ${JSON.stringify(events)}`,
    );
    assert.ok(!ctx.hub.logs.text().includes(registry.password), 'the hub never logs the password');

    // Wrong password: the pull is refused with a clear error and no container is made.
    execFileSync('docker', ['rmi', image], { stdio: 'ignore' });
    assert.equal(
      (await owner.request(`/v1/registries/${reg.body.id}`, { method: 'PUT', json: { password: 'not-the-password' } }))
        .status,
      200,
    );
    const refused = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'pulled-2', workload_id: w.body.id, node_id: node.id },
    });
    assert.equal(refused.status, 202, refused.text);
    instances.push(refused.body.instance.id);
    const failed = await waitForOperation(owner, refused.body.id, 60_000);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'registry_auth_failed');
    assert.match(failed.error.message, new RegExp(`refused to serve .* as ${registry.username}`));
  });
});

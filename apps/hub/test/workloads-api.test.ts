import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WORKLOAD_USAGE, type WorkloadUsage } from '../src/workloads/workloads.service';
import { Client, IdentityContext } from './support/identity';

/** Verbatim copies of published Pterodactyl eggs (sources and licences in fixtures/eggs/SOURCES.md). */
const EGGS_DIR = join(__dirname, '../../test/fixtures/eggs');
const egg = (file: string) => JSON.parse(readFileSync(join(EGGS_DIR, file), 'utf8'));
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function echoSpec(name: string) {
  return {
    name,
    description: 'a UDP echo server',
    driver: 'docker',
    image: 'ghcr.io/example/echo:1.2',
    startup: './echo --port {{SERVER_PORT}} --greeting "{{GREETING}}"',
    variables: [{ key: 'GREETING', name: 'Greeting', default: 'hi', rules: { required: true, max: 32 } }],
    ports: [{ name: 'echo', container_port: 7, protocol: 'udp' }],
    resources: { cpu_cores: 0.5, memory_bytes: 128 * MiB, disk_bytes: GiB },
    labels: { team: 'net' },
  };
}

describe('workloads API: CRUD, export/import, eggs, templates, access', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let member: Client;
  let viewer: Client;
  let outsider: Client;

  before(async () => {
    ctx = await IdentityContext.start();
    const org = await ctx.newOrg({ name: 'Game Hosting' });
    owner = org.owner;
    member = await ctx.addMember(org, 'member');
    viewer = await ctx.addMember(org, 'viewer');
    outsider = (await ctx.newOrg()).owner;
  });
  after(async () => {
    await ctx?.close();
  });

  it('create, read, list, update (revision +1), refuse duplicates and bad specs, delete', async () => {
    const created = await owner.request('/v1/workloads', { method: 'POST', json: echoSpec('echo') });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.name, 'echo');
    assert.equal(created.body.driver, 'docker');
    assert.equal(created.body.revision, 1);
    assert.equal(created.body.created_by, owner.user.id);
    assert.deepEqual(
      created.body.spec.stop,
      { type: 'signal', value: 'SIGTERM', grace_seconds: 30 },
      'defaults are applied and stored',
    );
    const id = created.body.id;

    const got = await owner.request(`/v1/workloads/${id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.spec, created.body.spec);

    await owner.request('/v1/workloads', {
      method: 'POST',
      json: { ...echoSpec('builder'), driver: 'process', image: undefined, labels: {} },
    });
    const list = await owner.request('/v1/workloads?driver=docker&q=EC&label=team%3Dnet');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.data.map((w: { name: string }) => w.name),
      ['echo'],
    );
    assert.equal(list.body.data[0].image, 'ghcr.io/example/echo:1.2');
    assert.equal(list.body.data[0].spec, undefined, 'lists carry summaries, not specs');
    assert.equal((await owner.request('/v1/workloads?limit=1')).body.total, 2);

    const dup = await owner.request('/v1/workloads', { method: 'POST', json: echoSpec('echo') });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'name_taken');

    const bad = await owner.request('/v1/workloads', {
      method: 'POST',
      json: { ...echoSpec('bad'), startup: 'run {{PORT}}' },
    });
    assert.equal(bad.status, 400);
    assert.equal(
      bad.body.error,
      'invalid body: startup: {{PORT}} is neither a variable of this workload nor one of SERVER_MEMORY, SERVER_IP, SERVER_PORT',
    );
    const badPath = await owner.request('/v1/workloads', {
      method: 'POST',
      json: { ...echoSpec('bad'), config_files: [{ path: '../../root/.ssh/authorized_keys', content: 'x' }] },
    });
    assert.equal(badPath.status, 400);
    assert.match(badPath.body.error, /config_files\.0\.path: config file paths may not contain '\.\.'/);

    const upd = await owner.request(`/v1/workloads/${id}`, {
      method: 'PUT',
      json: { ...echoSpec('echo-v2'), resources: { cpu_cores: 1, memory_bytes: 256 * MiB, disk_bytes: GiB } },
    });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.revision, 2);
    assert.equal(upd.body.name, 'echo-v2');
    assert.equal(upd.body.spec.resources.memory_bytes, 256 * MiB);

    // The instances domain provides what uses a workload; one in use is not deleted.
    const usage = ctx.hub.app.get<WorkloadUsage>(WORKLOAD_USAGE);
    const countUsing = usage.countUsing;
    usage.countUsing = async (w) => (w === id ? 2 : 0);
    try {
      const inUse = await owner.request(`/v1/workloads/${id}`, { method: 'DELETE' });
      assert.equal(inUse.status, 409);
      assert.equal(inUse.body.code, 'workload_in_use');
      assert.equal(inUse.body.instances, 2);
    } finally {
      usage.countUsing = countUsing;
    }
    const del = await owner.request(`/v1/workloads/${id}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal((await owner.request(`/v1/workloads/${id}`)).status, 404);
    assert.equal((await owner.request('/v1/workloads/not-a-uuid')).status, 400);

    const audit = await ctx.auditEntries({ action: 'workload.delete' });
    assert.equal(audit[0].target_id, id);
  });

  it('export gives a versioned document that POST /v1/workloads takes back unchanged', async () => {
    const created = await owner.request('/v1/workloads', { method: 'POST', json: echoSpec('roundtrip') });
    const exp = await owner.request(`/v1/workloads/${created.body.id}/export`);
    assert.equal(exp.status, 200);
    assert.match(exp.headers.get('content-disposition') ?? '', /attachment; filename="roundtrip\.workload\.json"/);
    assert.equal(exp.body.api_version, 'hostplane.workload/v1');
    assert.equal(exp.body.kind, 'Workload');
    assert.ok(Date.parse(exp.body.exported_at));

    const back = await owner.request('/v1/workloads', {
      method: 'POST',
      json: { ...exp.body, name: 'roundtrip-copy' },
    });
    assert.equal(back.status, 201, back.text);
    assert.deepEqual({ ...back.body.spec, name: 'roundtrip' }, created.body.spec);

    const future = await owner.request('/v1/workloads', {
      method: 'POST',
      json: { ...exp.body, name: 'x', api_version: 'hostplane.workload/v9' },
    });
    assert.equal(future.status, 400);
    assert.match(future.body.error, /api_version: unsupported document version/);
  });

  it('imports real eggs (wrapped or as the body), round-trips them, and names the field of a bad one', async () => {
    const paper = await owner.request('/v1/workloads/import-egg', {
      method: 'POST',
      json: {
        egg: egg('panel__egg-paper__PTDL_v2.json'),
        name: 'paper',
        ports: [{ name: 'game', container_port: 25565 }],
        resources: { cpu_cores: 2, memory_bytes: 4 * GiB, disk_bytes: 20 * GiB },
      },
    });
    assert.equal(paper.status, 201, paper.text);
    assert.equal(paper.body.format, 'PTDL_v2');
    const spec = paper.body.workload.spec;
    assert.equal(spec.image, 'ghcr.io/pterodactyl/yolks:java_21');
    assert.equal(
      spec.startup,
      'java -Xms128M -XX:MaxRAMPercentage=95.0 -Dterminal.jline=false -Dterminal.ansi=true -jar {{SERVER_JARFILE}}',
    );
    assert.equal(spec.config_files[0].parser, 'properties');
    assert.equal(spec.install.image, 'ghcr.io/pterodactyl/installers:alpine');
    assert.ok(!paper.body.warnings.some((w: string) => /no ports/.test(w)), 'ports were given');
    assert.ok(paper.body.warnings.some((w: string) => /features/.test(w)));

    const raw = await owner.request('/v1/workloads/import-egg', {
      method: 'POST',
      json: egg('panel__egg-paper__PTDL_v1.json'),
    });
    assert.equal(raw.status, 201, raw.text);
    assert.equal(raw.body.format, 'PTDL_v1');
    assert.equal(raw.body.workload.name, 'Paper');
    assert.ok(raw.body.warnings.some((w: string) => /no ports/.test(w)));

    const exp = await owner.request(`/v1/workloads/${paper.body.workload.id}/export`);
    const again = await owner.request('/v1/workloads', { method: 'POST', json: { ...exp.body, name: 'paper-2' } });
    assert.equal(again.status, 201, again.text);
    assert.deepEqual({ ...again.body.spec, name: 'paper' }, spec);

    const broken = egg('panel__egg-rust__PTDL_v2.json');
    broken.variables[2].rules = 'required|foo';
    const refused = await owner.request('/v1/workloads/import-egg', { method: 'POST', json: { egg: broken } });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body, {
      error: 'egg.variables[2].rules: unknown rule "foo"',
      code: 'invalid_egg',
      path: 'egg.variables[2].rules',
    });
    const extra = await owner.request('/v1/workloads/import-egg', {
      method: 'POST',
      json: { egg: broken, colour: 'red' },
    });
    assert.equal(extra.status, 400);
    assert.match(extra.body.error, /colour: unknown field/);
    const empty = await owner.request('/v1/workloads/import-egg', { method: 'POST', json: {} });
    assert.equal(empty.status, 400);
    assert.match(empty.body.error, /egg: missing/);
  });

  it('templates: all, by category, unknown category is a 404; from-template at a size', async () => {
    const all = await viewer.request('/v1/templates');
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.data.map((t: { id: string }) => t.id).sort(), [
      'minecraft-paper',
      'nginx-static',
      'nodejs-app',
      'redis',
    ]);
    const games = await viewer.request('/v1/templates/games');
    assert.deepEqual(
      games.body.data.map((t: { id: string }) => t.id),
      ['minecraft-paper'],
    );
    assert.equal(games.body.data[0].spec.driver, 'docker');
    const nope = await viewer.request('/v1/templates/spaceships');
    assert.equal(nope.status, 404);
    assert.equal(nope.body.error, 'template category "spaceships" not found; known: games, web, runtime, database');
    assert.equal((await ctx.hub.request('/v1/templates')).status, 401);

    const mc = await member.request('/v1/workloads/from-template', {
      method: 'POST',
      json: { template: 'minecraft-paper', size: 'small', name: 'survival', variables: { BUILD_NUMBER: '196' } },
    });
    assert.equal(mc.status, 201, mc.text);
    assert.equal(mc.body.spec.resources.memory_bytes, 2048 * MiB);
    assert.equal(mc.body.spec.source.template, 'minecraft-paper');
    assert.equal(mc.body.spec.variables.find((v: { key: string }) => v.key === 'BUILD_NUMBER').default, '196');
    const unknown = await member.request('/v1/workloads/from-template', {
      method: 'POST',
      json: { template: 'quake' },
    });
    assert.equal(unknown.status, 404);
    const badVar = await member.request('/v1/workloads/from-template', {
      method: 'POST',
      json: { template: 'redis', variables: { MAXMEMORY_POLICY: 'lottery' } },
    });
    assert.equal(badVar.status, 400);
    assert.match(badVar.body.error, /variables\.MAXMEMORY_POLICY: must be one of noeviction/);
  });

  it('roles: viewers read but cannot write, members cannot delete; other organizations see 404', async () => {
    const w = await member.request('/v1/workloads', { method: 'POST', json: echoSpec('members-own') });
    assert.equal(w.status, 201, 'members create workloads (instances.create)');
    const id = w.body.id;

    assert.equal((await viewer.request(`/v1/workloads/${id}`)).status, 200);
    assert.equal((await viewer.request(`/v1/workloads/${id}/export`)).status, 200);
    const denied = await viewer.request('/v1/workloads', { method: 'POST', json: echoSpec('viewer') });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.code, 'permission_denied');
    assert.equal((await viewer.request(`/v1/workloads/${id}`, { method: 'PUT', json: echoSpec('v') })).status, 403);
    assert.equal((await viewer.request(`/v1/workloads/${id}`, { method: 'DELETE' })).status, 403);
    assert.equal(
      (await viewer.request('/v1/workloads/import-egg', { method: 'POST', json: egg('panel__egg-rust__PTDL_v2.json') }))
        .status,
      403,
    );
    assert.equal(
      (await viewer.request('/v1/workloads/from-template', { method: 'POST', json: { template: 'redis' } })).status,
      403,
    );
    assert.equal(
      (await member.request(`/v1/workloads/${id}`, { method: 'DELETE' })).status,
      403,
      'deleting needs instances.delete',
    );

    assert.equal((await outsider.request(`/v1/workloads/${id}`)).status, 404);
    assert.equal((await outsider.request(`/v1/workloads/${id}/export`)).status, 404);
    assert.equal(
      (await outsider.request(`/v1/workloads/${id}`, { method: 'PUT', json: echoSpec('stolen') })).status,
      404,
    );
    assert.equal((await outsider.request(`/v1/workloads/${id}`, { method: 'DELETE' })).status, 404);
    assert.equal((await outsider.request('/v1/workloads')).body.total, 0);
    assert.equal((await owner.request(`/v1/workloads/${id}`)).status, 200, 'still there');
  });

  it('every route is in the OpenAPI document', async () => {
    const doc = await ctx.hub.request('/openapi.json');
    for (const path of [
      '/v1/workloads',
      '/v1/workloads/{id}',
      '/v1/workloads/{id}/export',
      '/v1/workloads/from-template',
      '/v1/workloads/import-egg',
      '/v1/templates',
      '/v1/templates/{category}',
    ]) {
      assert.ok(doc.body.paths[path], `${path} documented`);
    }
    assert.ok(doc.body.paths['/v1/workloads'].post.requestBody, 'the spec schema is the documented body');
  });
});

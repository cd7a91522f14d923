import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { TunnelServer } from '../src/tunnel/tunnel.server';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';

const run = promisify(execFile);
const MiB = 1024 * 1024;
/** Imported locally by scripts/services.sh (never pulled): busybox with sh, echo, cat, sleep… */
const IMAGE = 'hostplane/busybox:test';

/** A real PTDL_v2 egg in the shape Pterodactyl exports (CRLF scripts, JSON-in-strings config), on the local image. */
const BUSYBOX_EGG = {
  _comment: 'DO NOT EDIT: FILE GENERATED AUTOMATICALLY BY PTERODACTYL PANEL - PTERODACTYL.IO',
  meta: { version: 'PTDL_v2', update_url: null },
  exported_at: '2025-01-01T00:00:00+00:00',
  name: 'Busybox echo',
  author: 'tests@example.test',
  description: 'Answers console lines; exits on ^C.',
  features: null,
  docker_images: { Busybox: IMAGE },
  file_denylist: [],
  startup: `trap 'echo bye; exit 0' INT TERM; echo "hello {{GREETING}}"; cat installed.txt; echo "server ready"; while read -r line; do echo "got: $line"; done`,
  config: { files: '{}', startup: '{\r\n    "done": "server ready"\r\n}', logs: '{}', stop: '^C' },
  scripts: {
    installation: {
      script: '#!/bin/sh\r\ncd /mnt/server\r\necho "installed by the egg" > installed.txt\r\n',
      container: IMAGE,
      entrypoint: 'sh',
    },
  },
  variables: [
    {
      name: 'Greeting',
      description: 'Said at start',
      env_variable: 'GREETING',
      default_value: 'world',
      user_viewable: true,
      user_editable: true,
      rules: 'required|string|max:20',
      field_type: 'text',
    },
  ],
};

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args)).stdout.trim();
}

async function inspect(name: string): Promise<{
  State: { Running: boolean };
  HostConfig: { NetworkMode: string; PortBindings: Record<string, { HostPort: string }[]> };
} | null> {
  try {
    return JSON.parse(await docker('inspect', name))[0];
  } catch {
    return null;
  }
}

/** Reads a streamed response as text until `until` appears in it. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  seen: { text: string },
  until: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const decoder = new TextDecoder();
  while (!seen.text.includes(until)) {
    const left = deadline - Date.now();
    if (left <= 0) assert.fail(`"${until}" did not arrive; got: ${JSON.stringify(seen.text)}`);
    const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), left))]);
    if (chunk === null) continue;
    if (chunk.done) assert.fail(`the stream ended before "${until}"; got: ${JSON.stringify(seen.text)}`);
    seen.text += decoder.decode(chunk.value, { stream: true });
  }
}

describe('docker driver end to end through the hub (real dockerd, local image, no network)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  const plain = `hp-e2e-plain-${randomBytes(4).toString('hex')}`;

  const op = async (path: string, json?: unknown) => {
    const res = await owner.request(path, { method: 'POST', ...(json === undefined ? {} : { json }) });
    assert.equal(res.status, 202, `${path}: ${res.text}`);
    assert.equal(res.headers.get('location'), `/v1/operations/${res.body.id}`);
    return waitForOperation(owner, res.body.id, 30_000);
  };

  before(async () => {
    const base = 24_000 + Math.floor(Math.random() * 400) * 10;
    ctx = await IdentityContext.start({
      env: { ...FAST_JOBS_ENV, HOSTPLANE_AGENT_DEFAULT_ALLOCATIONS: `0.0.0.0:${base}-${base + 9}` },
    });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, { HOSTPLANE_AGENT_DOCKER_SOCKET: '/var/run/docker.sock' });
    node.start();
    const online = await node.waitStatus('online');
    assert.ok(
      online.drivers.some((d: { name: string; available: boolean }) => d.name === 'docker' && d.available),
      JSON.stringify(online.drivers),
    );
    await waitFor('inventory', async () =>
      (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
    // A container the hub did not make, for the node-level container endpoints.
    await docker(
      'run',
      '-d',
      '--name',
      plain,
      '--network',
      'none',
      IMAGE,
      'sh',
      '-c',
      `echo plain-started; trap 'exit 0' TERM; while true; do sleep 1; done`,
    );
  });
  after(async () => {
    await docker('rm', '-f', plain).catch(() => undefined);
    await node?.stop();
    await ctx?.close();
  });

  it('an egg deployed through /v1/deploy: running → console round trip → live logs → stats → metrics → container logs → stop → delete', async () => {
    const res = await owner.request('/v1/deploy', {
      method: 'POST',
      json: {
        name: 'bb-1',
        egg: BUSYBOX_EGG,
        variables: { GREETING: 'docker' },
        node_id: node.id,
        resources: { cpu_cores: 0.5, memory_bytes: 64 * MiB, disk_bytes: 0 },
      },
    });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.body.source, { type: 'egg', template: null });
    assert.ok(
      res.body.warnings.some((w: string) => /declares no ports/.test(w)),
      JSON.stringify(res.body.warnings),
    );
    const running = await waitFor(
      'deployment running',
      async () => {
        const d = await owner.request(`/v1/deploy/${res.body.id}`);
        if (d.body.status === 'failed') assert.fail(`deployment failed: ${JSON.stringify(d.body.error)}`);
        return d.body.status === 'running' ? d.body : undefined;
      },
      60_000,
    );
    const id: string = running.instance_id;
    const container = `hostplane-${id}`;
    const instance = (await owner.request(`/v1/instances/${id}`)).body;
    assert.equal(instance.driver, 'docker');
    assert.equal(instance.state, 'running');
    const inspected = await inspect(container);
    assert.ok(inspected?.State.Running, 'the container runs');
    // An egg's server gets its primary allocation (SERVER_PORT), published tcp and udp as Wings does.
    const port = instance.ports[0].host_port as number;
    assert.equal(inspected.HostConfig.NetworkMode, 'bridge');
    assert.deepEqual(Object.keys(inspected.HostConfig.PortBindings).sort(), [`${port}/tcp`, `${port}/udp`]);

    const wsUrl = `${ctx.hub.url.replace('http', 'ws')}/v1/instances/${id}`;
    const auth = { headers: { authorization: `Bearer ${owner.accessToken}`, 'x-org-id': owner.defaultOrg! } };
    const logs = new WebSocket(`${wsUrl}/logs?tail=20`, auth);
    let logText = '';
    logs.on('message', (d: Buffer) => (logText += d.toString()));
    await new Promise((r, j) => (logs.once('open', r), logs.once('error', j)));
    await waitFor(
      'history in live logs',
      async () => (logText.includes('hello docker') && logText.includes('installed by the egg') ? true : undefined),
      10_000,
    );

    const consoleWs = new WebSocket(`${wsUrl}/console`, auth);
    let out = '';
    consoleWs.on('message', (d: Buffer) => (out += d.toString()));
    await new Promise((r, j) => (consoleWs.once('open', r), consoleWs.once('error', j)));
    consoleWs.send('ping-42\n');
    await waitFor('console answer', async () => (out.includes('got: ping-42') ? true : undefined), 10_000);
    await waitFor('live log line', async () => (logText.includes('got: ping-42') ? true : undefined), 10_000);
    logs.close();

    const stats = await owner.request(`/v1/instances/${id}/stats`);
    assert.equal(stats.status, 200, stats.text);
    assert.ok(stats.body.memory_bytes > 0, stats.text);
    assert.equal(stats.body.memory_limit_bytes, 64 * MiB);
    await waitFor(
      'a metrics sample from the docker driver',
      async () => {
        const h = await owner.request(`/v1/instances/${id}/metrics/history?resolution=raw`);
        return h.body.points?.length > 0 && h.body.points[0].memory_bytes > 0 ? true : undefined;
      },
      15_000,
    );

    // The same container through the node-level endpoints.
    const lines = await owner.request(`/v1/nodes/${node.id}/containers/${container}/logs?lines=50`);
    assert.equal(lines.status, 200, lines.text);
    assert.equal(lines.body.node_id, node.id);
    assert.ok(lines.body.lines.includes('hello docker'), JSON.stringify(lines.body.lines));
    const stamped = await owner.request(`/v1/nodes/${node.id}/containers/${container}/logs?lines=1&timestamps=true`);
    assert.match(stamped.body.lines[0], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);

    const tunnel = ctx.hub.app.get(TunnelServer);
    const streamsBefore = tunnel.streams.openCount;
    const abort = new AbortController();
    const follow = await fetch(`${ctx.hub.url}/v1/nodes/${node.id}/containers/${container}/logs?follow=true&lines=5`, {
      headers: { authorization: `Bearer ${owner.accessToken}`, 'x-org-id': owner.defaultOrg! },
      signal: abort.signal,
    });
    assert.equal(follow.status, 200);
    assert.match(follow.headers.get('content-type') ?? '', /^text\/plain/);
    const reader = follow.body!.getReader();
    const seen = { text: '' };
    await readUntil(reader, seen, 'got: ping-42');
    consoleWs.send('pong-7\n');
    await readUntil(reader, seen, 'got: pong-7');
    assert.equal(tunnel.streams.openCount, streamsBefore + 1);
    abort.abort();
    await waitFor(
      'the tunnel stream closed when the client went away',
      async () => (tunnel.streams.openCount === streamsBefore ? true : undefined),
      5000,
    );
    consoleWs.close();

    // Lifecycle of an instance's container belongs to its driver (which applies the restart policy).
    for (const action of ['restart', 'kill']) {
      const refused = await op(`/v1/nodes/${node.id}/containers/${container}/${action}`);
      assert.equal(refused.status, 'failed');
      assert.equal(refused.error.code, 'managed_container');
      assert.match(refused.error.message, new RegExp(`instance ${id}`));
    }
    assert.ok((await inspect(container))?.State.Running, 'still running');

    const stopped = await op(`/v1/instances/${id}/stop`);
    assert.equal(stopped.status, 'succeeded', JSON.stringify(stopped));
    assert.equal((await owner.request(`/v1/instances/${id}`)).body.state, 'stopped');
    assert.equal((await inspect(container))?.State.Running, false);
    const afterStop = await owner.request(`/v1/nodes/${node.id}/containers/${container}/logs?lines=5`);
    assert.ok(afterStop.body.lines.includes('bye'), 'the egg stop (^C) reached its trap');

    const del = await owner.request(`/v1/instances/${id}`, { method: 'DELETE' });
    assert.equal((await waitForOperation(owner, del.body.id, 30_000)).status, 'succeeded');
    await waitFor('row gone', async () =>
      (await owner.request(`/v1/instances/${id}`)).status === 404 ? true : undefined,
    );
    assert.equal(await inspect(container), null, 'the container is removed');
    const gone = await owner.request(`/v1/deploy/${res.body.id}`);
    assert.equal(gone.body.status, 'running', 'a finished deployment keeps its status');
    assert.equal(gone.body.instance, null);
  });

  it('node-level container endpoints on a container the hub did not make: logs, restart, kill, start, stop', async () => {
    const base = `/v1/nodes/${node.id}/containers/${plain}`;
    const logs = await owner.request(`${base}/logs?lines=10`);
    assert.equal(logs.status, 200, logs.text);
    assert.deepEqual(logs.body.lines, ['plain-started']);

    const restarted = await op(`${base}/restart`, { timeout_seconds: 2 });
    assert.equal(restarted.status, 'succeeded', JSON.stringify(restarted));
    assert.equal(restarted.result.running, true);
    assert.equal(restarted.result.name, plain);
    await waitFor(
      'a second start in the logs',
      async () => {
        const l = await owner.request(`${base}/logs?lines=10`);
        return l.body.lines.filter((x: string) => x === 'plain-started').length === 2 ? true : undefined;
      },
      10_000,
    );

    const killed = await op(`${base}/kill`);
    assert.equal(killed.status, 'succeeded', JSON.stringify(killed));
    assert.equal(killed.result.running, false);
    assert.equal((await inspect(plain))?.State.Running, false);
    assert.equal((await op(`${base}/start`)).result.running, true);
    const stopped = await op(`${base}/stop`, { timeout_seconds: 5 });
    assert.equal(stopped.result.running, false);
    assert.equal(stopped.result.state, 'exited');

    const missing = await op(
      `/v1/nodes/${node.id}/containers/no-such-container-${randomBytes(3).toString('hex')}/start`,
    );
    assert.equal(missing.status, 'failed');
    assert.equal(missing.error.code, 'container_not_found');
    const missingLogs = await owner.request(`/v1/nodes/${node.id}/containers/no-such-container/logs`);
    assert.equal(missingLogs.status, 404, missingLogs.text);
    assert.equal(missingLogs.body.code, 'container_not_found');
    for (const [path, init] of [
      [`/v1/nodes/${node.id}/containers/bad$name/logs`, {}],
      [`/v1/nodes/${node.id}/containers/-dash/restart`, { method: 'POST' }],
      [`${base}/kill`, { method: 'POST', json: { signal: 'SIGBOGUS' } }],
      [`${base}/stop`, { method: 'POST', json: { timeout_seconds: -1 } }],
      [`${base}/logs?follow=true&timestamps=true`, {}],
      [`${base}/logs?lines=0`, {}],
    ] as const) {
      const bad = await owner.request(path, init);
      assert.equal(bad.status, 400, `${path}: ${bad.text}`);
      assert.equal(bad.body.code, 'validation_failed');
    }

    const viewer = await ctx.addMember({ id: owner.defaultOrg!, owner }, 'viewer');
    // A container the hub did not make is a host-wide view: only holders of nodes.host read its logs.
    assert.equal((await viewer.request(`${base}/logs?lines=1`)).status, 403);
    assert.equal((await viewer.request(`${base}/start`, { method: 'POST' })).status, 403);
    const stranger = (await ctx.newOrg()).owner;
    assert.equal((await stranger.request(`${base}/logs`)).status, 404);
    const audit = await ctx.auditEntries({ action: 'node.container.restart' });
    assert.equal(audit[0].target_id, node.id);
  });
});

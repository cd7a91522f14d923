import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';

/**
 * A small egg in the real PTDL_v2 export format. Its install script and startup use only
 * busybox, so the same egg runs on the process driver (on the host) and in the locally imported
 * `hostplane/busybox:test` image (docker driver): nothing is pulled.
 */
function consoleEgg(): Record<string, unknown> {
  return {
    _comment: 'DO NOT EDIT: FILE GENERATED AUTOMATICALLY BY PTERODACTYL PANEL - PTERODACTYL.IO',
    meta: { version: 'PTDL_v2', update_url: null },
    exported_at: '2026-11-30T12:00:00+00:00',
    name: 'Console echo',
    author: 'tests@hostplane.invalid',
    description: 'Answers console lines; stops on "stop".',
    features: null,
    docker_images: { Busybox: 'hostplane/busybox:test' },
    file_denylist: [],
    startup:
      'echo "server {{SERVER_NAME}} up"; echo ready; while read -r line; do if [ "$line" = stop ]; then echo bye; exit 0; fi; echo "got: $line"; done',
    config: { files: '{}', startup: '{\r\n    "done": "ready"\r\n}', logs: '{}', stop: 'stop' },
    scripts: {
      installation: {
        script: '#!/bin/sh\nmkdir -p config\necho "installed" > config/installed.txt\n',
        container: 'hostplane/busybox:test',
        entrypoint: 'sh',
      },
    },
    variables: [
      {
        name: 'Server name',
        description: 'Shown at start',
        env_variable: 'SERVER_NAME',
        default_value: 'alpha',
        user_viewable: true,
        user_editable: true,
        rules: 'required|string|max:20',
        field_type: 'text',
      },
    ],
  };
}

async function stateOf(c: Client, id: string): Promise<string> {
  return (await c.request(`/v1/instances/${id}`)).body.state as string;
}

async function waitState(c: Client, id: string, state: string, ms = 60_000): Promise<void> {
  await waitFor(`instance ${state}`, async () => ((await stateOf(c, id)) === state ? true : undefined), ms);
}

async function operationOk(
  c: Client,
  res: { status: number; text: string; body: { id?: string; operation?: { id: string } } },
): Promise<void> {
  assert.equal(res.status, 202, res.text);
  const opId = res.body.operation?.id ?? res.body.id!;
  const op = await waitForOperation(c, opId, 60_000);
  assert.equal(op.status, 'succeeded', JSON.stringify(op));
}

function openWs(url: string, c: Client): Promise<{ ws: WebSocket; text: () => string }> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${c.accessToken}`, 'x-org-id': c.defaultOrg! } });
  let text = '';
  ws.on('message', (d: Buffer) => (text += d.toString()));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, text: () => text }));
    ws.once('error', reject);
  });
}

describe('an instance from egg to delete, on both drivers', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, { HOSTPLANE_AGENT_DOCKER_SOCKET: '/var/run/docker.sock' });
    node.start();
    await node.waitStatus('online');
    // Placement needs the node's capacity, which its first inventory reports.
    await waitFor(
      'inventory',
      async () => ((await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined),
      30_000,
    );
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  for (const driver of ['process', 'docker'] as const) {
    it(`${driver}: import egg → deploy → console → logs → file → backup → stop → change → restore → start → file back → delete`, async () => {
      const imported = await owner.request('/v1/workloads/import-egg', {
        method: 'POST',
        json: { egg: consoleEgg(), name: `console-echo-${driver}` },
      });
      assert.equal(imported.status, 201, imported.text);
      let workloadId: string = imported.body.workload.id;
      if (driver === 'process') {
        // Eggs describe containers; the same spec runs as a supervised process once its driver is switched.
        const exported = await owner.request(`/v1/workloads/${workloadId}/export`);
        assert.equal(exported.status, 200, exported.text);
        const spec = { ...exported.body, driver: 'process' };
        delete spec.image;
        delete spec.images;
        if (spec.install) delete spec.install.image;
        const put = await owner.request(`/v1/workloads/${workloadId}`, { method: 'PUT', json: spec });
        assert.equal(put.status, 200, put.text);
        workloadId = put.body.id;
      }

      const deployed = await owner.request('/v1/deploy', {
        method: 'POST',
        json: {
          name: `echo-${driver}`,
          workload_id: workloadId,
          variables: { SERVER_NAME: `srv-${driver}` },
          node_id: node.id,
        },
      });
      assert.ok([201, 202].includes(deployed.status), deployed.text);
      const deployment = await waitFor(
        'deployment running',
        async () => {
          const d = await owner.request(`/v1/deploy/${deployed.body.id}`);
          assert.notEqual(d.body.status, 'failed', JSON.stringify(d.body.error));
          return d.body.status === 'running' ? d.body : undefined;
        },
        90_000,
      );
      const id: string = deployment.instance_id;
      await waitState(owner, id, 'running');

      const base = `${ctx.hub.url.replace('http', 'ws')}/v1/instances/${id}`;
      const logs = await openWs(`${base}/logs?tail=20`, owner);
      await waitFor(
        'start line in live logs',
        async () => (logs.text().includes(`server srv-${driver} up`) ? true : undefined),
        15_000,
      );
      const term = await openWs(`${base}/console`, owner);
      term.ws.send(`hello-${driver}\n`);
      await waitFor(
        'console answer',
        async () => (term.text().includes(`got: hello-${driver}`) ? true : undefined),
        15_000,
      );
      await waitFor(
        'answer in live logs',
        async () => (logs.text().includes(`got: hello-${driver}`) ? true : undefined),
        15_000,
      );
      term.ws.close();
      logs.ws.close();

      const installed = await owner.request(
        `/v1/instances/${id}/files/content?path=${encodeURIComponent('config/installed.txt')}`,
      );
      assert.equal(installed.status, 200, installed.text);
      assert.equal(installed.text.trim(), 'installed', 'the install script ran in the instance root');

      const path = encodeURIComponent('config/motd.txt');
      const put = await owner.request(`/v1/instances/${id}/files/content?path=${path}`, {
        method: 'PUT',
        body: 'first version\n',
        headers: { 'content-type': 'text/plain' },
      });
      assert.ok([200, 204].includes(put.status), put.text);
      assert.equal((await owner.request(`/v1/instances/${id}/files/content?path=${path}`)).text, 'first version\n');

      const backup = await owner.request(`/v1/instances/${id}/backups`, { method: 'POST', json: {} });
      await operationOk(owner, backup);
      const backupId: string = backup.body.backup.id;
      await waitFor(
        'backup ready',
        async () =>
          (await owner.request(`/v1/instances/${id}/backups/${backupId}`)).body.status === 'ready' ? true : undefined,
        30_000,
      );

      await operationOk(owner, await owner.request(`/v1/instances/${id}/stop`, { method: 'POST' }));
      await waitState(owner, id, 'stopped');
      await owner.request(`/v1/instances/${id}/files/content?path=${path}`, {
        method: 'PUT',
        body: 'changed while stopped\n',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(
        (await owner.request(`/v1/instances/${id}/files/content?path=${path}`)).text,
        'changed while stopped\n',
      );

      await operationOk(
        owner,
        await owner.request(`/v1/instances/${id}/backups/${backupId}/restore`, { method: 'POST', json: {} }),
      );
      await operationOk(owner, await owner.request(`/v1/instances/${id}/start`, { method: 'POST' }));
      await waitState(owner, id, 'running');
      assert.equal(
        (await owner.request(`/v1/instances/${id}/files/content?path=${path}`)).text,
        'first version\n',
        'the restored file is back',
      );

      await operationOk(owner, await owner.request(`/v1/instances/${id}`, { method: 'DELETE' }));
      await waitFor(
        'instance gone',
        async () => ((await owner.request(`/v1/instances/${id}`)).status === 404 ? true : undefined),
        30_000,
      );
    });
  }
});

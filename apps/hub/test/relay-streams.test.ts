import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { registerNode, runCommand, TestNode, waitFor, waitForOperation } from './support/agents';
import { patternBytes, sha256 } from './support/instance-files';
import { openSocket, openStream } from './support/live-sockets';
import { Replicas } from './support/replicas';

const MiB = 1024 * 1024;
const TUS = { 'tus-resumable': '1.0.0' };

/** Prints numbered lines, then echoes every console line. */
const ECHO_WORKLOAD = {
  name: 'relay-echo',
  driver: 'process',
  startup: `i=1; while [ $i -le 5 ]; do echo "early-$i"; i=$((i+1)); done; echo ready; while read -r line; do echo "got: $line"; done`,
  variables: [],
  resources: { cpu_cores: 0.2, memory_bytes: 64 * MiB, disk_bytes: 0 },
  ready_pattern: '^ready',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 2 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

/**
 * Every stream kind, asked of replica A while the node's agent is connected to the last replica
 * (with two replicas: B; with three: C, and B stands by): the request is relayed hub to hub.
 */
for (const count of [2, 3]) {
  describe(`streams through a replica that does not hold the agent (${count} replicas)`, () => {
    let r: Replicas;
    let node: TestNode;
    let instanceId: string;
    const ownerIndex = count - 1;
    const onA = () => r.via(0);
    const root = () => join(node.stateDir, 'instances', instanceId, 'data');
    const plant = (rel: string, data: Buffer) => {
      mkdirSync(dirname(join(root(), rel)), { recursive: true });
      writeFileSync(join(root(), rel), data);
    };

    before(async () => {
      r = await Replicas.start(count);
      node = await registerNode(r.via(ownerIndex), r.hubs[ownerIndex]!.url, {
        HOSTPLANE_AGENT_DOCKER_SOCKET: '/var/run/docker.sock',
      });
      node.start();
      await node.waitStatus('online');
      await waitFor('inventory', async () =>
        (await onA().request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
      );
      const w = await onA().request('/v1/workloads', { method: 'POST', json: ECHO_WORKLOAD });
      assert.equal(w.status, 201, w.text);
      const created = await onA().request('/v1/instances', {
        method: 'POST',
        json: { name: 'relay-1', workload_id: w.body.id, node_id: node.id },
      });
      assert.equal(created.status, 202, created.text);
      instanceId = created.body.instance.id;
      await waitFor(
        'running',
        async () => ((await onA().request(`/v1/instances/${instanceId}`)).body.state === 'running' ? true : undefined),
        60_000,
      );
      const stats = await r.via(ownerIndex).request('/v1/tunnel/stats');
      assert.equal(stats.body.connected_agents, 1, 'the agent is on the last replica');
      assert.equal((await onA().request('/v1/tunnel/stats')).body.connected_agents, 0, 'and not on A');
    });

    after(async () => {
      await node?.stop();
      await r?.close();
    });

    it('node terminal: keystrokes and output both ways, resize, the relay counted on both ends', async () => {
      const term = await openSocket(
        r.hubs[0]!.asTestHub(),
        `/v1/nodes/${node.id}/terminal?cols=100&rows=30`,
        r.headers,
      );
      term.ws.send('stty size; echo relay-$((40+2))\n');
      await waitFor('echo', async () => (term.received().includes('relay-42') ? true : undefined), 10_000);
      assert.match(term.received(), /30 100/, 'the size went through the relay');
      assert.deepEqual((await onA().request('/v1/tunnel/stats')).body.relayed_streams, { out: 1, in: 0 });
      assert.deepEqual((await r.via(ownerIndex).request('/v1/tunnel/stats')).body.relayed_streams, { out: 0, in: 1 });
      term.ws.close();
      await term.closed;
      await waitFor(
        'owner released the stream',
        async () => ((await r.via(ownerIndex).request('/v1/tunnel/stats')).body.open_streams === 0 ? true : undefined),
        5000,
      );
    });

    it('instance console: scrollback, then a line in and its echo out', async () => {
      const ws = new WebSocket(r.wsUrl(0, `/v1/instances/${instanceId}/console?scrollback=3`), { headers: r.headers });
      const text: string[] = [];
      let output = '';
      ws.on('message', (d: Buffer, binary: boolean) => (binary ? (output += d.toString()) : text.push(d.toString())));
      await new Promise((ok, fail) => (ws.once('open', ok), ws.once('error', fail)));
      await waitFor('live marker', async () => (text.length >= 2 ? true : undefined), 10_000);
      assert.deepEqual(JSON.parse(text[0]!), { type: 'scrollback', lines: ['early-4', 'early-5', 'ready'] });
      ws.send('hello over the relay\n');
      await waitFor('echo', async () => (output.includes('got: hello over the relay') ? true : undefined), 10_000);
      ws.close();
    });

    it('instance logs (follow): the tail, then new lines as they come', async () => {
      const logs = await openSocket(
        r.hubs[0]!.asTestHub(),
        `/v1/instances/${instanceId}/logs?tail=10`,
        r.headers,
        /early-1/,
      );
      const consoleWs = await openSocket(r.hubs[0]!.asTestHub(), `/v1/instances/${instanceId}/console`, r.headers);
      consoleWs.ws.send('followed\n');
      await waitFor('new line', async () => (logs.received().includes('got: followed') ? true : undefined), 10_000);
      logs.ws.close();
      consoleWs.ws.close();
    });

    it('log history download', async () => {
      const res = await onA().request(`/v1/instances/${instanceId}/logs/download`);
      assert.equal(res.status, 200, res.text);
      assert.match(res.text, /early-1\n[\s\S]*ready\n/);
    });

    it('container logs (follow) of a Docker container on the node', async () => {
      const name = `hp-relay-${randomBytes(4).toString('hex')}`;
      const started = await runCommand(
        'docker',
        [
          'run',
          '-d',
          '--rm',
          '--network',
          'none',
          '--name',
          name,
          'hostplane/busybox:test',
          'sh',
          '-c',
          'while true; do echo tick; sleep 0.2; done',
        ],
        process.env as Record<string, string>,
      );
      assert.equal(started.code, 0, started.output);
      try {
        const logs = await openStream(
          r.hubs[0]!.asTestHub(),
          `/v1/nodes/${node.id}/containers/${name}/logs?follow=true&lines=1`,
          r.headers,
        );
        await waitFor('ticks', async () => ((logs.text().match(/tick/g) ?? []).length >= 3 ? true : undefined), 10_000);
        logs.abort();
      } finally {
        await runCommand('docker', ['rm', '-f', name], process.env as Record<string, string>);
      }
    });

    it('file download of 12 MiB (many credit windows), byte-identical; a missing file keeps the agent answer', async () => {
      const data = patternBytes(12 * MiB, 3);
      plant('big/blob.bin', data);
      const res = await fetch(r.hubs[0]!.url + `/v1/instances/${instanceId}/files/download?path=big/blob.bin`, {
        headers: r.headers,
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-length'), String(data.length));
      assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(data));
      const missing = await onA().request(`/v1/instances/${instanceId}/files/download?path=big/nothing.bin`);
      assert.equal(missing.status, 404, missing.text);
      assert.equal(missing.body.code, 'path_not_found');
    });

    it('zip archive of a directory', async () => {
      plant('world/level.dat', Buffer.from('level\n'));
      const res = await fetch(r.hubs[0]!.url + `/v1/instances/${instanceId}/files/download-zip?path=world`, {
        headers: r.headers,
      });
      assert.equal(res.status, 200);
      const zip = Buffer.from(await res.arrayBuffer());
      assert.equal(zip.subarray(0, 4).toString('hex'), '504b0304', 'a zip');
      assert.ok(zip.includes(Buffer.from('world/level.dat')), 'with the entry');
      assert.equal(zip.subarray(-22, -18).toString('hex'), '504b0506', 'and its end record: the archive is complete');
    });

    it('uploads: a whole file (PUT), multipart, and TUS across replicas', async () => {
      const put = patternBytes(3 * MiB, 5);
      const res = await onA().request(`/v1/instances/${instanceId}/files/content?path=up-put.bin`, {
        method: 'PUT',
        body: put,
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.size_bytes, put.length);
      assert.equal(sha256(readFileSync(join(root(), 'up-put.bin'))), sha256(put));

      const form = new FormData();
      form.append('file', new Blob([Buffer.from('one')]), 'one.txt');
      form.append('file', new Blob([Buffer.from('two')]), 'two.txt');
      await onA().request(`/v1/instances/${instanceId}/files/mkdir`, { method: 'POST', json: { path: 'multi' } });
      const multi = await onA().request(`/v1/instances/${instanceId}/files/upload?path=multi`, {
        method: 'POST',
        body: form,
      });
      assert.equal(multi.status, 201, multi.text);
      assert.equal(readFileSync(join(root(), 'multi/two.txt'), 'utf8'), 'two');

      const data = patternBytes(2 * MiB, 9);
      const meta = `path ${Buffer.from('tus/file.bin').toString('base64')}`;
      const created = await onA().request(`/v1/instances/${instanceId}/files/tus`, {
        method: 'POST',
        headers: { ...TUS, 'upload-length': String(data.length), 'upload-metadata': meta },
      });
      assert.equal(created.status, 201, created.text);
      await onA().request(`/v1/instances/${instanceId}/files/mkdir`, { method: 'POST', json: { path: 'tus' } });
      const location = created.headers.get('location')!;
      const patch = (via: number, offset: number, body: Buffer) =>
        r.via(via).request(location, {
          method: 'PATCH',
          body,
          headers: { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
        });
      const first = await patch(0, 0, data.subarray(0, MiB));
      assert.equal(first.status, 204, first.text);
      // The second half through another replica that does not hold the agent either (or A again with two).
      const rest = await patch(count === 3 ? 1 : 0, MiB, data.subarray(MiB));
      assert.equal(rest.status, 204, rest.text);
      assert.equal(sha256(readFileSync(join(root(), 'tus/file.bin'))), sha256(data));
    });

    it('backup download of an archive kept on the node', async () => {
      plant('save/state.bin', randomBytes(512 * 1024));
      const res = await onA().request(`/v1/instances/${instanceId}/backups`, {
        method: 'POST',
        json: { name: 'relay' },
      });
      assert.equal(res.status, 202, res.text);
      assert.equal((await waitForOperation(onA(), res.body.id, 30_000)).status, 'succeeded');
      const backup = (await onA().request(`/v1/instances/${instanceId}/backups/${res.body.backup.id}`)).body;
      const dl = await fetch(r.hubs[0]!.url + `/v1/instances/${instanceId}/backups/${backup.id}/download`, {
        headers: r.headers,
      });
      assert.equal(dl.status, 200);
      const body = Buffer.from(await dl.arrayBuffer());
      assert.equal(body.length, backup.size_bytes);
      assert.equal(sha256(body), backup.sha256);
    });

    it('the node offline everywhere: 409 node_offline from A, not a hang', async () => {
      await node.stop();
      await node.waitStatus('offline');
      const t0 = Date.now();
      const res = await onA().request(`/v1/instances/${instanceId}/files/download?path=big/blob.bin`);
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.code, 'node_offline');
      assert.ok(Date.now() - t0 < 5000, `answered in ${Date.now() - t0} ms`);
    });
  });
}

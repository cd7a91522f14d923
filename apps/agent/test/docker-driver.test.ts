import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect, createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InstanceStateFrame } from '@hostplane/protocol';
import Docker from 'dockerode';
import { DockerDriver } from '../src/drivers/docker/docker-driver';
import { dockerEngineGet } from '../src/drivers/docker-engine';
import { InstanceStore } from '../src/instances/instance-store';
import { tempDir } from './support/agent-process';
import { buildSpec, TEST_IMAGE, until } from './support/instance-builders';
import { LoopbackRegistry, pushToRegistry, startLoopbackRegistry } from './support/loopback-registry';

const DOCKER_SOCKET = process.env.HOSTPLANE_TEST_DOCKER_SOCKET ?? '/var/run/docker.sock';
const ctx = () => ({ progress: () => undefined, signal: new AbortController().signal });

describe('docker driver', () => {
  const store = new InstanceStore(tempDir());
  const driver = new DockerDriver(store, DOCKER_SOCKET, { bindAddress: '127.0.0.1' });
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  let registry: LoopbackRegistry;
  let pushed: string;

  before(async () => {
    registry = await startLoopbackRegistry();
    pushed = await pushToRegistry(docker, registry, TEST_IMAGE, `hostplane/pulled-${Date.now()}:1`);
  });
  after(async () => {
    await driver.close();
    await docker
      .getImage(pushed)
      .remove()
      .catch(() => undefined);
    await registry.stop();
  });

  it('sees a container killed from outside (docker kill) within a second, from the event stream and with no polling timer', async () => {
    const spec = buildSpec('docker');
    await driver.create(spec, ctx());
    const intervals: unknown[] = [];
    const realSetInterval = globalThis.setInterval;
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
      intervals.push(new Error().stack);
      return realSetInterval(...args);
    }) as typeof setInterval;
    try {
      await driver.start(spec.instance_id);
      const seen: { frame: InstanceStateFrame; at: number }[] = [];
      driver.onState((frame) => seen.push({ frame, at: Date.now() }));
      // Quiet for a while: a poller would show up as engine calls meanwhile; here nothing runs until the kill.
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      execFileSync('docker', ['kill', `hostplane-${spec.instance_id}`]);
      const crashed = await until(
        'the crashed frame',
        () => seen.find((s) => s.frame.instance_id === spec.instance_id && s.frame.state === 'crashed'),
        5000,
      );
      // From the moment the engine recorded the death (same machine, same clock), not from the CLI's start.
      const died = Date.parse((await docker.getContainer(`hostplane-${spec.instance_id}`).inspect()).State.FinishedAt);
      const latency = crashed.at - died;
      console.log(
        `docker kill: container dead → crashed frame ${latency} ms (${crashed.at - t0} ms from running the docker CLI)`,
      );
      assert.ok(latency < 1000, `the exit was seen ${latency} ms after it happened`);
      assert.equal(crashed.frame.reason, 'killed by SIGKILL');
      assert.deepEqual(intervals, [], 'the driver armed no interval timer');
    } finally {
      globalThis.setInterval = realSetInterval;
    }
    await driver.remove(spec.instance_id);
  });

  it('follows the event stream again after the engine connection drops, and hears an exit that happened meanwhile', async () => {
    // A unix-socket relay to dockerd that the test can cut, as a dockerd restart would.
    const relayPath = join(tempDir(), 'docker.sock');
    const open = new Set<Socket>();
    let accepting = true;
    const relay = createServer((client) => {
      if (!accepting) return client.destroy();
      const upstream = connect(DOCKER_SOCKET);
      open.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        open.delete(client);
        open.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => relay.listen(relayPath, resolve));
    const relayed = new DockerDriver(new InstanceStore(tempDir()), relayPath, { bindAddress: '127.0.0.1' });
    try {
      const spec = buildSpec('docker');
      await relayed.create(spec, ctx());
      await relayed.start(spec.instance_id);
      const seen: InstanceStateFrame[] = [];
      relayed.onState((f) => seen.push(f));
      accepting = false;
      for (const s of open) s.destroy();
      execFileSync('docker', ['kill', `hostplane-${spec.instance_id}`]);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(seen.length, 0, 'nothing can be heard while the engine is unreachable');
      accepting = true;
      const crashed = await until(
        'the exit after the reconnect',
        () => seen.find((f) => f.state === 'crashed'),
        10_000,
      );
      assert.equal(crashed.reason, 'killed by SIGKILL');
      await relayed.remove(spec.instance_id);
    } finally {
      await relayed.close();
      relay.close();
      for (const s of open) s.destroy();
    }
  });

  it('pulls a missing image from a registry with the credentials of the job, reporting pull progress', async () => {
    const spec = buildSpec('docker', { image: pushed });
    const progress: { percent: number; message?: string }[] = [];
    const status = await driver.create(spec, {
      ...ctx(),
      progress: (percent, message) => progress.push({ percent, message }),
      registryAuth: { server: registry.server, username: registry.username, password: registry.password },
    });
    assert.equal(status.state, 'stopped');
    assert.ok(
      progress.some((p) => /pulling/.test(p.message ?? '')),
      `pull progress was reported: ${JSON.stringify(progress)}`,
    );
    assert.ok(
      progress.every((p, i) => i === 0 || p.percent >= (progress[i - 1] as { percent: number }).percent),
      'progress never goes back',
    );
    await docker.getImage(pushed).inspect();
    assert.equal((await driver.start(spec.instance_id)).state, 'running');
    await driver.remove(spec.instance_id);
    await docker.getImage(pushed).remove();
  });

  it('fails with registry_auth_failed and a clear message on wrong or missing credentials, and with image_pull_failed for an image the registry lacks', async () => {
    const wrong = buildSpec('docker', { image: pushed });
    await assert.rejects(
      driver.create(wrong, {
        ...ctx(),
        registryAuth: { server: registry.server, username: registry.username, password: 'wrong' },
      }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'registry_auth_failed');
        assert.match(err.message, new RegExp(`refused to serve ${pushed.replace(/[.]/g, '\\.')} as hostplane`));
        return true;
      },
    );
    await assert.rejects(
      driver.create(buildSpec('docker', { image: pushed }), ctx()),
      (err: Error & { code?: string }) =>
        err.code === 'registry_auth_failed' && /without credentials/.test(err.message),
    );
    const missing = `${registry.server}/hostplane/never-pushed:1`;
    await assert.rejects(
      driver.create(buildSpec('docker', { image: missing }), {
        ...ctx(),
        registryAuth: { server: registry.server, username: registry.username, password: registry.password },
      }),
      (err: Error & { code?: string }) => err.code === 'image_pull_failed' && err.message.includes(missing),
    );
  });

  it('stops with the console command through an attach, before the grace period ends', async () => {
    const spec = buildSpec('docker', {
      startup: 'echo READY; while read l; do [ "$l" = quit ] && echo bye && exit 0; done',
      ready_pattern: '^READY',
      stop: { type: 'command', value: 'quit', grace_seconds: 20 },
    });
    await driver.create(spec, ctx());
    await driver.start(spec.instance_id);
    const t0 = Date.now();
    const stopped = await driver.stop(spec.instance_id);
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.exit_code, 0, 'the workload ended itself on the command, not by SIGKILL');
    assert.ok(Date.now() - t0 < 10_000, 'well before the 20 s grace period');
    assert.ok((await driver.logs(spec.instance_id, 10, 'output')).includes('bye'));
    await driver.remove(spec.instance_id);
  });

  it('publishes a port on 127.0.0.1 only', async () => {
    const hostPort = 20_000 + Math.floor(Math.random() * 20_000);
    const spec = buildSpec('docker', {
      startup: 'echo READY; while true; do echo pong | nc -l -p 8080; done',
      ports: [{ name: 'game', container_port: 8080, host_port: hostPort, protocol: 'tcp' }],
    });
    await driver.create(spec, ctx());
    await driver.start(spec.instance_id);
    const answer = await until(
      'the published port',
      () =>
        new Promise<string | null>((resolve) => {
          const socket = connect(hostPort, '127.0.0.1');
          let text = '';
          socket.on('data', (c) => (text += c.toString()));
          socket.on('close', () => resolve(text.includes('pong') ? text : null));
          socket.on('error', () => resolve(null));
        }),
    );
    assert.match(answer, /pong/);
    const container = (await dockerEngineGet(DOCKER_SOCKET, `/containers/hostplane-${spec.instance_id}/json`)) as {
      NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> };
    };
    assert.deepEqual(container.NetworkSettings.Ports['8080/tcp'], [
      { HostIp: '127.0.0.1', HostPort: String(hostPort) },
    ]);
    await driver.remove(spec.instance_id);
  });
});

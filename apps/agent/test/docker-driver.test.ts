import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { DockerDriver } from '../src/drivers/docker/docker-driver';
import { dockerEngineGet } from '../src/drivers/docker-engine';
import { InstanceStore } from '../src/instances/instance-store';
import { tempDir } from './support/agent-process';
import { buildSpec, until } from './support/instance-builders';

const DOCKER_SOCKET = process.env.HOSTPLANE_TEST_DOCKER_SOCKET ?? '/var/run/docker.sock';
const ctx = () => ({ progress: () => undefined, signal: new AbortController().signal });

describe('docker driver', () => {
  const store = new InstanceStore(tempDir());
  const driver = new DockerDriver(store, DOCKER_SOCKET, { bindAddress: '127.0.0.1' });
  after(() => driver.close());

  it('fails with image_missing for an image that is not on the host, without pulling it', async () => {
    const spec = buildSpec('docker', { image: 'hostplane/never-imported:none' });
    await assert.rejects(driver.create(spec, ctx()), (err: Error & { code?: string }) => err.code === 'image_missing' && /never pulls/.test(err.message));
  });

  it('publishes a port on 127.0.0.1 only', async () => {
    const hostPort = 20_000 + Math.floor(Math.random() * 20_000);
    const spec = buildSpec('docker', { startup: 'echo READY; while true; do echo pong | nc -l -p 8080; done', ports: [{ name: 'game', container_port: 8080, host_port: hostPort, protocol: 'tcp' }] });
    await driver.create(spec, ctx());
    await driver.start(spec.instance_id);
    const answer = await until('the published port', () =>
      new Promise<string | null>((resolve) => {
        const socket = connect(hostPort, '127.0.0.1');
        let text = '';
        socket.on('data', (c) => (text += c.toString()));
        socket.on('close', () => resolve(text.includes('pong') ? text : null));
        socket.on('error', () => resolve(null));
      }),
    );
    assert.match(answer, /pong/);
    const container = (await dockerEngineGet(DOCKER_SOCKET, `/containers/hostplane-${spec.instance_id}/json`)) as { NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> } };
    assert.deepEqual(container.NetworkSettings.Ports['8080/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }]);
    await driver.remove(spec.instance_id);
  });
});

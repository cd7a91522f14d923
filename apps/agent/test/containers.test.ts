import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ContainerControl } from '../src/containers/container-control';
import { dockerEngineRequest } from '../src/drivers/docker-engine';
import { INSTANCE_LABEL } from '../src/drivers/docker/docker-api';
import { createJobHandlers } from '../src/jobs/job-handlers';
import { AgentProcess, registeredStateDir, startAgent, tempDir, testAgentToken } from './support/agent-process';
import { codeOf, jobCtx } from './support/file-fixtures';
import { TEST_IMAGE, until } from './support/instance-builders';
import { TestHub, waitFor } from './support/test-hub';

const DOCKER_SOCKET = process.env.HOSTPLANE_TEST_DOCKER_SOCKET ?? '/var/run/docker.sock';
/** Counts lines on stdout and says so on stderr too; ignores SIGTERM as PID 1, so only a kill stops it. */
const CHATTY = 'i=0; while true; do echo line-$i; echo err-$i >&2; i=$((i+1)); sleep 0.1; done';

async function createContainer(labels: Record<string, string> = {}): Promise<string> {
  const name = `hp-test-${randomBytes(5).toString('hex')}`;
  const res = await dockerEngineRequest(DOCKER_SOCKET, 'POST', `/containers/create?name=${name}`, {
    Image: TEST_IMAGE,
    Cmd: ['/bin/sh', '-c', CHATTY],
    Tty: false,
    Labels: labels,
    HostConfig: { NetworkMode: 'none' },
  });
  assert.equal(res.status, 201, res.body.toString());
  return name;
}

describe('host containers through the Engine API', () => {
  const created: string[] = [];
  const stateDir = tempDir();
  const handlers = createJobHandlers({
    stateDir,
    refreshInventory: () => Promise.reject(new Error('unused')),
    containers: new ContainerControl(DOCKER_SOCKET),
  });
  const ctx = jobCtx();

  after(async () => {
    for (const name of created) await dockerEngineRequest(DOCKER_SOCKET, 'DELETE', `/containers/${name}?force=1`);
  });

  it('starts, stops with a timeout, restarts and kills a container, reporting its state each time', async () => {
    const name = await createContainer();
    created.push(name);
    const started = await handlers['node.container.action']({ container_id: name, action: 'start' }, ctx);
    assert.deepEqual([started.name, started.state, started.running], [name, 'running', true]);
    assert.match(started.container_id, /^[0-9a-f]{64}$/);
    assert.equal(
      (await handlers['node.container.action']({ container_id: name, action: 'start' }, ctx)).running,
      true,
      'starting a running container is no error',
    );

    const t0 = Date.now();
    const stopped = await handlers['node.container.action'](
      { container_id: name, action: 'stop', timeout_seconds: 1 },
      ctx,
    );
    assert.deepEqual([stopped.state, stopped.running], ['exited', false]);
    assert.ok(Date.now() - t0 >= 900, 'SIGTERM is ignored, so the engine waited the timeout before killing');

    const restarted = await handlers['node.container.action'](
      { container_id: started.container_id.slice(0, 12), action: 'restart', timeout_seconds: 0 },
      ctx,
    );
    assert.equal(restarted.running, true);
    const killed = await handlers['node.container.action'](
      { container_id: name, action: 'kill', signal: 'SIGKILL' },
      ctx,
    );
    assert.deepEqual([killed.state, killed.running], ['exited', false]);
    assert.equal(
      (await handlers['node.container.action']({ container_id: name, action: 'kill' }, ctx)).running,
      false,
      'killing a stopped container is no error',
    );
  });

  it('returns the last lines of output, stdout and stderr demultiplexed', async () => {
    const name = await createContainer();
    created.push(name);
    await handlers['node.container.action']({ container_id: name, action: 'start' }, ctx);
    await until(
      'some output',
      async () =>
        (await handlers['node.container.logs']({ container_id: name, lines: 10, timestamps: false }, ctx)).lines
          .length >= 10,
      10_000,
    );
    const { lines } = await handlers['node.container.logs']({ container_id: name, lines: 6, timestamps: false }, ctx);
    assert.equal(lines.length, 6);
    for (const line of lines) assert.match(line, /^(line|err)-\d+$/, JSON.stringify(line));
    const stamped = await handlers['node.container.logs']({ container_id: name, lines: 2, timestamps: true }, ctx);
    for (const line of stamped.lines) assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z (line|err)-\d+$/);
    await handlers['node.container.action']({ container_id: name, action: 'kill' }, ctx);
  });

  it('fails with container_not_found, driver_unavailable, and leaves instance containers to their driver', async () => {
    assert.equal(
      await codeOf(
        handlers['node.container.action']({ container_id: 'hp-test-no-such-container', action: 'start' }, ctx),
      ),
      'container_not_found',
    );
    assert.equal(
      await codeOf(
        handlers['node.container.logs'](
          { container_id: 'hp-test-no-such-container', lines: 5, timestamps: false },
          ctx,
        ),
      ),
      'container_not_found',
    );
    const noDocker = createJobHandlers({ stateDir, refreshInventory: () => Promise.reject(new Error('unused')) });
    assert.equal(
      await codeOf(noDocker['node.container.action']({ container_id: 'anything', action: 'stop' }, ctx)),
      'driver_unavailable',
    );
    const managed = await createContainer({ [INSTANCE_LABEL]: '00000000-0000-4000-8000-000000000000' });
    created.push(managed);
    assert.equal(
      await codeOf(handlers['node.container.action']({ container_id: managed, action: 'start' }, ctx)),
      'managed_container',
    );
    const inspect = await dockerEngineRequest(DOCKER_SOCKET, 'GET', `/containers/${managed}/json`);
    assert.equal((JSON.parse(inspect.body.toString()) as { State: { Running: boolean } }).State.Running, false);
  });
});

describe('container.logs stream through a real agent process', () => {
  const token = testAgentToken();
  let hub: TestHub;
  let agent: AgentProcess;
  let name: string;

  before(async () => {
    hub = await TestHub.start({ token });
    agent = startAgent(registeredStateDir(hub.url, token, hub.nodeId), {
      HOSTPLANE_AGENT_DOCKER_SOCKET: DOCKER_SOCKET,
    });
    name = await createContainer();
    await dockerEngineRequest(DOCKER_SOCKET, 'POST', `/containers/${name}/start`);
    await waitFor('welcome', () => hub.inventories.length > 0, 15_000);
  });

  after(async () => {
    await dockerEngineRequest(DOCKER_SOCKET, 'DELETE', `/containers/${name}?force=1`);
    await agent?.stop();
    await hub?.stop();
  });

  it('sends the tail, then follows new output until the container stops', async () => {
    await new Promise((r) => setTimeout(r, 600));
    const ack = await hub.openStream(
      'clogs-follow-1',
      'container.logs',
      { container_id: name, tail: 2, follow: true },
      { initialCredit: 64 * 1024, autoCredit: true },
    );
    assert.equal(ack.ok, true, JSON.stringify(ack));
    await waitFor('followed output', () => hub.streamOutput('clogs-follow-1').split('\n').length > 8, 10_000);
    const text = hub.streamOutput('clogs-follow-1');
    assert.ok(!hub.streamBuffer('clogs-follow-1').some((b) => b <= 2), 'no multiplexing headers in the output');
    const first = text.split('\n').filter(Boolean);
    assert.match(first[0] ?? '', /^(line|err)-\d+$/);
    await dockerEngineRequest(DOCKER_SOCKET, 'POST', `/containers/${name}/kill`);
    const closed = await waitFor(
      'close when the container stops',
      () => hub.streams.get('clogs-follow-1')?.closed,
      10_000,
    );
    assert.match(closed.reason ?? '', /container stopped/);

    const missing = await hub.openStream(
      'clogs-missing-1',
      'container.logs',
      { container_id: 'hp-test-no-such-container', tail: 2, follow: false },
      { initialCredit: 1024, autoCredit: true },
    );
    assert.equal(missing.ok ? 'ok' : missing.error.code, 'container_not_found');
    assert.deepEqual(hub.violations, []);
  });
});

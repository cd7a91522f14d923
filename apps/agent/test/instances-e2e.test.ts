import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, registeredStateDir, startAgent, testAgentToken } from './support/agent-process';
import { buildSpec } from './support/instance-builders';
import { TestHub, waitFor } from './support/test-hub';

function job(kind: string, payload: unknown) {
  return {
    job_id: randomUUID(),
    kind,
    payload,
    resource: null,
    attempt: 1,
    deadline_at: null,
    created_at: new Date().toISOString(),
  };
}

describe('instances end to end: jobs, state frames and the console through a real agent process', () => {
  const token = testAgentToken();
  let hub: TestHub;
  let agent: AgentProcess;
  let stateDir: string;
  const spec = buildSpec('process', { ready_pattern: '^READY' });
  const id = spec.instance_id;

  before(async () => {
    hub = await TestHub.start({ token });
    stateDir = registeredStateDir(hub.url, token, hub.nodeId);
    agent = startAgent(stateDir);
  });

  after(async () => {
    const del = job('instance.delete', { instance_id: id });
    if (hub.socket) {
      await hub.sendJob(del).catch(() => undefined);
      await waitFor('delete', () => hub.results.find((r) => r.job_id === del.job_id), 15_000).catch(() => undefined);
    }
    await agent.stop();
    await hub.stop();
  });

  async function run(kind: string, payload: unknown): Promise<unknown> {
    const j = job(kind, payload);
    assert.deepEqual(await hub.sendJob(j), { status: 'accepted' });
    const outcome = await waitFor(`${kind} result`, () => hub.results.find((r) => r.job_id === j.job_id), 20_000);
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    return outcome.status === 'succeeded' ? outcome.result : null;
  }

  it('creates and starts an instance by jobs, and the hub hears its state changes', async () => {
    await waitFor('hello', () => hub.hellos[0]);
    assert.deepEqual(hub.hellos[0]?.instances, []);
    assert.ok(hub.hellos[0]?.capabilities.includes('stream:instance.console'));
    const created = (await run('instance.create', { spec })) as { state: string };
    assert.equal(created.state, 'stopped');
    const started = (await run('instance.start', { instance_id: id })) as { state: string; pid: number };
    assert.equal(started.state, 'running');
    await waitFor('running frame', () => hub.instanceStates.find((f) => f.instance_id === id && f.state === 'running'));
    assert.ok(hub.instanceStates.some((f) => f.instance_id === id && f.state === 'starting'));
    assert.deepEqual(hub.violations, []);
  });

  it('relays the console: a line sent through the stream is answered through it', async () => {
    const streamId = `console-${randomUUID().slice(0, 8)}`;
    const ack = await hub.openStream(
      streamId,
      'instance.console',
      { instance_id: id },
      { initialCredit: 65_536, autoCredit: true },
    );
    assert.equal(ack.ok, true, JSON.stringify(ack));
    await new Promise((r) => setTimeout(r, 300));
    hub.emit('stream:data', { stream_id: streamId, data: Buffer.from('over-the-tunnel\n') });
    await waitFor('console answer', () => hub.streamOutput(streamId).includes('answer: over-the-tunnel'));
    hub.emit('stream:close', { stream_id: streamId });

    const logsId = `logs-${randomUUID().slice(0, 8)}`;
    const logsAck = await hub.openStream(
      logsId,
      'instance.logs',
      { instance_id: id, tail: 10 },
      { initialCredit: 65_536, autoCredit: true },
    );
    assert.equal(logsAck.ok, true);
    await waitFor('logs stream tail', () => hub.streamOutput(logsId).includes('READY'));
    hub.emit('stream:close', { stream_id: logsId });

    const missing = await hub.openStream(
      `console-${randomUUID().slice(0, 8)}`,
      'instance.console',
      { instance_id: randomUUID() },
      { initialCredit: 1024, autoCredit: true },
    );
    assert.deepEqual(missing.ok === false && missing.error.code, 'instance_not_found');
  });

  it('keeps the instance running across an agent restart and reports it in hello.instances', async () => {
    const before = (await run('instance.inspect', { instance_id: id })) as { pid: number };
    await agent.stop();
    const hellos = hub.hellos.length;
    agent = startAgent(stateDir);
    const hello = await waitFor('hello after restart', () => hub.hellos[hellos]);
    assert.deepEqual(hello.instances, [{ instance_id: id, state: 'running' }]);
    const after = (await run('instance.inspect', { instance_id: id })) as { pid: number; state: string };
    assert.deepEqual([after.state, after.pid], ['running', before.pid]);
    const stopped = (await run('instance.stop', { instance_id: id })) as { state: string };
    assert.equal(stopped.state, 'stopped');
    await waitFor('stopped frame', () => hub.instanceStates.find((f) => f.instance_id === id && f.state === 'stopped'));
  });

  it('answers an unknown instance with instance_not_found', async () => {
    const j = job('instance.start', { instance_id: randomUUID() });
    await hub.sendJob(j);
    const outcome = await waitFor('result', () => hub.results.find((r) => r.job_id === j.job_id));
    assert.deepEqual(outcome.status === 'failed' && outcome.error.code, 'instance_not_found');
  });
});

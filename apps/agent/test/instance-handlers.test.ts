import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { InstanceStateFrame } from '@hostplane/protocol';
import { AgentError } from '../src/errors/agent-error';
import type { JobContext } from '../src/jobs/handler-registry';
import { createInstanceHandlers } from '../src/jobs/handlers/instances';
import { createInstanceManager } from '../src/drivers/create-instance-manager';
import { InstanceStateRelay } from '../src/instances/state-relay';
import { tempDir } from './support/agent-process';
import { buildSpec } from './support/instance-builders';

const ctx = (): JobContext => ({
  jobId: randomUUID(),
  signal: new AbortController().signal,
  progress: () => undefined,
});

describe('instance job handlers', () => {
  it('answer repeated jobs from the state: create twice, stop when stopped, delete when gone', async () => {
    const instances = createInstanceManager({ stateDir: tempDir(), dockerSocket: '/nonexistent/docker.sock' });
    const handlers = createInstanceHandlers(instances);
    const spec = buildSpec('process');
    const first = await handlers['instance.create']({ spec }, ctx());
    assert.deepEqual(await handlers['instance.create']({ spec }, ctx()), first);
    assert.equal((await handlers['instance.stop']({ instance_id: spec.instance_id }, ctx())).state, 'stopped');
    assert.deepEqual(await handlers['instance.delete']({ instance_id: spec.instance_id }, ctx()), {
      instance_id: spec.instance_id,
      deleted: true,
    });
    assert.deepEqual(await handlers['instance.delete']({ instance_id: spec.instance_id }, ctx()), {
      instance_id: spec.instance_id,
      deleted: false,
    });
    await instances.close();
  });

  it('fail with stable codes: instance_not_found, driver_unavailable', async () => {
    const instances = createInstanceManager({ stateDir: tempDir(), dockerSocket: '/nonexistent/docker.sock' });
    const handlers = createInstanceHandlers(instances);
    await assert.rejects(
      handlers['instance.inspect']({ instance_id: randomUUID() }, ctx()),
      (e: unknown) => e instanceof AgentError && e.code === 'instance_not_found',
    );
    await assert.rejects(
      handlers['instance.create']({ spec: buildSpec('docker') }, ctx()),
      (e: unknown) => e instanceof AgentError && e.code === 'driver_unavailable' && /docker/.test(e.message),
    );
    await instances.close();
  });
});

describe('instance state relay', () => {
  it('queues frames while disconnected, the latest per instance winning, and sends them once attached', () => {
    const relay = new InstanceStateRelay();
    const frame = (id: string, state: InstanceStateFrame['state']): InstanceStateFrame => ({
      instance_id: id,
      state,
      reason: null,
      exit_code: null,
      ts: new Date().toISOString(),
    });
    const [a, b] = [randomUUID(), randomUUID()];
    relay.push(frame(a, 'starting'));
    relay.push(frame(b, 'crashed'));
    relay.push(frame(a, 'running'));
    const sent: InstanceStateFrame[] = [];
    const sink = { connected: true, sendInstanceState: (f: InstanceStateFrame) => sent.push(f) };
    relay.attach(sink);
    assert.deepEqual(
      sent.map((f) => [f.instance_id, f.state]),
      [
        [b, 'crashed'],
        [a, 'running'],
      ],
    );
    relay.push(frame(a, 'stopping'));
    assert.equal(sent.length, 3);
    relay.detach(sink);
    relay.push(frame(a, 'stopped'));
    assert.equal(relay.queued, 1);
  });
});

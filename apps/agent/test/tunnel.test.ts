import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FATAL_REFUSALS, JOB_KINDS, PROTOCOL_VERSION } from '@hostplane/protocol';
import { AgentProcess, registeredStateDir, startAgent, testAgentToken } from './support/agent-process';
import { selftestJob, TestHub, waitFor } from './support/test-hub';

describe('tunnel: a real agent process against a hub playing the contract', () => {
  const token = testAgentToken();
  let hub: TestHub;
  let agent: AgentProcess;
  let stateDir: string;

  before(async () => {
    hub = await TestHub.start({ token });
    stateDir = registeredStateDir(hub.url, token, hub.nodeId);
    agent = startAgent(stateDir, { HOSTPLANE_AGENT_MAX_CONCURRENT_JOBS: '3' });
  });

  after(async () => {
    await agent.stop();
    await hub.stop();
  });

  it('authenticates with the token and protocol in headers and auth, says hello and is welcomed', async () => {
    const hello = await waitFor('hello', () => hub.hellos[0]);
    const handshake = hub.handshakes[0];
    assert.ok(handshake);
    assert.equal(handshake.headers['x-agent-token'], token);
    assert.equal(handshake.headers['x-hostplane-protocol'], String(PROTOCOL_VERSION));
    assert.equal(handshake.auth.token, token);
    assert.equal(hello.protocol_version, PROTOCOL_VERSION);
    assert.equal(hello.max_concurrent_jobs, 3);
    assert.deepEqual(
      hello.drivers.map((d) => [d.name, d.available]),
      [
        ['process', true],
        ['docker', false],
      ],
    );
    for (const kind of Object.keys(JOB_KINDS))
      assert.ok(hello.capabilities.includes(`job:${kind}`), `capability job:${kind}`);
    assert.ok(hello.capabilities.includes('stream:terminal'));
  });

  it('sends a full inventory and schema-valid heartbeats with growing sequence numbers', async () => {
    const inventory = await waitFor('inventory', () => hub.inventories[0]);
    assert.ok(inventory.network.some((i) => i.name === 'lo'));
    await waitFor('three heartbeats', () => hub.heartbeats.length >= 3);
    const seqs = hub.heartbeats.map((h) => h.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    assert.ok((hub.heartbeats[0]?.metrics.memory_total_bytes ?? 0) > 0);
    assert.deepEqual(hub.violations, []);
  });

  it('runs a job, reports progress and gets its result acknowledged', async () => {
    const job = selftestJob({ marker: 'tunnel-run', steps: 2, delay_ms: 100 });
    assert.deepEqual(await hub.sendJob(job), { status: 'accepted' });
    const result = await waitFor('result', () => hub.results.find((r) => r.job_id === job.job_id));
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(
      hub.progress.filter((p) => p.job_id === job.job_id).map((p) => p.percent),
      [50, 100],
    );
    assert.match(readFileSync(join(stateDir, 'selftest.log'), 'utf8'), new RegExp(`^${job.job_id} tunnel-run$`, 'm'));
  });

  it('sends a fresh inventory when a node.inventory.refresh job asks for one', async () => {
    const before = hub.inventories.length;
    const job = { ...selftestJob({}), kind: 'node.inventory.refresh', payload: {} };
    assert.deepEqual(await hub.sendJob(job), { status: 'accepted' });
    const result = await waitFor('result', () => hub.results.find((r) => r.job_id === job.job_id));
    const sent = await waitFor('refreshed inventory', () => hub.inventories[before]);
    assert.deepEqual(result.status === 'succeeded' && result.result, { collected_at: sent.collected_at });
  });

  it('runs a job delivered twice only once, answering the second delivery from its state', async () => {
    const job = selftestJob({ marker: 'twice', delay_ms: 300 });
    const [first, second] = await Promise.all([hub.sendJob(job), hub.sendJob(job)]);
    assert.deepEqual([first.status, second.status].sort(), ['accepted', 'running']);
    await waitFor('result', () => hub.results.find((r) => r.job_id === job.job_id));
    const again = await hub.sendJob(job);
    assert.equal(again.status, 'done');
    if (again.status === 'done') assert.equal(again.outcome.status, 'succeeded');
    const lines = readFileSync(join(stateDir, 'selftest.log'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(job.job_id));
    assert.equal(lines.length, 1);
  });

  it('answers an invalid frame with an error frame and a rejection, and keeps working', async () => {
    const ack = await hub.sendJob({ job_id: 'not-a-uuid', kind: 'agent.selftest', payload: {} });
    assert.equal(ack.status, 'rejected');
    if (ack.status === 'rejected') assert.equal(ack.error.code, 'invalid_frame');
    hub.emit('stream:credit', { stream_id: 'x', bytes: -5 });
    hub.emit('job:cancel', 'garbage');
    await waitFor('three error frames', () => hub.errors.length >= 3);
    assert.deepEqual(
      hub.errors.map((e) => e.event),
      ['job', 'stream:credit', 'job:cancel'],
    );

    const unknownKind = await hub.sendJob({ ...selftestJob({}), kind: 'rm.rf' });
    assert.equal(unknownKind.status, 'rejected');
    if (unknownKind.status === 'rejected') assert.equal(unknownKind.error.code, 'unknown_kind');
    const badPayload = await hub.sendJob(selftestJob({ marker: 'two\nlines' }));
    assert.equal(badPayload.status, 'rejected');
    if (badPayload.status === 'rejected') assert.match(badPayload.error.message, /marker/);

    const job = selftestJob({ marker: 'still-alive' });
    assert.deepEqual(await hub.sendJob(job), { status: 'accepted' });
    await waitFor('result after invalid frames', () => hub.results.find((r) => r.job_id === job.job_id));
    assert.equal(agent.child.exitCode, null);
  });

  it('reconnects with backoff when the hub goes away and comes back, and re-sends unacknowledged results', async () => {
    hub.ackResults = false;
    const job = selftestJob({ marker: 'across-restart' });
    await hub.sendJob(job);
    await waitFor('unacknowledged result', () => hub.results.find((r) => r.job_id === job.job_id));
    const hellosBefore = hub.hellos.length;
    await hub.stop();
    await new Promise((r) => setTimeout(r, 1500));
    hub.ackResults = true;
    const resultsBefore = hub.results.length;
    await hub.restart();
    await waitFor('hello after restart', () => hub.hellos.length > hellosBefore, 10_000);
    const resent = await waitFor('re-sent result', () =>
      hub.results.slice(resultsBefore).find((r) => r.job_id === job.job_id),
    );
    assert.equal(resent.status, 'succeeded');
    const lost = agent.logs().filter((l) => l.msg === 'tunnel to the hub lost; reconnecting');
    assert.ok(lost.length >= 1, 'the agent logged its reconnect attempts');
    for (const l of lost)
      assert.ok(typeof l.delay_ms === 'number' && l.delay_ms <= 1000, 'delays stay under the configured cap');
  });

  it('reconnects after the hub replaces its connection', async () => {
    const before = hub.hellos.length;
    hub.refuseNextHellos = {
      refusal: { code: 'replaced', message: 'a newer connection of this node replaced this one' },
      count: 1,
    };
    hub.socket?.disconnect(true);
    await waitFor('hello after replacement', () => hub.hellos.length >= before + 2, 10_000);
    assert.equal(agent.child.exitCode, null);
    assert.ok(
      agent
        .logs()
        .some((l) => typeof l.msg === 'string' && l.msg.includes('a newer connection of this node replaced this one')),
    );
  });
});

describe('tunnel: refusals', () => {
  it('exits 78 printing the message when the hub refuses the token for good', async () => {
    assert.ok(FATAL_REFUSALS.has('token_revoked'));
    const token = testAgentToken();
    const hub = await TestHub.start({
      token,
      refuse: { code: 'token_revoked', message: 'the agent token of node web-1 was revoked' },
    });
    const agent = startAgent(registeredStateDir(hub.url, token));
    try {
      const { code } = await agent.exited;
      assert.equal(code, 78);
      assert.match(agent.stderr, /the agent token of node web-1 was revoked \(token_revoked\)/);
    } finally {
      await agent.stop();
      await hub.stop();
    }
  });

  it('uses the exit code a service manager asks for with --fatal-exit-code', async () => {
    const token = testAgentToken();
    const hub = await TestHub.start({ token, refuse: { code: 'node_deleted', message: 'node web-1 was deleted' } });
    const agent = startAgent(registeredStateDir(hub.url, token), {}, ['--fatal-exit-code', '96']);
    try {
      assert.equal((await agent.exited).code, 96);
    } finally {
      await agent.stop();
      await hub.stop();
    }
  });

  it('keeps retrying while the hub is unreachable', async () => {
    const token = testAgentToken();
    const hub = await TestHub.start({ token });
    const url = hub.url;
    await hub.stop();
    const agent = startAgent(registeredStateDir(url, token));
    try {
      await waitFor(
        'three failed attempts',
        () => agent.logs().filter((l) => l.msg === 'tunnel to the hub lost; reconnecting').length >= 3,
        10_000,
      );
      assert.equal(agent.child.exitCode, null);
    } finally {
      await agent.stop();
    }
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  AGENT_TO_HUB,
  HUB_TO_AGENT,
  JOB_KINDS,
  isSupportedProtocol,
  jobAck,
  jobEnvelope,
  parseFrame,
  parseJobPayload,
  PROTOCOL_VERSION,
  resourceName,
} from '../src';

describe('protocol', () => {
  it('accepts the current version and refuses others', () => {
    assert.equal(isSupportedProtocol(PROTOCOL_VERSION), true);
    assert.equal(isSupportedProtocol(PROTOCOL_VERSION + 1), false);
    assert.equal(isSupportedProtocol(0), false);
  });

  it('turns an invalid frame into an error frame naming the field, without throwing', () => {
    const r = parseFrame('heartbeat', AGENT_TO_HUB.heartbeat, { seq: -1, metrics: {}, running_jobs: [] });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'invalid_frame');
      assert.equal(r.error.event, 'heartbeat');
      assert.match(r.error.message, /^invalid heartbeat frame: (seq|metrics)/);
    }
    assert.equal(parseFrame('job', HUB_TO_AGENT.job, 'not an object').ok, false);
    assert.equal(parseFrame('job', HUB_TO_AGENT.job, null).ok, false);
  });

  it('validates job envelopes and payloads by kind, applying defaults', () => {
    const env = {
      job_id: randomUUID(),
      kind: 'agent.selftest',
      payload: { marker: 'hi' },
      resource: null,
      attempt: 1,
      deadline_at: null,
      created_at: new Date().toISOString(),
    };
    assert.equal(jobEnvelope.safeParse(env).success, true);
    assert.equal(jobEnvelope.safeParse({ ...env, kind: 'rm.rf' }).success, false);
    const p = parseJobPayload('agent.selftest', { marker: 'hi' });
    assert.ok(p.success);
    if (p.success) assert.deepEqual(p.data, { marker: 'hi', delay_ms: 0, steps: 1 });
    assert.equal(parseJobPayload('agent.selftest', { marker: 'two\nlines' }).success, false);
    assert.equal(parseJobPayload('node.process.kill', { pid: 1 }).success, false, 'pid 1 is never killed');
    assert.equal(JOB_KINDS['node.process.kill'].resource({ pid: 42, signal: 'SIGTERM' }), 'process:42');
  });

  it('acks carry a recorded outcome when a job was already done', () => {
    const job_id = randomUUID();
    const ok = jobAck.safeParse({
      status: 'done',
      outcome: { job_id, status: 'succeeded', result: { x: 1 }, finished_at: new Date().toISOString() },
    });
    assert.equal(ok.success, true);
    assert.equal(jobAck.safeParse({ status: 'done' }).success, false);
  });

  it('resource names that reach host commands are strict', () => {
    for (const good of ['web01', 'a', 'db_1.prod-x']) assert.equal(resourceName.safeParse(good).success, true, good);
    for (const bad of ['web;rm', '-x', '../etc', '', 'a b', 'x'.repeat(64)])
      assert.equal(resourceName.safeParse(bad).success, false, bad);
  });
});

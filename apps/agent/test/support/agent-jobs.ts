import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { JobOutcome } from '@hostplane/protocol';
import { TestHub, waitFor } from './test-hub';

export function jobEnvelope(kind: string, payload: unknown) {
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

/** Sends a job through the test hub and waits for its outcome. */
export async function runJob(hub: TestHub, kind: string, payload: unknown, timeoutMs = 20_000): Promise<JobOutcome> {
  const j = jobEnvelope(kind, payload);
  assert.deepEqual(await hub.sendJob(j), { status: 'accepted' });
  return waitFor(`${kind} result`, () => hub.results.find((r) => r.job_id === j.job_id), timeoutMs);
}

/** Sends a job that must succeed; its result. */
export async function jobResult<T = Record<string, unknown>>(hub: TestHub, kind: string, payload: unknown): Promise<T> {
  const outcome = await runJob(hub, kind, payload);
  assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
  return (outcome as { result: T }).result;
}

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { JobAck, JobEnvelope, JobOutcome, JobProgress } from '@hostplane/protocol';
import { collectInventory } from '../src/inventory/collect-inventory';
import { createJobHandlers } from '../src/jobs/job-handlers';
import { HubLink, JobService } from '../src/jobs/job-service';
import { JobJournal } from '../src/jobs/journal';
import { createAgentLogger } from '../src/logging/logger';
import { tempDir } from './support/agent-process';
import { waitFor } from './support/test-hub';

const log = createAgentLogger('silent');

/** The hub end of a session, as the job service sees it. */
class RecordingLink implements HubLink {
  readonly results: JobOutcome[] = [];
  readonly progress: JobProgress[] = [];
  acknowledge = true;
  sendProgress(p: JobProgress): void {
    this.progress.push(p);
  }
  async sendResult(o: JobOutcome): Promise<boolean> {
    this.results.push(o);
    return this.acknowledge;
  }
  outcome(jobId: string): JobOutcome | undefined {
    return this.results.find((r) => r.job_id === jobId);
  }
}

async function newService(options: { concurrency?: number; maxQueued?: number; stateDir?: string } = {}) {
  const stateDir = options.stateDir ?? tempDir();
  const journal = await JobJournal.open(stateDir, { retentionDays: 7 });
  const handlers = createJobHandlers({
    stateDir,
    refreshInventory: () => collectInventory({ dockerSocket: join(stateDir, 'none.sock'), log }),
  });
  const service = new JobService({
    journal,
    handlers,
    maxConcurrentJobs: options.concurrency ?? 4,
    maxQueuedJobs: options.maxQueued ?? 100,
    log,
  });
  const link = new RecordingLink();
  service.attach(link);
  return { stateDir, journal, service, link };
}

function envelope(kind: JobEnvelope['kind'], payload: unknown, extra: Partial<JobEnvelope> = {}): JobEnvelope {
  return {
    job_id: randomUUID(),
    kind,
    payload,
    resource: null,
    attempt: 1,
    deadline_at: null,
    created_at: new Date().toISOString(),
    ...extra,
  };
}

async function deliver(service: JobService, job: JobEnvelope): Promise<JobAck> {
  let answer: JobAck | undefined;
  await service.receive(job, (a) => (answer = a));
  assert.ok(answer, 'the job was answered');
  return answer;
}

function selftestLines(stateDir: string): string[] {
  const file = join(stateDir, 'selftest.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

describe('job service', () => {
  it('cancels a waiting job without running it while the one ahead of it finishes', async () => {
    const { service, link, stateDir } = await newService({ concurrency: 1 });
    const first = envelope('agent.selftest', { marker: 'first', delay_ms: 300, resource: 'q' });
    const second = envelope('agent.selftest', { marker: 'second', resource: 'q' });
    assert.equal((await deliver(service, first)).status, 'accepted');
    assert.equal((await deliver(service, second)).status, 'accepted');
    service.cancel(second.job_id);
    assert.equal((await waitFor('cancelled', () => link.outcome(second.job_id))).status, 'cancelled');
    assert.equal((await waitFor('first done', () => link.outcome(first.job_id))).status, 'succeeded');
    await service.idle();
    assert.deepEqual(selftestLines(stateDir), [`${first.job_id} first`]);
  });

  it('aborts a running cancellable job promptly and records it as cancelled, without its effect', async () => {
    const { service, link, stateDir, journal } = await newService();
    const job = envelope('agent.selftest', { marker: 'slow', delay_ms: 30_000 });
    await deliver(service, job);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    service.cancel(job.job_id);
    const outcome = await waitFor('cancelled outcome', () => link.outcome(job.job_id));
    assert.equal(outcome.status, 'cancelled');
    assert.ok(Date.now() - started < 1000);
    assert.equal(journal.get(job.job_id)?.outcome?.status, 'cancelled');
    assert.deepEqual(selftestLines(stateDir), []);
  });

  it('fails a job whose deadline passed before it started with code expired', async () => {
    const { service, link, stateDir } = await newService();
    const job = envelope(
      'agent.selftest',
      { marker: 'late' },
      { deadline_at: new Date(Date.now() - 1000).toISOString() },
    );
    assert.equal((await deliver(service, job)).status, 'accepted');
    const outcome = await waitFor('outcome', () => link.outcome(job.job_id));
    assert.equal(outcome.status === 'failed' && outcome.error.code, 'expired');
    assert.deepEqual(selftestLines(stateDir), []);
  });

  it('answers redeliveries: running while it runs, done with the recorded outcome after', async () => {
    const { service, link } = await newService();
    const job = envelope('agent.selftest', { marker: 'x', delay_ms: 200 });
    assert.equal((await deliver(service, job)).status, 'accepted');
    assert.equal((await deliver(service, job)).status, 'running');
    assert.deepEqual(service.activeJobIds(), [job.job_id]);
    const outcome = await waitFor('outcome', () => link.outcome(job.job_id));
    assert.deepEqual(await deliver(service, job), { status: 'done', outcome });
    assert.deepEqual(service.activeJobIds(), []);
  });

  it('re-runs a job that was accepted but never finished (the agent crashed), effect still once', async () => {
    const stateDir = tempDir();
    const job = envelope('agent.selftest', { marker: 'crash' });
    const crashed = await JobJournal.open(stateDir, { retentionDays: 7 });
    await crashed.recordAccepted({ jobId: job.job_id, kind: job.kind, resource: null, attempt: 1 });
    await crashed.close();
    const { service, link } = await newService({ stateDir });
    assert.equal((await deliver(service, { ...job, attempt: 2 })).status, 'accepted');
    assert.equal((await waitFor('outcome', () => link.outcome(job.job_id))).status, 'succeeded');
    assert.deepEqual(selftestLines(stateDir), [`${job.job_id} crash`]);
  });

  it('reports failures with their code, and rejects bad payloads and overload up front', async () => {
    const { service, link } = await newService({ maxQueued: 1 });
    const failing = envelope('agent.selftest', { marker: 'f', fail_with: 'asked to fail' });
    await deliver(service, failing);
    const outcome = await waitFor('outcome', () => link.outcome(failing.job_id));
    assert.deepEqual(outcome.status === 'failed' && outcome.error, {
      code: 'selftest_failed',
      message: 'asked to fail',
    });

    const bad = await deliver(service, envelope('node.process.kill', { pid: 'one' }));
    assert.equal(bad.status === 'rejected' && bad.error.code, 'invalid_payload');
    assert.match(bad.status === 'rejected' ? bad.error.message : '', /node.process.kill payload is invalid: pid/);

    await deliver(service, envelope('agent.selftest', { marker: 'hold', delay_ms: 300 }));
    const busy = await deliver(service, envelope('agent.selftest', { marker: 'overflow' }));
    assert.equal(busy.status === 'rejected' && busy.error.code, 'agent_busy');
    await service.idle();
  });

  it('keeps an unacknowledged result and sends it again on the next attach', async () => {
    const { service, link, journal } = await newService();
    link.acknowledge = false;
    const job = envelope('node.inventory.refresh', {});
    await deliver(service, job);
    await waitFor('first send', () => link.outcome(job.job_id));
    assert.equal(journal.get(job.job_id)?.delivered, false);
    const next = new RecordingLink();
    service.attach(next);
    const resent = await waitFor('re-sent', () => next.outcome(job.job_id));
    assert.equal(resent.status, 'succeeded');
    await waitFor('marked delivered', () => journal.get(job.job_id)?.delivered);
  });
});

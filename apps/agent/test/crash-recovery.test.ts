import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobJournal } from '../src/jobs/journal';
import { AgentProcess, registeredStateDir, startAgent, testAgentToken } from './support/agent-process';
import { selftestJob, TestHub, waitFor } from './support/test-hub';

function linesOf(stateDir: string, jobId: string): string[] {
  return readFileSync(join(stateDir, 'selftest.log'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${jobId} `));
}

async function killHard(agent: AgentProcess): Promise<void> {
  agent.child.kill('SIGKILL');
  await agent.exited;
}

describe('agent crash recovery (kill -9)', () => {
  const token = testAgentToken();
  let hub: TestHub;
  let stateDir: string;
  let agent: AgentProcess;

  before(async () => {
    hub = await TestHub.start({ token });
    stateDir = registeredStateDir(hub.url, token, hub.nodeId);
  });

  after(async () => {
    await agent?.stop();
    await hub.stop();
  });

  const restart = async () => {
    const hellos = hub.hellos.length;
    agent = startAgent(stateDir);
    await waitFor('hello from the restarted agent', () => hub.hellos.length > hellos);
  };

  it('re-runs a job killed mid-run when the hub redelivers it, with one effect', async () => {
    await restart();
    const job = selftestJob({ marker: 'mid-run', delay_ms: 5000, steps: 10 });
    assert.equal((await hub.sendJob(job)).status, 'accepted');
    await waitFor('first progress', () => hub.progress.some((p) => p.job_id === job.job_id));
    await killHard(agent);

    await restart();
    assert.deepEqual(hub.hellos.at(-1)?.running_jobs, [], 'nothing runs in the new process yet');
    const redelivered = { ...job, attempt: 2, payload: { ...job.payload, delay_ms: 0, steps: 1 } };
    assert.equal((await hub.sendJob(redelivered)).status, 'accepted');
    assert.equal((await waitFor('result', () => hub.results.find((r) => r.job_id === job.job_id))).status, 'succeeded');
    assert.equal(linesOf(stateDir, job.job_id).length, 1);
  });

  it('does not repeat the effect when killed after the effect but before the journal recorded the outcome', async () => {
    await killHard(agent);
    // Exactly what the disk holds after such a crash: accepted in the journal, the line written, no outcome.
    const job = selftestJob({ marker: 'effect-then-crash' });
    const journal = await JobJournal.open(stateDir, { retentionDays: 7 });
    await journal.recordAccepted({ jobId: job.job_id, kind: job.kind, resource: null, attempt: 1 });
    await journal.close();
    writeFileSync(join(stateDir, 'selftest.log'), `${job.job_id} effect-then-crash\n`, { flag: 'a' });

    await restart();
    assert.equal((await hub.sendJob({ ...job, attempt: 2 })).status, 'accepted');
    assert.equal((await waitFor('result', () => hub.results.find((r) => r.job_id === job.job_id))).status, 'succeeded');
    assert.equal(linesOf(stateDir, job.job_id).length, 1);
  });

  it('re-sends a result recorded but not acknowledged before the crash, and answers the redelivery as done', async () => {
    hub.ackResults = false;
    const job = selftestJob({ marker: 'unacked' });
    await hub.sendJob(job);
    await waitFor('unacknowledged result', () => hub.results.find((r) => r.job_id === job.job_id));
    await killHard(agent);

    hub.ackResults = true;
    const before = hub.results.length;
    await restart();
    const resent = await waitFor('result re-sent after restart', () =>
      hub.results.slice(before).find((r) => r.job_id === job.job_id),
    );
    assert.equal(resent.status, 'succeeded');
    const again = await hub.sendJob({ ...job, attempt: 2 });
    assert.equal(again.status, 'done');
    assert.equal(linesOf(stateDir, job.job_id).length, 1);
    await agent.stop();
    const journal = await JobJournal.read(stateDir);
    assert.equal(journal.get(job.job_id)?.delivered, true);
    assert.deepEqual(hub.violations, []);
  });
});

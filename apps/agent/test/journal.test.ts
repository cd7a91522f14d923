import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { JobJournal, JOURNAL_FILE } from '../src/jobs/journal';
import { tempDir } from './support/agent-process';

const WRITER = join(__dirname, 'fixtures/journal-writer.js');

function succeeded(jobId: string, finishedAt = new Date()) {
  return { job_id: jobId, status: 'succeeded' as const, result: { ok: true }, finished_at: finishedAt.toISOString() };
}

describe('job journal', () => {
  it('keeps every record a writer saw as written when the writer is killed with SIGKILL', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, [WRITER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let printed = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        printed += c.toString('utf8');
        if (printed.split('\n').length > 50) resolve();
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const confirmed = printed.split('\n').slice(0, -1);
    assert.ok(confirmed.length >= 50);

    const journal = await JobJournal.open(dir, { retentionDays: 7 });
    for (const id of confirmed) {
      assert.equal(journal.get(id)?.outcome?.status, 'succeeded', `job ${id} survived`);
    }
    await journal.close();
  });

  it('tolerates a torn last line and appends cleanly after it', async () => {
    const dir = tempDir();
    const first = await JobJournal.open(dir, { retentionDays: 7 });
    const kept = randomUUID();
    await first.recordAccepted({ jobId: kept, kind: 'agent.selftest', resource: 'selftest:a', attempt: 1 });
    await first.close();
    appendFileSync(join(dir, JOURNAL_FILE), `{"t":"accepted","job_id":"${randomUUID()}","ki`);

    const second = await JobJournal.open(dir, { retentionDays: 7 });
    assert.equal(second.loadReport.tornTail, true);
    assert.equal(second.get(kept)?.resource, 'selftest:a');
    await second.recordOutcome(succeeded(kept));
    await second.close();

    const lines = readFileSync(join(dir, JOURNAL_FILE), 'utf8').trimEnd().split('\n');
    for (const line of lines) JSON.parse(line);
    const third = await JobJournal.open(dir, { retentionDays: 7 });
    assert.equal(third.get(kept)?.outcome?.status, 'succeeded');
    assert.equal(third.loadReport.tornTail, false);
    await third.close();
  });

  it('skips a corrupt record in the middle without losing the others', async () => {
    const dir = tempDir();
    const a = randomUUID();
    const b = randomUUID();
    const at = new Date().toISOString();
    writeFileSync(
      join(dir, JOURNAL_FILE),
      [
        JSON.stringify({ t: 'accepted', job_id: a, kind: 'agent.selftest', resource: null, attempt: 1, at }),
        '{not json',
        JSON.stringify({ t: 'accepted', job_id: 'not-a-uuid', kind: 'x', resource: null, attempt: 1, at }),
        JSON.stringify({ t: 'accepted', job_id: b, kind: 'agent.selftest', resource: null, attempt: 2, at }),
        '',
      ].join('\n'),
    );
    const journal = await JobJournal.open(dir, { retentionDays: 7 });
    assert.equal(journal.loadReport.skipped, 2);
    assert.ok(journal.get(a));
    assert.equal(journal.get(b)?.attempt, 2);
    await journal.close();
  });

  it('compaction at open keeps recent outcomes and unfinished jobs, and drops old ones', async () => {
    const dir = tempDir();
    const now = new Date('2026-03-10T12:00:00Z');
    const eightDaysAgo = new Date(now.getTime() - 8 * 86_400_000);
    const oldJournal = await JobJournal.open(dir, { retentionDays: 7, now: () => eightDaysAgo });
    const old = randomUUID();
    await oldJournal.recordAccepted({ jobId: old, kind: 'agent.selftest', resource: null, attempt: 1 });
    await oldJournal.recordOutcome(succeeded(old, eightDaysAgo));
    await oldJournal.recordDelivered(old);
    await oldJournal.close();

    const current = await JobJournal.open(dir, { retentionDays: 7, now: () => now });
    const recent = randomUUID();
    const unfinished = randomUUID();
    const undelivered = randomUUID();
    await current.recordAccepted({ jobId: recent, kind: 'agent.selftest', resource: null, attempt: 1 });
    await current.recordOutcome(succeeded(recent, now));
    await current.recordDelivered(recent);
    await current.recordAccepted({ jobId: unfinished, kind: 'agent.selftest', resource: null, attempt: 1 });
    await current.recordAccepted({ jobId: undelivered, kind: 'agent.selftest', resource: null, attempt: 1 });
    await current.recordOutcome(succeeded(undelivered, now));
    await current.close();

    const reopened = await JobJournal.open(dir, { retentionDays: 7, now: () => new Date(now.getTime() + 3_600_000) });
    assert.equal(reopened.get(old), undefined, 'an outcome older than the retention is dropped');
    assert.equal(reopened.get(recent)?.delivered, true);
    assert.equal(reopened.get(unfinished)?.outcome, null);
    assert.deepEqual(
      reopened.undeliveredOutcomes().map((o) => o.job_id),
      [undelivered],
    );
    assert.deepEqual(reopened.counts(), { unfinished: 1, undelivered: 1, delivered: 1 });
    await reopened.close();
    assert.doesNotMatch(
      readFileSync(join(dir, JOURNAL_FILE), 'utf8'),
      new RegExp(old),
      'the old job is gone from the file',
    );
  });

  it('writes the file readable by its owner only', async () => {
    const dir = tempDir();
    const journal = await JobJournal.open(dir, { retentionDays: 7 });
    await journal.recordAccepted({ jobId: randomUUID(), kind: 'agent.selftest', resource: null, attempt: 1 });
    await journal.close();
    assert.equal(statSync(join(dir, JOURNAL_FILE)).mode & 0o777, 0o600);
  });
});

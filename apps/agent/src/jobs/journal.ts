import { FileHandle, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { JobOutcome, jobOutcome } from '@hostplane/protocol';
import { fsyncDirectory } from '../config/state-dir';

export const JOURNAL_FILE = 'jobs.journal.jsonl';

const at = z.iso.datetime();
const journalRecord = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('accepted'),
    job_id: z.uuid(),
    kind: z.string(),
    resource: z.string().nullable(),
    attempt: z.number().int(),
    at,
  }),
  z.object({ t: z.literal('outcome'), job_id: z.uuid(), outcome: jobOutcome, at }),
  z.object({ t: z.literal('delivered'), job_id: z.uuid(), at }),
]);
type JournalRecord = z.infer<typeof journalRecord>;

export interface JournalEntry {
  jobId: string;
  kind: string;
  resource: string | null;
  attempt: number;
  acceptedAt: string;
  outcome: JobOutcome | null;
  /** The hub acknowledged the outcome; it is kept only to answer redeliveries. */
  delivered: boolean;
}

export interface JournalCounts {
  unfinished: number;
  undelivered: number;
  delivered: number;
}

export interface JournalLoadReport {
  records: number;
  skipped: number;
  tornTail: boolean;
}

export interface OpenJournalOptions {
  retentionDays: number;
  now?: () => Date;
}

/**
 * The agent's durable memory of jobs: append-only JSON lines, each record on disk (fsync)
 * before the promise that wrote it resolves. Records written together share one fsync.
 * Compacted at open, which also drops a line torn by a crash mid-write.
 */
export class JobJournal {
  private pending: { line: string; resolve: () => void; reject: (err: Error) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly entries: Map<string, JournalEntry>,
    private readonly file: FileHandle | null,
    private readonly now: () => Date,
    readonly loadReport: JournalLoadReport,
  ) {}

  static async open(stateDir: string, options: OpenJournalOptions): Promise<JobJournal> {
    const now = options.now ?? (() => new Date());
    const path = join(stateDir, JOURNAL_FILE);
    const { entries, report } = await loadEntries(path);
    const cutoff = now().getTime() - options.retentionDays * 86_400_000;
    for (const [id, e] of entries) {
      const time = Date.parse(e.outcome ? e.outcome.finished_at : e.acceptedAt);
      if (time < cutoff) entries.delete(id);
    }
    await rewrite(path, entries);
    const file = await open(path, 'a', 0o600);
    return new JobJournal(entries, file, now, report);
  }

  /** Reads the journal without taking it over (for `status` while the agent runs). */
  static async read(stateDir: string): Promise<JobJournal> {
    const { entries, report } = await loadEntries(join(stateDir, JOURNAL_FILE));
    return new JobJournal(entries, null, () => new Date(), report);
  }

  get(jobId: string): JournalEntry | undefined {
    return this.entries.get(jobId);
  }

  async recordAccepted(job: { jobId: string; kind: string; resource: string | null; attempt: number }): Promise<void> {
    const record: JournalRecord = {
      t: 'accepted',
      job_id: job.jobId,
      kind: job.kind,
      resource: job.resource,
      attempt: job.attempt,
      at: this.now().toISOString(),
    };
    await this.append(record);
    const prior = this.entries.get(job.jobId);
    this.entries.set(job.jobId, {
      jobId: job.jobId,
      kind: job.kind,
      resource: job.resource,
      attempt: job.attempt,
      acceptedAt: record.at,
      outcome: prior?.outcome ?? null,
      delivered: false,
    });
  }

  async recordOutcome(outcome: JobOutcome): Promise<void> {
    await this.append({ t: 'outcome', job_id: outcome.job_id, outcome, at: this.now().toISOString() });
    const entry = this.entries.get(outcome.job_id);
    if (entry) {
      entry.outcome = outcome;
      entry.delivered = false;
    }
  }

  async recordDelivered(jobId: string): Promise<void> {
    const entry = this.entries.get(jobId);
    if (!entry || entry.delivered) return;
    entry.delivered = true;
    await this.append({ t: 'delivered', job_id: jobId, at: this.now().toISOString() });
  }

  undeliveredOutcomes(): JobOutcome[] {
    const out: JobOutcome[] = [];
    for (const e of this.entries.values()) if (e.outcome && !e.delivered) out.push(e.outcome);
    return out;
  }

  counts(): JournalCounts {
    const c: JournalCounts = { unfinished: 0, undelivered: 0, delivered: 0 };
    for (const e of this.entries.values()) {
      if (!e.outcome) c.unfinished++;
      else if (e.delivered) c.delivered++;
      else c.undelivered++;
    }
    return c;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    await this.file?.close();
  }

  private append(record: JournalRecord): Promise<void> {
    if (!this.file) return Promise.reject(new Error('journal is open read-only'));
    if (this.closed) return Promise.reject(new Error('journal is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ line: `${JSON.stringify(record)}\n`, resolve, reject });
      this.flushing ??= this.flushPending(this.file as FileHandle);
    });
  }

  private async flushPending(file: FileHandle): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      try {
        await file.write(batch.map((p) => p.line).join(''));
        await file.sync();
        for (const p of batch) p.resolve();
      } catch (err) {
        const error = new Error(`job journal write failed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        for (const p of batch) p.reject(error);
      }
    }
    this.flushing = null;
  }
}

async function loadEntries(path: string): Promise<{ entries: Map<string, JournalEntry>; report: JournalLoadReport }> {
  const entries = new Map<string, JournalEntry>();
  const report: JournalLoadReport = { records: 0, skipped: 0, tornTail: false };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries, report };
    throw err;
  }
  const lines = text.split('\n');
  // Every complete record ends in '\n', so a non-empty last piece is a write cut short by a crash.
  const tail = lines.pop() ?? '';
  if (tail !== '') report.tornTail = true;
  for (const line of lines) {
    if (line === '') continue;
    const record = parseRecord(line);
    if (!record) {
      report.skipped++;
      continue;
    }
    report.records++;
    applyRecord(entries, record);
  }
  return { entries, report };
}

function parseRecord(line: string): JournalRecord | null {
  try {
    const parsed = journalRecord.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function applyRecord(entries: Map<string, JournalEntry>, r: JournalRecord): void {
  const entry = entries.get(r.job_id);
  if (r.t === 'accepted') {
    entries.set(r.job_id, {
      jobId: r.job_id,
      kind: r.kind,
      resource: r.resource,
      attempt: r.attempt,
      acceptedAt: r.at,
      outcome: entry?.outcome ?? null,
      delivered: false,
    });
  } else if (entry && r.t === 'outcome') {
    entry.outcome = r.outcome;
    entry.delivered = false;
  } else if (entry && r.t === 'delivered') {
    entry.delivered = true;
  }
}

function entryRecords(e: JournalEntry): JournalRecord[] {
  const records: JournalRecord[] = [
    { t: 'accepted', job_id: e.jobId, kind: e.kind, resource: e.resource, attempt: e.attempt, at: e.acceptedAt },
  ];
  if (e.outcome) records.push({ t: 'outcome', job_id: e.jobId, outcome: e.outcome, at: e.outcome.finished_at });
  if (e.outcome && e.delivered) records.push({ t: 'delivered', job_id: e.jobId, at: e.outcome.finished_at });
  return records;
}

async function rewrite(path: string, entries: Map<string, JournalEntry>): Promise<void> {
  const tmp = `${path}.compact`;
  const file = await open(tmp, 'w', 0o600);
  try {
    const lines = [...entries.values()].flatMap(entryRecords).map((r) => `${JSON.stringify(r)}\n`);
    await file.write(lines.join(''));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  fsyncDirectory(join(path, '..'));
}

import type { JobEnvelope, JobOutcome } from '@hostplane/protocol';
import { boundedAll, HubClient } from './hub-client';
import { round, SampleSummary, summarize } from './stats';

interface WaitRecord {
  marker: string;
  operationId?: string;
  waitSentAt?: number;
  /** Set once the job frame reached the agent: finishes the job (sends its result) when called. */
  release?: () => void;
  releaseTimer?: NodeJS.Timeout;
  /** performance.now() just before the agent sent `job:result`. */
  finishedAt?: number;
  waitAt?: number;
  eventAt?: number;
  /** Date.now() at the wait's answer minus the operation's finished_at (ms clock, a cross-check). */
  finishedAtLagMs?: number;
  outcome?: string;
}

export interface WaitLatencyResult {
  label: string;
  inFlight: number;
  holdMs: number;
  operations: number;
  /** Operations that did not end `succeeded` through the wait, by outcome. */
  failures: Record<string, number>;
  /** `job:result` sent by the agent → the parked `GET /v1/operations/{id}/wait` answered. */
  waitMs: SampleSummary;
  /** `job:result` sent → `operation.completed` received on /v1/ws/subscribe. */
  eventMs: SampleSummary;
  /** The wait's answer (Date.now()) minus the finished_at it returns, which the agent stamped: whole ms. */
  finishedAtLagMs: SampleSummary;
  /** How long each wait had been parked when the job finished. */
  parkedMs: SampleSummary;
  seconds: number;
}

const WAIT_TIMEOUT_SECONDS = 30;
const EVENT_GRACE_MS = 5_000;

/**
 * How long after a job finishes `GET /v1/operations/{id}/wait` answers. Each operation is a
 * self-test job on a SimAgent that holds its result until the wait has been sent and parked for
 * `holdMs`, then answers; the agent and the client run in this process, so "finished" (the
 * moment before `job:result` is emitted) and "answered" are read on one clock, to the µs.
 */
export class WaitProbe {
  private readonly byMarker = new Map<string, WaitRecord>();
  private readonly byOperation = new Map<string, WaitRecord>();
  private seq = 0;

  constructor(
    private readonly client: HubClient,
    private readonly nodeId: string,
    private readonly holdMs: number,
  ) {}

  /** SimAgent's `onJob`: the outcome is sent when the probe releases it. */
  onJob(job: JobEnvelope): Promise<JobOutcome> {
    const marker = (job.payload as { marker?: string }).marker ?? '';
    const rec = this.byMarker.get(marker);
    return new Promise((resolve) => {
      const finish = () => {
        if (rec) rec.finishedAt = performance.now();
        resolve({
          job_id: job.job_id,
          status: 'succeeded',
          result: { line: marker, file: 'selftest.log' },
          finished_at: new Date().toISOString(),
        });
      };
      if (!rec) return finish(); // not ours (e.g. a redelivery after the run): answer at once
      rec.release = finish;
      this.armRelease(rec);
    });
  }

  /** CompletionFeed's listener. */
  onCompleted(operationId: string, _status: string, at: number): void {
    const rec = this.byOperation.get(operationId);
    if (rec && rec.eventAt === undefined) rec.eventAt = at;
  }

  async run(label: string, operations: number, inFlight: number): Promise<WaitLatencyResult> {
    const started = performance.now();
    const records = await boundedAll(operations, inFlight, () => this.one());
    const seconds = (performance.now() - started) / 1000;
    const deadline = performance.now() + EVENT_GRACE_MS;
    while (records.some((r) => r.outcome === 'succeeded' && r.eventAt === undefined) && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    for (const r of records) {
      this.byMarker.delete(r.marker);
      if (r.operationId) this.byOperation.delete(r.operationId);
    }

    const ok = records.filter((r) => r.outcome === 'succeeded' && r.finishedAt !== undefined);
    const failures: Record<string, number> = {};
    for (const r of records)
      if (r.outcome !== 'succeeded') failures[r.outcome ?? 'unknown'] = (failures[r.outcome ?? 'unknown'] ?? 0) + 1;
    const ms = (values: number[]) => {
      const s = summarize(values);
      return {
        count: s.count,
        mean: round(s.mean, 3),
        min: round(s.min, 3),
        p50: round(s.p50, 3),
        p90: round(s.p90, 3),
        p99: round(s.p99, 3),
        max: round(s.max, 3),
      };
    };
    return {
      label,
      inFlight,
      holdMs: this.holdMs,
      operations,
      failures,
      waitMs: ms(ok.map((r) => r.waitAt! - r.finishedAt!)),
      eventMs: ms(ok.filter((r) => r.eventAt !== undefined).map((r) => r.eventAt! - r.finishedAt!)),
      finishedAtLagMs: ms(ok.filter((r) => r.finishedAtLagMs !== undefined).map((r) => r.finishedAtLagMs!)),
      parkedMs: ms(ok.map((r) => r.finishedAt! - r.waitSentAt!)),
      seconds: round(seconds, 1),
    };
  }

  /** The job is released `holdMs` after both its frame reached the agent and its wait was sent. */
  private armRelease(rec: WaitRecord): void {
    if (!rec.release || rec.waitSentAt === undefined || rec.releaseTimer) return;
    rec.releaseTimer = setTimeout(rec.release, this.holdMs);
  }

  private async one(): Promise<WaitRecord> {
    const rec: WaitRecord = { marker: `wait-${this.seq++}` };
    this.byMarker.set(rec.marker, rec);
    const accepted = await this.client.request(`/v1/nodes/${this.nodeId}/selftest`, { json: { marker: rec.marker } });
    if (accepted.status !== 202 || typeof accepted.body?.id !== 'string') {
      rec.outcome = `http ${accepted.status}`;
      return rec;
    }
    rec.operationId = accepted.body.id as string;
    this.byOperation.set(rec.operationId, rec);
    const answer = this.client.request(`/v1/operations/${rec.operationId}/wait?timeout=${WAIT_TIMEOUT_SECONDS}`);
    rec.waitSentAt = performance.now();
    this.armRelease(rec);
    const res = await answer;
    rec.waitAt = performance.now();
    const status = res.status === 200 ? String(res.body?.status) : `http ${res.status}`;
    rec.outcome = status === 'running' || status === 'queued' ? 'wait timed out' : status;
    if (typeof res.body?.finished_at === 'string')
      rec.finishedAtLagMs = Date.now() - Date.parse(res.body.finished_at as string);
    return rec;
  }
}

import type { JobEnvelope } from '@hostplane/protocol';
import type { HubClient } from './hub-client';
import { round, SampleSummary, summarize } from './stats';

interface JobRecord {
  marker: string;
  nodeId: string;
  operationId?: string;
  sentAt: number;
  acceptedAt?: number;
  jobAt?: number;
  completedAt?: number;
  /** `succeeded`, another final status, `http <code>`, `http error` or `timeout`. */
  outcome?: string;
  finish: () => void;
}

export interface JobLoadOptions {
  label: string;
  /** Jobs go round-robin to these nodes: lane i sends its k-th job to node (i + k × inFlight) mod length. */
  nodeIds: string[];
  /** Jobs kept in flight: each lane sends its next job when its previous one completed. */
  inFlight: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** A job not completed within this counts as a timeout. */
  timeoutMs: number;
  /** Called when the measured window starts and ends (resource readings). */
  onWindow?: (phase: 'start' | 'end') => void;
}

export interface JobLoadResult {
  label: string;
  agents: number;
  inFlight: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Jobs completed (succeeded) inside the measured window. */
  completed: number;
  jobsPerSec: number;
  /** Standard deviation of the per-second completion counts. */
  jobsPerSecStddev: number;
  /** POST sent → `operation.completed` event received, jobs sent in the window. */
  roundTripMs: SampleSummary;
  /** POST sent → the `job` frame arrives at the simulated agent. */
  toAgentMs: SampleSummary;
  /** POST sent → its 202 response (operation row written, queue job added). */
  acceptedMs: SampleSummary;
  /** Jobs that did not succeed, by outcome (`timeout`, `http 500`, `failed`, …). */
  failures: Record<string, number>;
}

/**
 * Self-test jobs through the real path (API → operations row → node queue → Worker → tunnel →
 * agent → result → event) with a fixed number in flight, timed end to end without polling: the
 * agent reports when each `job` frame arrives and the event feed when each operation completes.
 * Markers are unique per job, so a job frame is tied to its POST even before the 202 returns.
 */
export class JobLoad {
  private readonly byMarker = new Map<string, JobRecord>();
  private readonly byOperation = new Map<string, JobRecord>();
  private seq = 0;

  constructor(private readonly client: HubClient) {}

  /** Wire to Fleet.onJobFrame. */
  onJobFrame(job: JobEnvelope, at: number): void {
    const marker = (job.payload as { marker?: string }).marker;
    const rec = marker ? this.byMarker.get(marker) : undefined;
    if (!rec) return;
    rec.jobAt ??= at;
    rec.operationId = job.job_id;
    this.byOperation.set(job.job_id, rec);
  }

  /** Wire to CompletionFeed. */
  onCompleted(operationId: string, status: string, at: number): void {
    const rec = this.byOperation.get(operationId);
    if (!rec || rec.outcome) return;
    rec.completedAt = at;
    rec.outcome = status;
    rec.finish();
  }

  async run(o: JobLoadOptions): Promise<JobLoadResult> {
    const started = performance.now();
    const windowStart = started + o.warmupSeconds * 1000;
    const windowEnd = windowStart + o.durationSeconds * 1000;
    const inWindow: JobRecord[] = [];
    const completions: number[] = [];
    // Each phase fires exactly once, in order, even when a timer runs late and the lanes finish first.
    let phase: 'before' | 'start' | 'end' = 'before';
    const enter = (next: 'start' | 'end') => {
      if (phase === 'before') {
        phase = 'start';
        o.onWindow?.('start');
      }
      if (next === 'end' && phase === 'start') {
        phase = 'end';
        o.onWindow?.('end');
      }
    };
    const startTimer = setTimeout(() => enter('start'), windowStart - started);
    const endTimer = setTimeout(() => enter('end'), windowEnd - started);

    const lane = async (i: number) => {
      for (let k = 0; performance.now() < windowEnd; k++) {
        const rec = await this.one(o.nodeIds[(i + k * o.inFlight) % o.nodeIds.length]!, o.timeoutMs);
        if (rec.sentAt >= windowStart && rec.sentAt < windowEnd) inWindow.push(rec);
        if (rec.outcome === 'succeeded' && rec.completedAt! >= windowStart && rec.completedAt! < windowEnd)
          completions.push(rec.completedAt!);
      }
    };
    try {
      await Promise.all(Array.from({ length: o.inFlight }, (_, i) => lane(i)));
    } finally {
      clearTimeout(startTimer);
      clearTimeout(endTimer);
      enter('end');
    }

    const perSecond = new Array<number>(Math.max(1, Math.round(o.durationSeconds))).fill(0);
    for (const t of completions) {
      const s = Math.floor((t - windowStart) / 1000);
      if (s < perSecond.length) perSecond[s]!++;
    }
    const mean = completions.length / o.durationSeconds;
    const stddev = Math.sqrt(perSecond.reduce((a, n) => a + (n - mean) ** 2, 0) / perSecond.length);
    const ok = inWindow.filter((r) => r.outcome === 'succeeded');
    const failures: Record<string, number> = {};
    for (const r of inWindow) if (r.outcome !== 'succeeded') failures[r.outcome!] = (failures[r.outcome!] ?? 0) + 1;
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
      label: o.label,
      agents: o.nodeIds.length,
      inFlight: o.inFlight,
      warmupSeconds: o.warmupSeconds,
      durationSeconds: o.durationSeconds,
      completed: completions.length,
      jobsPerSec: round(mean, 1),
      jobsPerSecStddev: round(stddev, 1),
      roundTripMs: ms(ok.map((r) => r.completedAt! - r.sentAt)),
      toAgentMs: ms(ok.filter((r) => r.jobAt !== undefined).map((r) => r.jobAt! - r.sentAt)),
      acceptedMs: ms(ok.filter((r) => r.acceptedAt !== undefined).map((r) => r.acceptedAt! - r.sentAt)),
      failures,
    };
  }

  /** Sends one job and resolves when it completed, failed to be accepted, or timed out. */
  private one(nodeId: string, timeoutMs: number): Promise<JobRecord> {
    const marker = `fleet-${this.seq++}`;
    return new Promise<JobRecord>((resolve) => {
      const rec: JobRecord = {
        marker,
        nodeId,
        sentAt: performance.now(),
        finish: () => {
          clearTimeout(timer);
          this.byMarker.delete(marker);
          if (rec.operationId) this.byOperation.delete(rec.operationId);
          resolve(rec);
        },
      };
      const timer = setTimeout(() => {
        rec.outcome ??= 'timeout';
        rec.finish();
      }, timeoutMs);
      this.byMarker.set(marker, rec);
      this.client.request(`/v1/nodes/${nodeId}/selftest`, { json: { marker } }).then(
        (res) => {
          rec.acceptedAt = performance.now();
          if (res.status !== 202) {
            rec.outcome ??= `http ${res.status}`;
            rec.finish();
          } else if (typeof res.body?.id === 'string' && !rec.outcome) {
            rec.operationId = res.body.id;
            this.byOperation.set(res.body.id, rec);
          }
        },
        () => {
          rec.outcome ??= 'http error';
          rec.finish();
        },
      );
    });
  }
}

import type { HubClient } from './hub-client';
import { round, SampleSummary, summarize } from './stats';

export const CYCLE_STEPS = ['create', 'start', 'stop', 'delete'] as const;
export type CycleStep = (typeof CYCLE_STEPS)[number];

export interface CycleLoadOptions {
  label: string;
  workloadId: string;
  /** Cycles kept in flight: each lane starts its next cycle when its previous one ended. */
  concurrency: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Called when the measured window starts and ends (resource readings). */
  onWindow?: (phase: 'start' | 'end') => void;
}

export interface CycleLoadResult {
  label: string;
  concurrency: number;
  warmupSeconds: number;
  /** From the first request to the window's start: the warm-up, or longer until every lane finished a cycle. */
  warmupTookSeconds: number;
  durationSeconds: number;
  /** Cycles that ended (all four steps succeeded) inside the measured window. */
  completed: number;
  cyclesPerSec: number;
  /**
   * Steps (of any cycle) that succeeded inside the window, per second: the steadier rate to divide
   * CPU by when cycles are long against the window.
   */
  stepsPerSec: number;
  cyclesPerSecStddev: number;
  /** First request sent → the delete's wait answered, cycles started in the window. */
  cycleMs: SampleSummary;
  /** Each step: its request sent → its operation's `GET /v1/operations/{id}/wait` answered `succeeded`. */
  stepMs: Record<CycleStep, SampleSummary>;
  /**
   * Where a step's time goes, over every step of the cycles in `cycleMs`, from the operation row
   * the wait returns (whole ms, the machine's one wall clock): accepted = request sent → its 202;
   * queued = created_at → started_at (in the node's queue until its Worker delivers it); running =
   * started_at → finished_at (tunnel, agent, driver; finished_at is the agent's); answered =
   * finished_at → the wait's answer received.
   */
  phaseMs: Record<StepPhase, SampleSummary>;
  /** The same, per step. */
  stepPhaseMs: Record<CycleStep, Record<StepPhase, SampleSummary>>;
  /** Steps that failed, by step and outcome (`start failed: …`, `create http 409`). */
  failures: Record<string, number>;
}

export const STEP_PHASES = ['accepted', 'queued', 'running', 'answered'] as const;
export type StepPhase = (typeof STEP_PHASES)[number];

interface CycleRecord {
  startedAt: number;
  endedAt?: number;
  steps: Partial<Record<CycleStep, number>>;
  /** performance.now() when each step's wait answered succeeded. */
  stepEnds: number[];
  phases: ({ step: CycleStep } & Record<StepPhase, number>)[];
  failure?: string;
}

const WAIT_SECONDS = 120;
const MAX_WARMUP_MS = 120_000;

/**
 * Instance life cycles through the public API in a closed loop: POST /v1/instances (start:
 * false), POST …/start, POST …/stop, DELETE, each followed by `GET /v1/operations/{id}/wait` on
 * the operation its 202 names, so a step's time is what a client waiting for it sees.
 */
export class CycleLoad {
  private seq = 0;

  constructor(private readonly client: HubClient) {}

  async run(o: CycleLoadOptions): Promise<CycleLoadResult> {
    const started = performance.now();
    // The window opens after the warm-up and once every lane has finished its first cycle: the
    // first burst of `concurrency` creates at once is not the steady state.
    let windowStart = Infinity;
    let windowEnd = Infinity;
    let warmedLanes = 0;
    let warmupOver = false;
    const inWindow: CycleRecord[] = [];
    const completions: number[] = [];
    const records: CycleRecord[] = [];
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
    let endTimer: NodeJS.Timeout | undefined;
    const openWindow = () => {
      if (windowStart !== Infinity) return;
      windowStart = performance.now();
      windowEnd = windowStart + o.durationSeconds * 1000;
      enter('start');
      endTimer = setTimeout(() => enter('end'), o.durationSeconds * 1000);
    };
    const warmupTimer = setTimeout(() => {
      warmupOver = true;
      if (warmedLanes === o.concurrency) openWindow();
    }, o.warmupSeconds * 1000);
    const capTimer = setTimeout(openWindow, MAX_WARMUP_MS);
    const lane = async () => {
      for (let first = true; performance.now() < windowEnd; first = false) {
        const rec = await this.cycle(o.workloadId);
        records.push(rec);
        if (first && ++warmedLanes === o.concurrency && warmupOver) openWindow();
        if (rec.startedAt >= windowStart && rec.startedAt < windowEnd) inWindow.push(rec);
        if (!rec.failure && rec.endedAt! >= windowStart && rec.endedAt! < windowEnd) completions.push(rec.endedAt!);
      }
    };
    try {
      await Promise.all(Array.from({ length: o.concurrency }, lane));
    } finally {
      for (const t of [warmupTimer, capTimer, endTimer]) clearTimeout(t);
      enter('end');
    }

    const perSecond = new Array<number>(Math.max(1, Math.round(o.durationSeconds))).fill(0);
    for (const t of completions) {
      const s = Math.floor((t - windowStart) / 1000);
      if (s < perSecond.length) perSecond[s]!++;
    }
    const mean = completions.length / o.durationSeconds;
    const steps = records.reduce((n, r) => n + r.stepEnds.filter((t) => t >= windowStart && t < windowEnd).length, 0);
    const ok = inWindow.filter((r) => !r.failure);
    const failures: Record<string, number> = {};
    for (const r of inWindow) if (r.failure) failures[r.failure] = (failures[r.failure] ?? 0) + 1;
    const stepMs = Object.fromEntries(CYCLE_STEPS.map((s) => [s, ms(ok.map((r) => r.steps[s]!))])) as Record<
      CycleStep,
      SampleSummary
    >;
    return {
      label: o.label,
      concurrency: o.concurrency,
      warmupSeconds: o.warmupSeconds,
      warmupTookSeconds: round((windowStart - started) / 1000, 1),
      durationSeconds: o.durationSeconds,
      completed: completions.length,
      cyclesPerSec: round(mean, 1),
      stepsPerSec: round(steps / o.durationSeconds, 1),
      cyclesPerSecStddev: round(Math.sqrt(perSecond.reduce((a, n) => a + (n - mean) ** 2, 0) / perSecond.length), 1),
      cycleMs: ms(ok.map((r) => r.endedAt! - r.startedAt)),
      stepMs,
      phaseMs: phases(ok.flatMap((r) => r.phases)),
      stepPhaseMs: Object.fromEntries(
        CYCLE_STEPS.map((step) => [step, phases(ok.flatMap((r) => r.phases.filter((x) => x.step === step)))]),
      ) as Record<CycleStep, Record<StepPhase, SampleSummary>>,
      failures,
    };
  }

  private async cycle(workloadId: string): Promise<CycleRecord> {
    const rec: CycleRecord = { startedAt: performance.now(), steps: {}, stepEnds: [], phases: [] };
    let instanceId: string | undefined;
    try {
      const created = await this.step(rec, 'create', '/v1/instances', 'POST', {
        name: `cycle-${this.seq++}`,
        workload_id: workloadId,
        start: false,
      });
      instanceId = created.instance.id as string;
      await this.step(rec, 'start', `/v1/instances/${instanceId}/start`, 'POST');
      await this.step(rec, 'stop', `/v1/instances/${instanceId}/stop`, 'POST');
      await this.step(rec, 'delete', `/v1/instances/${instanceId}`, 'DELETE');
      rec.endedAt = performance.now();
    } catch (err) {
      rec.failure = (err as Error).message.slice(0, 160);
      // Leave nothing running behind a failed step; its own outcome no longer matters.
      if (instanceId && !rec.steps.delete)
        await this.client.request(`/v1/instances/${instanceId}`, { method: 'DELETE' }).catch(() => undefined);
    }
    return rec;
  }

  /** One step: the request, then a wait on its operation; throws naming the step unless it succeeded. */
  private async step(
    rec: CycleRecord,
    step: CycleStep,
    path: string,
    method: 'POST' | 'DELETE',
    json?: unknown,
  ): Promise<any> {
    const t0 = performance.now();
    const res = await this.client.request(path, { method, json });
    const acceptedMs = performance.now() - t0;
    if (res.status !== 202) throw new Error(`${step} http ${res.status} ${res.body?.code ?? ''}`.trim());
    const wait = await this.client.request(`/v1/operations/${res.body.id}/wait?timeout=${WAIT_SECONDS}`);
    const answeredAt = Date.now();
    const op = wait.body as {
      status?: string;
      error?: { code?: string };
      created_at: string;
      started_at: string | null;
      finished_at: string | null;
    } | null;
    if (op?.status !== 'succeeded')
      throw new Error(
        `${step} ${op?.status ?? `wait http ${wait.status}`}${op?.error?.code ? `: ${op.error.code}` : ''}`,
      );
    rec.steps[step] = performance.now() - t0;
    rec.stepEnds.push(performance.now());
    const created = Date.parse(op.created_at);
    const started = op.started_at ? Date.parse(op.started_at) : created;
    const finished = op.finished_at ? Date.parse(op.finished_at) : answeredAt;
    rec.phases.push({
      step,
      accepted: acceptedMs,
      queued: started - created,
      running: finished - started,
      answered: answeredAt - finished,
    });
    return res.body;
  }
}

function phases(rows: Record<StepPhase, number>[]): Record<StepPhase, SampleSummary> {
  return Object.fromEntries(STEP_PHASES.map((p) => [p, ms(rows.map((x) => x[p]))])) as Record<StepPhase, SampleSummary>;
}

function ms(values: number[]): SampleSummary {
  const s = summarize(values);
  return {
    count: s.count,
    mean: round(s.mean, 2),
    min: round(s.min, 2),
    p50: round(s.p50, 2),
    p90: round(s.p90, 2),
    p99: round(s.p99, 2),
    max: round(s.max, 2),
  };
}

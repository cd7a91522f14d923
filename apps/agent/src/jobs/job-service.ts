import { JOB_KINDS, JobAck, JobEnvelope, JobKind, JobOutcome, JobProgress, parseJobPayload } from '@hostplane/protocol';
import { codedFailure } from '../errors/agent-error';
import type { AgentLogger } from '../logging/logger';
import { JobContext, JobHandler, JobHandlerRegistry } from './handler-registry';
import { JobJournal } from './journal';
import { JobScheduler } from './scheduler';

/** What the job service needs from the tunnel; a connected hub session provides it. */
export interface HubLink {
  sendProgress(progress: JobProgress): void;
  /** Resolves true once the hub acknowledged the result with `{ok: true}`. */
  sendResult(outcome: JobOutcome): Promise<boolean>;
}

export interface JobServiceOptions {
  journal: JobJournal;
  handlers: JobHandlerRegistry;
  maxConcurrentJobs: number;
  /** Accepted and unfinished jobs beyond this are rejected with `agent_busy`. */
  maxQueuedJobs: number;
  log: AgentLogger;
  now?: () => Date;
}

interface ActiveJob {
  envelope: JobEnvelope;
  payload: unknown;
  resource: string | null;
  controller: AbortController;
  /** A cancel that arrived while the job was being written to the journal. */
  cancelRequested: boolean;
  /** Accepted before by an agent that stopped before the outcome. */
  rerun: boolean;
}

/**
 * Turns job frames into effects exactly once per job id: the journal answers redeliveries, the
 * scheduler orders work per resource, and outcomes are re-sent until the hub acknowledges them.
 */
export class JobService {
  private readonly active = new Map<string, ActiveJob>();
  private readonly scheduler: JobScheduler;
  private readonly now: () => Date;
  private link: HubLink | null = null;
  private linkGeneration = 0;
  private readonly resultsInFlight = new Set<string>();

  constructor(private readonly options: JobServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.scheduler = new JobScheduler({
      concurrency: options.maxConcurrentJobs,
      onTaskError: (task, err) => options.log.error({ err, job_id: task.id }, 'job task failed outside its handler'),
    });
  }

  /**
   * Answers a delivered job through `ack`. A new job is in the journal (fsync) before it is
   * acknowledged, and scheduled only after, so its progress never overtakes the ack.
   */
  async receive(envelope: JobEnvelope, ack: (answer: JobAck) => void): Promise<void> {
    const log = this.options.log.child({ job_id: envelope.job_id, kind: envelope.kind });
    const recorded = this.options.journal.get(envelope.job_id);
    if (recorded?.outcome) {
      log.info('redelivered job already finished: answering from the journal');
      return ack({ status: 'done', outcome: recorded.outcome });
    }
    if (this.active.has(envelope.job_id)) {
      log.info('redelivered job is already running');
      return ack({ status: 'running' });
    }
    const payload = parseJobPayload(envelope.kind, envelope.payload);
    if (!payload.success) {
      const issue = payload.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')} ` : '';
      return ack(
        rejected('invalid_payload', `${envelope.kind} payload is invalid: ${where}${issue?.message ?? 'malformed'}`),
      );
    }
    if (this.active.size >= this.options.maxQueuedJobs) {
      return ack(
        rejected(
          'agent_busy',
          `the agent already holds ${this.active.size} unfinished jobs (max_queued_jobs); retry later`,
        ),
      );
    }
    const spec = JOB_KINDS[envelope.kind] as { resource: (p: unknown) => string | null };
    const job: ActiveJob = {
      envelope,
      payload: payload.data,
      resource: envelope.resource ?? spec.resource(payload.data),
      controller: new AbortController(),
      cancelRequested: false,
      rerun: recorded !== undefined,
    };
    this.active.set(envelope.job_id, job);
    try {
      await this.options.journal.recordAccepted({
        jobId: envelope.job_id,
        kind: envelope.kind,
        resource: job.resource,
        attempt: envelope.attempt,
      });
    } catch (err) {
      this.active.delete(envelope.job_id);
      log.error({ err }, 'cannot record the job in the journal');
      return ack(rejected('journal_unavailable', `the agent cannot write its job journal: ${(err as Error).message}`));
    }
    ack({ status: 'accepted' });
    log.info({ resource: job.resource, attempt: envelope.attempt, rerun: recorded !== undefined }, 'job accepted');
    if (job.cancelRequested)
      return this.finish(job, { job_id: envelope.job_id, status: 'cancelled', finished_at: this.now().toISOString() });
    this.scheduler.enqueue({ id: envelope.job_id, resource: job.resource, run: () => this.run(job) });
  }

  /** A waiting job is dropped without running; a running one is aborted if its kind allows. */
  cancel(jobId: string): void {
    const job = this.active.get(jobId);
    if (!job) {
      this.options.log.debug({ job_id: jobId }, 'cancel for a job that is not active');
      return;
    }
    if (this.scheduler.removeWaiting(jobId)) {
      this.options.log.info({ job_id: jobId }, 'job cancelled before it started');
      void this.finish(job, { job_id: jobId, status: 'cancelled', finished_at: this.now().toISOString() });
    } else if (!this.scheduler.isRunning(jobId)) {
      job.cancelRequested = true;
    } else if (JOB_KINDS[job.envelope.kind].cancellable) {
      this.options.log.info({ job_id: jobId }, 'cancelling running job');
      job.controller.abort();
    } else {
      this.options.log.info(
        { job_id: jobId, kind: job.envelope.kind },
        'job kind cannot be cancelled once running; letting it finish',
      );
    }
  }

  attach(link: HubLink): void {
    this.link = link;
    this.linkGeneration++;
    this.resultsInFlight.clear();
    this.retryUndelivered();
  }

  detach(link: HubLink): void {
    if (this.link !== link) return;
    this.link = null;
    this.linkGeneration++;
    this.resultsInFlight.clear();
  }

  /** Sends every outcome the hub has not acknowledged yet (and is not already awaiting). */
  retryUndelivered(): void {
    for (const outcome of this.options.journal.undeliveredOutcomes()) this.sendResult(outcome);
  }

  /** Accepted and unfinished jobs: the hub must not treat them as lost after a reconnect. */
  activeJobIds(): string[] {
    return [...this.active.keys()];
  }

  idle(): Promise<void> {
    return this.scheduler.idle();
  }

  private async run(job: ActiveJob): Promise<void> {
    const { envelope } = job;
    const jobId = envelope.job_id;
    const log = this.options.log.child({ job_id: jobId, kind: envelope.kind });
    const finishedAt = () => this.now().toISOString();
    if (envelope.deadline_at !== null && Date.parse(envelope.deadline_at) <= this.now().getTime()) {
      log.warn({ deadline_at: envelope.deadline_at }, 'job expired before it started');
      const message = `the job's deadline ${envelope.deadline_at} passed before it could start`;
      return this.finish(job, {
        job_id: jobId,
        status: 'failed',
        error: { code: 'expired', message },
        finished_at: finishedAt(),
      });
    }
    const ctx: JobContext = {
      jobId,
      signal: job.controller.signal,
      rerun: job.rerun,
      progress: (percent, message) => {
        const p: JobProgress = { job_id: jobId, percent: Math.min(100, Math.max(0, percent)) };
        if (message !== undefined) p.message = message.slice(0, 500);
        this.link?.sendProgress(p);
      },
    };
    const handler = this.options.handlers[envelope.kind] as JobHandler<JobKind>;
    let outcome: JobOutcome;
    try {
      // The payload was parsed with this kind's schema in receive(); the map cannot carry that link in its type.
      const result: unknown = await handler(job.payload as never, ctx);
      const checked = (
        JOB_KINDS[envelope.kind].result as { safeParse(v: unknown): { success: boolean; data?: unknown } }
      ).safeParse(result);
      if (job.controller.signal.aborted) outcome = { job_id: jobId, status: 'cancelled', finished_at: finishedAt() };
      else if (!checked.success)
        outcome = failed(
          jobId,
          'invalid_result',
          `the ${envelope.kind} handler returned a result that does not match the protocol`,
          finishedAt(),
        );
      else outcome = { job_id: jobId, status: 'succeeded', result: checked.data, finished_at: finishedAt() };
    } catch (err) {
      if (job.controller.signal.aborted) outcome = { job_id: jobId, status: 'cancelled', finished_at: finishedAt() };
      else {
        const failure = codedFailure(err, 'handler_error');
        if (!failure.coded) log.error({ err }, 'job handler threw');
        outcome = failed(jobId, failure.code, failure.message, finishedAt());
      }
    }
    log.info(
      { status: outcome.status, ...(outcome.status === 'failed' ? { error: outcome.error } : {}) },
      'job finished',
    );
    return this.finish(job, outcome);
  }

  private async finish(job: ActiveJob, outcome: JobOutcome): Promise<void> {
    try {
      await this.options.journal.recordOutcome(outcome);
    } catch (err) {
      this.options.log.error(
        { err, job_id: outcome.job_id },
        'cannot record the job outcome; sending it once without a journal record',
      );
      this.active.delete(outcome.job_id);
      this.link?.sendResult(outcome).catch(() => undefined);
      return;
    }
    this.active.delete(job.envelope.job_id);
    this.sendResult(outcome);
  }

  private sendResult(outcome: JobOutcome): void {
    const link = this.link;
    if (!link || this.resultsInFlight.has(outcome.job_id)) return;
    const generation = this.linkGeneration;
    this.resultsInFlight.add(outcome.job_id);
    link.sendResult(outcome).then(
      (ok) => {
        if (generation === this.linkGeneration) this.resultsInFlight.delete(outcome.job_id);
        if (!ok)
          return this.options.log.warn(
            { job_id: outcome.job_id },
            'hub did not acknowledge the job result; it will be sent again',
          );
        this.options.journal
          .recordDelivered(outcome.job_id)
          .catch((err: unknown) => this.options.log.error({ err }, 'cannot record result delivery'));
      },
      (err: unknown) => {
        if (generation === this.linkGeneration) this.resultsInFlight.delete(outcome.job_id);
        this.options.log.warn({ err, job_id: outcome.job_id }, 'sending the job result failed; it will be sent again');
      },
    );
  }
}

function rejected(code: string, message: string): JobAck {
  return { status: 'rejected', error: { code, message } };
}

function failed(jobId: string, code: string, message: string, finishedAt: string): JobOutcome {
  return { job_id: jobId, status: 'failed', error: { code, message: message.slice(0, 4000) }, finished_at: finishedAt };
}

import { Inject, Injectable } from '@nestjs/common';
import { DelayedError, Job } from 'bullmq';
import type { Logger } from 'pino';
import { JobEnvelope, jobAck, JobOutcome } from '@hostplane/protocol';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import type { AgentConnection, DomainEventMap } from '../domain-events/domain-events';
import { HUB_LOGGER } from '../http/logger';
import type { AgentSession } from '../tunnel/agent-session';
import { TunnelServer } from '../tunnel/tunnel.server';
import type { NodeJobData } from './job-queues';
import { JobRegistryCredentials } from './job-registry-credentials';
import { JobPayloadFillers } from './job-payload-fillers';
import { OperationsService } from './operations.service';

const REDELIVER_DELAY_MS = 1000;
/** A job found behind an open one on its resource (a queue filled by an older replica): look again later. */
const NOT_YET_DELAY_MS = 5000;
/** Rejections the agent may not repeat later: anything else (busy, journal trouble) is retried. */
const PERMANENT_REJECTIONS = new Set(['invalid_frame', 'unknown_kind', 'invalid_payload']);

interface Waiter {
  /** The connection the job was sent on: an outcome or progress from another one is not this wait's. */
  connection: AgentConnection;
  resolve: (o: JobOutcome) => void;
  reject: (e: Error) => void;
}

class AgentGoneError extends Error {}

/**
 * Takes a job from a node's queue to its agent and back: emit on the local socket, wait for the
 * ack (the agent journals the id first), then for the outcome. If the agent is not here or goes
 * away, the job is put back (delayed) without counting as an attempt: delivery is at-least-once,
 * the agent's journal makes the effect happen once.
 */
@Injectable()
export class JobDelivery {
  private readonly waiters = new Map<string, Waiter>();
  private readonly lastProgressWrite = new Map<string, number>();

  constructor(
    private readonly tunnel: TunnelServer,
    private readonly operations: OperationsService,
    domainEvents: DomainEventBus,
    private readonly registryCredentials: JobRegistryCredentials,
    private readonly payloadFillers: JobPayloadFillers,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    domainEvents.on('job.outcome', (e) => this.onOutcome(e));
    domainEvents.on('job.progress', (e) => this.onProgress(e));
    domainEvents.on('agent.closed', (closed) => {
      for (const [id, w] of this.waiters) {
        if (sameConnection(w.connection, closed)) {
          this.waiters.delete(id);
          w.reject(new AgentGoneError('agent disconnected'));
        }
      }
    });
  }

  /**
   * At shutdown: every job waiting for its outcome is put back for redelivery (the agent's journal keeps the effect
   * single).
   */
  putBackAll(): void {
    for (const [id, w] of this.waiters) {
      this.waiters.delete(id);
      w.reject(new AgentGoneError('the hub is shutting down'));
    }
  }

  get inFlight(): number {
    return this.waiters.size;
  }

  async process(nodeId: string, job: Job<NodeJobData>, token: string | undefined): Promise<void> {
    const data = job.data;
    if (data.deadlineAt && Date.parse(data.deadlineAt) < Date.now()) {
      await this.operations.expireDue();
      return;
    }
    if (!this.tunnel.session(nodeId)) return this.redeliverLater(job, token);
    const turn = await this.operations.mayDeliver(data.opId);
    if (turn === 'final') return;
    if (turn === 'waiting') {
      this.log.warn(
        { nodeId, opId: data.opId, resource: data.resource },
        'job queued before an earlier one on its resource ended; holding it',
      );
      return this.redeliverLater(job, token, NOT_YET_DELAY_MS);
    }
    const session = this.tunnel.session(nodeId);
    if (!session) return this.redeliverLater(job, token);

    const payload = await this.registryCredentials.addTo(data.orgId, data.kind, data.payload);
    if (payload === null) {
      await this.operations.fail(
        data.opId,
        'registry_not_found',
        'the registry credentials this workload names were deleted; name another registry in the workload (registry_id) or remove it',
      );
      return;
    }
    const envelope: JobEnvelope = {
      job_id: data.opId,
      kind: data.kind as JobEnvelope['kind'],
      payload: await this.payloadFillers.fill(data.kind, { orgId: data.orgId, nodeId }, payload),
      resource: data.resource,
      attempt: job.attemptsMade + 1,
      deadline_at: data.deadlineAt,
      created_at: data.createdAt,
    };
    // The outcome may be rejected (agent gone) while we still await the ack: handled from the
    // start, or that rejection would be unhandled and end the process.
    const outcome = this.waitForOutcome(data.opId, session);
    outcome.catch(() => undefined);
    const acked = session.socket.timeout(this.config.jobs.ackTimeoutSeconds * 1000).emitWithAck('job', envelope);
    this.tunnel.counters.messagesOut++;
    void this.operations
      .markRunning(data.opId)
      .catch((err: unknown) => this.log.warn({ err, opId: data.opId }, 'marking operation running failed'));

    let rawAck: unknown;
    try {
      rawAck = await acked;
    } catch {
      this.forget(data.opId);
      this.log.warn({ nodeId, opId: data.opId }, 'agent did not acknowledge the job in time; redelivering');
      return this.redeliverLater(job, token);
    }
    const ack = jobAck.safeParse(rawAck);
    if (!ack.success) {
      this.forget(data.opId);
      await this.operations.fail(
        data.opId,
        'agent_error',
        'the agent answered the job with an invalid acknowledgement',
      );
      return;
    }
    if (ack.data.status === 'rejected') {
      this.forget(data.opId);
      if (!PERMANENT_REJECTIONS.has(ack.data.error.code)) {
        this.log.warn(
          { nodeId, opId: data.opId, error: ack.data.error },
          'agent cannot take the job now; redelivering',
        );
        return this.redeliverLater(job, token);
      }
      await this.operations.fail(data.opId, ack.data.error.code, ack.data.error.message);
      return;
    }
    if (ack.data.status === 'done') {
      this.forget(data.opId);
      await this.operations.finalize(ack.data.outcome as JobOutcome);
      return;
    }
    try {
      await outcome;
    } catch (err) {
      if (err instanceof AgentGoneError) return this.redeliverLater(job, token);
      throw err;
    }
  }

  /** Ask the agent running `opId` to stop it (called on the replica that owns the node's socket). */
  requestCancel(nodeId: string, opId: string): boolean {
    const session = this.tunnel.session(nodeId);
    if (!session) return false;
    session.socket.emit('job:cancel', { job_id: opId });
    return true;
  }

  private waitForOutcome(opId: string, session: AgentSession): Promise<JobOutcome> {
    const connection = { nodeId: session.nodeId, orgId: session.orgId, epoch: session.epoch };
    return new Promise<JobOutcome>((resolve, reject) => this.waiters.set(opId, { connection, resolve, reject }));
  }

  private forget(opId: string): void {
    this.waiters.delete(opId);
  }

  private async redeliverLater(
    job: Job<NodeJobData>,
    token: string | undefined,
    delayMs = REDELIVER_DELAY_MS,
  ): Promise<never> {
    await job.moveToDelayed(Date.now() + delayMs, token);
    throw new DelayedError();
  }

  private async onOutcome({ nodeId, outcome, ack }: DomainEventMap['job.outcome']): Promise<void> {
    try {
      const op = await this.operations.get(outcome.job_id);
      if (!op || op.nodeId !== nodeId) {
        // Not ours to record (unknown id or another node's): acknowledge so the agent stops resending.
        ack({ ok: true });
        return;
      }
      await this.operations.finalize(outcome);
      ack({ ok: true });
    } catch (err) {
      this.log.warn(
        { opId: outcome.job_id, reason: (err as Error).message },
        'recording job outcome failed; the agent will resend it',
      );
      ack({ ok: false });
      return;
    }
    this.lastProgressWrite.delete(outcome.job_id);
    const waiter = this.waiters.get(outcome.job_id);
    if (waiter) {
      this.waiters.delete(outcome.job_id);
      waiter.resolve(outcome);
    }
  }

  private async onProgress(event: DomainEventMap['job.progress']): Promise<void> {
    const p = event.progress;
    const waiter = this.waiters.get(p.job_id);
    if (!waiter || !sameConnection(waiter.connection, event)) return;
    // Progress is advisory: write at most a few times a second per operation.
    const last = this.lastProgressWrite.get(p.job_id) ?? 0;
    if (Date.now() - last < 200 && p.percent < 100) return;
    this.lastProgressWrite.set(p.job_id, Date.now());
    await this.operations
      .progress({ id: p.job_id, orgId: event.orgId }, p.percent, p.message)
      .catch((err: unknown) => this.log.warn({ err, opId: p.job_id }, 'recording progress failed'));
  }
}

function sameConnection(a: AgentConnection, b: AgentConnection): boolean {
  return a.nodeId === b.nodeId && a.epoch === b.epoch;
}

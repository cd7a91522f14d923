import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AnyJob, JOB_KINDS, JobKindSpec } from '@hostplane/protocol';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { DomainError, ValidationFailedError } from '../http/errors';
import { zodIssues } from '../http/validation';
import { JOBS_TOPIC, JobQueues } from './job-queues';
import { ClusterBus } from '../redis/cluster-bus';
import type { OperationActor, OperationEntity } from './operation.entity';
import { OperationsService } from './operations.service';

export interface JobTarget {
  orgId: string;
  nodeId: string;
  actor: OperationActor;
  /** API paths of what the job touches, e.g. `/v1/nodes/<id>`. */
  resources?: string[];
  deadlineSeconds?: number;
  /**
   * A caller-chosen operation id (a derived one, so a retried step finds its job): when an
   * operation with this id exists it is returned (and queued again if still open), not duplicated.
   */
  id?: string;
}

export class NotCancellableError extends DomainError {
  constructor(status: string, kind: string) {
    super(
      status === 'running'
        ? `a running ${kind} operation cannot be stopped midway`
        : `the operation is already ${status}`,
      'not_cancellable',
      409,
    );
  }
}

/** The one way to start host work: an operations row, then (in its turn on its resource) a job in the node's queue. */
@Injectable()
export class JobDispatcher {
  constructor(
    private readonly operations: OperationsService,
    private readonly queues: JobQueues,
    private readonly bus: ClusterBus,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  async enqueue(target: JobTarget, job: AnyJob): Promise<OperationEntity> {
    const spec = JOB_KINDS[job.kind] as JobKindSpec;
    const parsed = spec.payload.safeParse(job.payload);
    if (!parsed.success) throw new ValidationFailedError(`${job.kind} payload`, zodIssues(parsed.error));
    if (target.id) {
      const existing = await this.operations.get(target.id);
      if (existing) {
        if (!OperationsService.isFinal(existing.status)) await this.operations.requeue(existing);
        return existing;
      }
    }
    const id = target.id ?? randomUUID();
    const deadlineAt = new Date(
      Date.now() + (target.deadlineSeconds ?? this.config.jobs.defaultDeadlineSeconds) * 1000,
    );
    return this.operations.create({
      id,
      orgId: target.orgId,
      nodeId: target.nodeId,
      kind: job.kind,
      payload: parsed.data,
      resource: spec.resource(parsed.data),
      resources: target.resources ?? [`/v1/nodes/${target.nodeId}`],
      actor: target.actor,
      mayCancel: spec.cancellable,
      deadlineAt,
    });
  }

  /**
   * Queued → cancelled at once (the queue job is removed, never delivered). Running and
   * cancellable → `cancelling`, and the agent is asked to stop (on whichever replica holds its
   * socket); it reports `cancelled`. Anything else → 409 not_cancellable.
   */
  async cancel(op: OperationEntity): Promise<OperationEntity> {
    if (op.status === 'queued' && op.nodeId) {
      const removed = await this.queues.forNode(op.nodeId).remove(op.id);
      const job = removed ? null : await this.queues.forNode(op.nodeId).getJob(op.id);
      if (removed || !job || !(await job.isActive())) {
        if (await this.operations.cancelQueued(op.id)) return (await this.operations.get(op.id))!;
      }
      op = (await this.operations.get(op.id))!;
    }
    if (
      (op.status === 'running' || op.status === 'queued' || op.status === 'cancelling') &&
      op.mayCancel &&
      op.nodeId
    ) {
      await this.operations.markCancelling(op.id);
      await this.bus.publish(JOBS_TOPIC, { type: 'cancel', nodeId: op.nodeId, opId: op.id });
      return (await this.operations.get(op.id))!;
    }
    throw new NotCancellableError(op.status, op.kind);
  }
}

import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { JobError, JobOutcome } from '@hostplane/protocol';
import { EventsService } from '../events/events.service';
import type { OperationActor, OperationEntity } from '../jobs/operation.entity';
import { OperationsService } from '../jobs/operations.service';
import type { BackupEntity } from './backup.entity';

/** Hub-side operation kinds: they span agent jobs and the hub's own transfers, so no agent runs them. */
export type BackupOperationKind = 'backup.create' | 'backup.restore';

export type HubOutcome =
  { status: 'succeeded'; result: unknown } | { status: 'failed'; error: JobError } | { status: 'cancelled' };

interface Mirror {
  op: Pick<OperationEntity, 'id' | 'orgId'>;
  offset: number;
  scale: number;
  message: string;
}

/**
 * The operation a backup or restore request answers with. It is a row in `operations` like any
 * other (same API, events, `/wait`), but without a node: the hub finishes it, after the agent
 * jobs it waits on and its own S3 transfer. The agent jobs' progress is mirrored into it.
 */
@Injectable()
export class BackupOperations implements OnModuleInit, OnModuleDestroy {
  private readonly mirrors = new Map<string, Mirror>();
  private unsubscribe?: () => void;

  constructor(
    private readonly operations: OperationsService,
    private readonly events: EventsService,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.events.onEvent((e) => {
      if (e.type !== 'operation.progress') return;
      const m = this.mirrors.get(String(e.data.operation_id));
      if (!m) return;
      const percent = Math.min(100, m.offset + (Number(e.data.percent) || 0) * m.scale);
      const detail = typeof e.data.message === 'string' && e.data.message ? `: ${e.data.message}` : '';
      void this.progress(m.op, percent, `${m.message}${detail}`);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  async start(
    kind: BackupOperationKind,
    t: { orgId: string; actor: OperationActor; resources: string[]; payload: Record<string, unknown> },
  ): Promise<OperationEntity> {
    const op = await this.operations.create({
      id: randomUUID(),
      orgId: t.orgId,
      // No node: the job sweepers would otherwise queue it for an agent.
      nodeId: null,
      kind,
      payload: t.payload,
      resource: null,
      resources: t.resources,
      actor: t.actor,
      mayCancel: false,
      deadlineAt: null,
    });
    await this.operations.markRunning(op.id);
    return (await this.operations.get(op.id)) ?? op;
  }

  /** Also the liveness signal of a restore: it moves the operation's `updated_at`. */
  progress(op: Pick<OperationEntity, 'id' | 'orgId'>, percent: number, message: string): Promise<void> {
    return this.operations.progress(op, Math.round(percent * 10) / 10, message).catch(() => undefined);
  }

  /** Applies once; later calls for the same operation change nothing. */
  async finish(opId: string | null, outcome: HubOutcome): Promise<void> {
    if (!opId) return;
    for (const [jobId, m] of this.mirrors) if (m.op.id === opId) this.mirrors.delete(jobId);
    const final: JobOutcome = { job_id: opId, finished_at: new Date().toISOString(), ...outcome };
    await this.operations.finalize(final);
  }

  /** Progress of agent job `jobId` shows in `op` as `offset + percent × scale`. */
  mirror(
    jobId: string,
    op: Pick<OperationEntity, 'id' | 'orgId'>,
    offset: number,
    scale: number,
    message: string,
  ): void {
    this.mirrors.set(jobId, { op, offset, scale, message });
  }

  unmirror(jobId: string): void {
    this.mirrors.delete(jobId);
  }

  /** `backup.status` on every transition, so a UI never has to poll. */
  status(
    b: Pick<BackupEntity, 'id' | 'orgId' | 'instanceId' | 'status' | 'storage' | 'error'>,
    extra: Record<string, unknown> = {},
  ): void {
    void this.events.publish(b.orgId, 'backup.status', {
      backup_id: b.id,
      instance_id: b.instanceId,
      status: b.status,
      storage: b.storage,
      error: b.error,
      ...extra,
    });
  }

  publish(
    orgId: string,
    type: 'backup.progress' | 'backup.restore' | 'backup.deleted',
    data: Record<string, unknown>,
  ): void {
    void this.events.publish(orgId, type, data);
  }
}

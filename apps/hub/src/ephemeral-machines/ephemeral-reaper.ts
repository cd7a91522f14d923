import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import type { DomainEventMap } from '../domain-events/domain-events';
import { HUB_LOGGER } from '../http/logger';
import { PeriodicWork } from '../periodic/periodic-work';
import { EphemeralMachineEntity } from './ephemeral-machine.entity';
import { EphemeralLifecycle } from './ephemeral-lifecycle';

const REAP_EVERY_MS = 5000;
/** A `creating` row whose operation never appeared (the replica stopped between the two writes). */
const LOST_CREATE_S = 60;
const KEEP_DELETED_DAYS = 7;
const BATCH = 100;

/**
 * Deletes ephemeral clones when their TTL passes, from PostgreSQL alone: the rows hold the
 * expiry, so a hub that restarted (or another replica) picks up where the last pass stopped.
 * Once per period across the cluster (PeriodicWork); every step is a conditional update, so a
 * pass on two replicas at once (Redis unreachable) does no harm.
 */
@Injectable()
export class EphemeralReaper implements OnApplicationBootstrap {
  private running = false;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly lifecycle: EphemeralLifecycle,
    private readonly periodic: PeriodicWork,
    private readonly domainEvents: DomainEventBus,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.domainEvents.on('operation.finished', (e) => this.onFinished(e));
    this.periodic.register({
      kind: 'machines.ephemeral-reaper',
      everyMs: REAP_EVERY_MS,
      maxRunMs: 60_000,
      run: () => this.reap(),
    });
  }

  private async onFinished({ op, outcome }: DomainEventMap['operation.finished']): Promise<void> {
    if (op.kind !== 'host.operation') return;
    const name = (op.payload as { operation?: string }).operation;
    if (name === 'machines.ephemeral.create') {
      const result = outcome.status === 'succeeded' ? outcome.result : null;
      const error = outcome.status === 'failed' ? outcome.error : null;
      await this.lifecycle.applyCreateOutcome(op.id, outcome.status, result, error);
    } else if (name === 'machines.ephemeral.delete') await this.lifecycle.applyDeleteOutcome(op.id);
  }

  async reap(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.applyLostCreates();
      await this.expireDue();
      await this.driveDeletes();
      await this.db.query(
        `DELETE FROM ephemeral_machines WHERE status = 'deleted' AND deleted_at < now() - make_interval(days => $1)`,
        [KEEP_DELETED_DAYS],
      );
    } finally {
      this.running = false;
    }
  }

  private async applyLostCreates(): Promise<void> {
    const rows = (await this.db.query(
      `SELECT e.create_operation_id AS op_id, o.status, o.result, o.error
         FROM ephemeral_machines e LEFT JOIN operations o ON o.id = e.create_operation_id
        WHERE e.status = 'creating'
          AND (o.status IN ('succeeded', 'failed', 'cancelled', 'expired')
               OR (o.id IS NULL AND e.created_at < now() - make_interval(secs => $1)))
        LIMIT ${BATCH}`,
      [LOST_CREATE_S],
    )) as { op_id: string; status: string | null; result: unknown; error: { code: string; message: string } | null }[];
    for (const r of rows)
      await this.lifecycle.applyCreateOutcome(
        r.op_id,
        r.status ?? 'failed',
        r.result,
        r.status ? r.error : { code: 'create_lost', message: 'the create operation was never queued' },
      );
  }

  private async expireDue(): Promise<void> {
    const due = await this.lifecycle.repo
      .createQueryBuilder('e')
      .where(`e.status = 'running' AND e.expires_at <= now()`)
      .orderBy('e.expires_at', 'ASC')
      .take(BATCH)
      .getMany();
    for (const row of due) {
      this.log.info({ ephemeralId: row.id, name: row.name, nodeId: row.nodeId }, 'ephemeral clone expired');
      await this.lifecycle.markDeleting(row, 'expired');
    }
  }

  private async driveDeletes(): Promise<void> {
    const rows = await this.lifecycle.repo
      .createQueryBuilder('e')
      .where(`e.status = 'deleting'`)
      .orderBy('e.updated_at', 'ASC')
      .take(BATCH)
      .getMany();
    for (const row of rows) await this.lifecycle.drive(row as EphemeralMachineEntity);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource, Repository } from 'typeorm';
import { EventsService } from '../events/events.service';
import { HUB_LOGGER } from '../http/logger';
import type { OperationActor } from '../jobs/operation.entity';
import { OperationsService } from '../jobs/operations.service';
import { EphemeralMachineEntity, type EphemeralDeleteReason } from './ephemeral-machine.entity';
import { deleteOperationId, EphemeralJobs } from './ephemeral-jobs';

type JobError = { code: string; message: string };
/** What the agent's `machines.ephemeral.create` answers (inside the operation's `result.data`). */
interface CreateResult {
  machine_id: string;
  name: string;
  ip: string | null;
}

/** Seconds before delete attempt n+1 after attempt n failed or expired: 5, 10, 20, … at most 5 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(5 * 2 ** Math.max(0, attempts - 1), 300);
}

/**
 * The state machine of ephemeral clones, every step a conditional update so that any replica, a
 * restarted hub, or two at once can take it: a create's outcome is applied once; a clone whose
 * TTL passed (or that was deleted, or whose create failed) is `deleting` until a delete operation
 * on its node succeeds, a failed or expired attempt followed by the next one.
 */
@Injectable()
export class EphemeralLifecycle {
  readonly repo: Repository<EphemeralMachineEntity>;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly jobs: EphemeralJobs,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.repo = db.getRepository(EphemeralMachineEntity);
  }

  private async updateReturning(sql: string, params: unknown[]): Promise<EphemeralMachineEntity | null> {
    const [rows] = (await this.db.query(sql, params)) as [{ id: string }[], number];
    return rows.length > 0 ? this.repo.findOneBy({ id: rows[0].id }) : null;
  }

  private publish(row: EphemeralMachineEntity, type: string, extra: Record<string, unknown> = {}): void {
    void this.events.publish(row.orgId, type, {
      ephemeral_id: row.id,
      node_id: row.nodeId,
      machine_id: row.vmId,
      name: row.name,
      template: row.template,
      ip: row.ip,
      expires_at: row.expiresAt.toISOString(),
      ...extra,
    });
  }

  /** The create operation finished: the clone is running with its address, or is to be cleaned up. */
  async applyCreateOutcome(opId: string, status: string, result: unknown, error: JobError | null): Promise<void> {
    if (status === 'succeeded') {
      const data = (result as { data?: CreateResult } | null)?.data;
      const row = await this.updateReturning(
        `UPDATE ephemeral_machines SET vm_id = $2, ip = $3, status = 'running', updated_at = now()
          WHERE create_operation_id = $1 AND status = 'creating' RETURNING id`,
        [opId, data?.machine_id ?? null, data?.ip ?? null],
      );
      if (row) this.publish(row, 'machine.ephemeral_created');
      // Deleted while it was being made: the clone's UUID still helps the delete find it.
      else
        await this.db.query(
          `UPDATE ephemeral_machines SET vm_id = $2, ip = $3 WHERE create_operation_id = $1 AND vm_id IS NULL`,
          [opId, data?.machine_id ?? null, data?.ip ?? null],
        );
      return;
    }
    const err = error ?? { code: status, message: `the create operation ended ${status}` };
    const row = await this.updateReturning(
      `UPDATE ephemeral_machines SET status = 'deleting', delete_reason = 'create_failed', error = $2, updated_at = now()
        WHERE create_operation_id = $1 AND status = 'creating' RETURNING id`,
      [opId, JSON.stringify(err)],
    );
    if (!row) return;
    this.publish(row, 'machine.ephemeral_failed', { error: err });
    // A clone may exist (made, then no address in time): it is deleted as any other.
    await this.drive(row);
  }

  /** Marks a clone for deletion (DELETE, or its TTL passed) and queues the first attempt. */
  async markDeleting(
    row: EphemeralMachineEntity,
    reason: EphemeralDeleteReason,
    actor?: OperationActor,
  ): Promise<EphemeralMachineEntity> {
    const marked = await this.updateReturning(
      `UPDATE ephemeral_machines SET status = 'deleting', delete_reason = $2, updated_at = now()
        WHERE id = $1 AND status IN ('creating', 'running') RETURNING id`,
      [row.id, reason],
    );
    if (!marked) return (await this.repo.findOneBy({ id: row.id })) ?? row;
    if (reason === 'expired') this.publish(marked, 'machine.ephemeral_expired');
    return this.drive(marked, actor);
  }

  /**
   * One step of a `deleting` clone: queue the next attempt when there is none or the last one
   * failed (after a back-off), or record it deleted when the last one succeeded.
   */
  async drive(row: EphemeralMachineEntity, actor?: OperationActor): Promise<EphemeralMachineEntity> {
    if (row.status !== 'deleting') return row;
    if (row.deleteOperationId) {
      const op = await this.operations.get(row.deleteOperationId);
      if (op && !OperationsService.isFinal(op.status)) return row;
      if (op?.status === 'succeeded') return (await this.markDeleted(row)) ?? row;
      if (op && op.finishedAt && Date.now() - op.finishedAt.getTime() < retryDelaySeconds(row.deleteAttempts) * 1000)
        return row;
      if (!op) {
        // Claimed but never queued (the replica stopped in between): queue that same attempt.
        await this.jobs.delete({ ...row, deleteOperationId: row.deleteOperationId }, actor);
        return row;
      }
    }
    const attempt = row.deleteAttempts + 1;
    const id = deleteOperationId(row.id, attempt);
    const claimed = await this.updateReturning(
      `UPDATE ephemeral_machines SET delete_attempts = $2, delete_operation_id = $3, updated_at = now()
        WHERE id = $1 AND status = 'deleting' AND delete_attempts = $4 RETURNING id`,
      [row.id, attempt, id, row.deleteAttempts],
    );
    if (!claimed) return (await this.repo.findOneBy({ id: row.id })) ?? row;
    if (attempt > 1)
      this.log.info({ ephemeralId: row.id, attempt }, 'deleting an ephemeral clone again after a failed attempt');
    await this.jobs.delete({ ...claimed, deleteOperationId: id }, actor);
    return claimed;
  }

  async markDeleted(row: EphemeralMachineEntity): Promise<EphemeralMachineEntity | null> {
    const deleted = await this.updateReturning(
      `UPDATE ephemeral_machines SET status = 'deleted', deleted_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'deleting' RETURNING id`,
      [row.id],
    );
    if (deleted) this.publish(deleted, 'machine.ephemeral_deleted', { reason: deleted.deleteReason });
    return deleted;
  }

  /** A delete operation finished (fast path; the reaper's pass does the same for outcomes missed). */
  async applyDeleteOutcome(opId: string): Promise<void> {
    const row = await this.repo.findOneBy({ deleteOperationId: opId });
    if (row) await this.drive(row);
  }
}

import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { JobOutcome } from '@hostplane/protocol';
import { HUB_LOGGER } from '../http/logger';
import { PeriodicWork } from '../periodic/periodic-work';
import { BackupEntity } from './backup.entity';
import { BackupConfigService } from './backup-config.service';
import { BackupOperations } from './backup-operations';
import { BackupPipeline } from './backup-pipeline';
import { RESTORE_HEARTBEAT_MS } from './backup-restore';
import { deleteObject } from './s3-storage';

const SWEEP_EVERY_MS = 15_000;
/** A job outcome normally applies at once; one still unapplied after this was lost (a replica died). */
const OUTCOME_GRACE_S = 10;
/**
 * Agents' clocks (inventory `collected_at`) against the hub's (row times): a listing counts only once it is this much
 * newer.
 */
const CLOCK_SKEW_S = 5;

interface FinishedJobRow {
  backup_id: string;
  kind: string;
  status: 'succeeded' | 'failed' | 'cancelled' | 'expired';
  result: unknown;
  error: { code: string; message: string } | null;
  finished_at: Date;
  job_id: string;
}

/**
 * Repairs what a replica that died midway leaves behind, safe on every replica at once (each
 * step is a conditional update): job outcomes never applied to their backup, uploads whose
 * lease lapsed, restores whose driver stopped, and archives of instances that were deleted.
 * Once per period across the replicas (PeriodicWork).
 */
@Injectable()
export class BackupSweeper implements OnApplicationBootstrap {
  private running = false;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly pipeline: BackupPipeline,
    private readonly ops: BackupOperations,
    private readonly configs: BackupConfigService,
    @Inject(HUB_LOGGER) private readonly log: Logger,
    private readonly periodic: PeriodicWork,
  ) {}

  onApplicationBootstrap(): void {
    this.periodic.register({
      kind: 'backups.repair',
      everyMs: SWEEP_EVERY_MS,
      maxRunMs: 5 * 60_000,
      run: () => this.sweep(),
    });
  }

  async sweep(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.applyLostOutcomes();
      await this.failLapsedUploads();
      await this.failStoppedRestores();
      await this.removeOrphans();
      await this.failMissingArchives();
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'backup sweep failed');
    } finally {
      this.running = false;
    }
  }

  /**
   * A ready node-stored backup whose archive its node no longer lists (deleted by hand, a lost
   * disk) stops claiming `ready`: it becomes `failed` with `backup_missing`. Only inventories
   * collected well after the row last changed count, so an archive just written or just moved
   * by a migration is never judged on an older listing.
   */
  private async failMissingArchives(): Promise<void> {
    const rows = (await this.db.query(
      `UPDATE backups b SET status = 'failed', updated_at = now(),
              error = jsonb_build_object('code', 'backup_missing', 'message',
                'the archive is no longer on node ' || n.name || ' (its inventory of ' || (n.inventory->>'collected_at') || ' does not list it)')
         FROM nodes n
        WHERE n.id = b.node_id AND b.storage = 'agent' AND b.status = 'ready' AND n.inventory ? 'backups'
          AND (n.inventory->>'collected_at')::timestamptz > GREATEST(b.updated_at, b.completed_at) + make_interval(secs => $1)
          AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(n.inventory->'backups') e WHERE e->>'backup_id' = b.id::text AND e->>'instance_id' = b.instance_id::text)
        RETURNING b.id, b.org_id, b.instance_id, b.storage, b.error`,
      [CLOCK_SKEW_S],
    )) as [
      { id: string; org_id: string; instance_id: string; storage: 'agent'; error: { code: string; message: string } }[],
      number,
    ];
    for (const r of rows[0]) {
      this.log.warn({ backupId: r.id, instanceId: r.instance_id }, 'backup archive missing on its node');
      this.ops.status({
        id: r.id,
        orgId: r.org_id,
        instanceId: r.instance_id,
        status: 'failed',
        storage: r.storage,
        error: r.error,
      });
    }
  }

  private async applyLostOutcomes(): Promise<void> {
    const rows = (await this.db.query(
      `SELECT b.id AS backup_id, o.id AS job_id, o.kind, o.status, o.result, o.error, o.finished_at
         FROM backups b JOIN operations o ON o.id = b.job_id
        WHERE b.status IN ('creating', 'deleting') AND o.status IN ('succeeded', 'failed', 'cancelled', 'expired')
          AND o.finished_at < now() - make_interval(secs => $1)
        LIMIT 100`,
      [OUTCOME_GRACE_S],
    )) as FinishedJobRow[];
    for (const r of rows) {
      const finishedAt = r.finished_at.toISOString();
      const outcome: JobOutcome =
        r.status === 'succeeded'
          ? { job_id: r.job_id, status: 'succeeded', result: r.result, finished_at: finishedAt }
          : r.status === 'cancelled'
            ? { job_id: r.job_id, status: 'cancelled', finished_at: finishedAt }
            : {
                job_id: r.job_id,
                status: 'failed',
                error: r.error ?? { code: r.status, message: `the job ended ${r.status}` },
                finished_at: finishedAt,
              };
      if (r.kind === 'instance.backup.create') await this.pipeline.onArchived(r.backup_id, outcome);
      else if (r.kind === 'instance.backup.delete') await this.pipeline.onNodeCopyDeleted(r.backup_id, outcome);
    }
  }

  private async failLapsedUploads(): Promise<void> {
    const lapsed = await this.pipeline.repo
      .createQueryBuilder('b')
      .where(`b.status = 'uploading' AND b.lease_until < now()`)
      .limit(100)
      .getMany();
    const error = {
      code: 'upload_interrupted',
      message: 'the hub replica uploading this backup stopped; create a new backup',
    };
    for (const b of lapsed) {
      if (!(await this.pipeline.transition(b, 'uploading', 'failed', { error, leaseUntil: null }))) continue;
      await this.pipeline.deleteNodeCopy(b, b.id);
      await this.ops.finish(b.operationId, { status: 'failed', error });
    }
  }

  private async failStoppedRestores(): Promise<void> {
    const rows = (await this.db.query(
      `SELECT id FROM operations WHERE kind = 'backup.restore' AND node_id IS NULL AND status = 'running'
          AND updated_at < now() - make_interval(secs => $1) LIMIT 100`,
      [(RESTORE_HEARTBEAT_MS * 6) / 1000],
    )) as { id: string }[];
    for (const r of rows) {
      await this.ops.finish(r.id, {
        status: 'failed',
        error: {
          code: 'restore_interrupted',
          message: 'the hub replica running this restore stopped; check the instance and restore again',
        },
      });
    }
  }

  /**
   * Backups of deleted instances: their rows are claimed (deleted) first, then their S3 objects
   * removed. Archives on a node went with the instance (the agent deletes them with it).
   */
  private async removeOrphans(): Promise<void> {
    const rows = (await this.db.query(
      `DELETE FROM backups WHERE id IN (
          SELECT b.id FROM backups b LEFT JOIN instances i ON i.id = b.instance_id
           WHERE i.id IS NULL
           LIMIT 50 FOR UPDATE OF b SKIP LOCKED)
        RETURNING id, org_id, instance_id, node_id, storage, storage_config_id, object_key, status`,
    )) as [Record<string, string | null>[], number];
    for (const r of rows[0] ?? []) {
      const b = { id: r.id!, orgId: r.org_id!, instanceId: r.instance_id!, nodeId: r.node_id! } as Pick<
        BackupEntity,
        'id' | 'orgId' | 'instanceId' | 'nodeId'
      >;
      if (r.storage === 's3' && r.storage_config_id && r.object_key) {
        try {
          await deleteObject(await this.configs.targetById(b.orgId, r.storage_config_id), r.object_key);
        } catch (err) {
          this.log.warn(
            { backupId: b.id, reason: (err as Error).message },
            'could not remove the stored archive of a deleted instance',
          );
        }
      }
      this.ops.publish(b.orgId, 'backup.deleted', {
        backup_id: b.id,
        instance_id: b.instanceId,
        reason: 'instance_deleted',
      });
    }
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { TransferError, transferBackup } from './migration-transfer';
import type { MigrationEntity } from './migration.entity';

interface NodeBackup {
  id: string;
  size_bytes: string | number;
  sha256: string;
}

/**
 * The instance's backups kept on its node follow it: before the switch each ready one is copied
 * to the target (the same transfer as the migration's own archive, checked by size and SHA-256),
 * and the switch moves the rows to the target in its transaction. A copy that fails fails the
 * migration before the switch, so no row ever points at a node that lost its file.
 */
@Injectable()
export class MigrationBackups {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly streams: NodeStreams,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  /** Copies every ready node-stored backup of the instance; answers the ids copied. */
  async copyToTarget(m: MigrationEntity, signal: AbortSignal): Promise<string[]> {
    const rows = await this.onSource(this.db.manager, m);
    for (const b of rows) {
      try {
        await transferBackup(this.streams, {
          instanceId: m.instanceId,
          sourceNodeId: m.sourceNodeId,
          targetNodeId: m.targetNodeId,
          backup: { backup_id: b.id, size_bytes: Number(b.size_bytes), sha256: b.sha256 },
          signal,
          onBytes: () => undefined,
          bytesPerSecond: this.config.migrations.transferBytesPerSecond,
        });
      } catch (err) {
        const e = err instanceof TransferError ? err : new TransferError('transfer_failed', (err as Error).message);
        throw new TransferError(e.code, `copying backup ${b.id} to the target: ${e.message}`);
      }
    }
    return rows.map((b) => b.id);
  }

  /** Inside the switch's transaction: the copied backups now live on the target. */
  async switchOver(tx: EntityManager, m: MigrationEntity, copied: readonly string[]): Promise<void> {
    if (!copied.length) return;
    await tx.query(
      `UPDATE backups SET node_id = $3, updated_at = now() WHERE instance_id = $1 AND node_id = $2 AND storage = 'agent' AND id = ANY($4::uuid[])`,
      [m.instanceId, m.sourceNodeId, m.targetNodeId, copied],
    );
  }

  private async onSource(tx: EntityManager, m: MigrationEntity): Promise<NodeBackup[]> {
    return (await tx.query(
      `SELECT id, size_bytes, sha256 FROM backups WHERE instance_id = $1 AND node_id = $2 AND storage = 'agent' AND status = 'ready' AND sha256 IS NOT NULL ORDER BY created_at`,
      [m.instanceId, m.sourceNodeId],
    )) as NodeBackup[];
  }
}

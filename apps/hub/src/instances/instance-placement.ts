import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { InstanceEntity } from './instance.entity';

/**
 * The writes other domains need on `instances` (which this domain owns): a migration claims an
 * instance, moves it to its target node, rewrites its ports and lets it go; a drain stops what
 * it cannot move. Each takes the caller's transaction where the caller has one.
 */
@Injectable()
export class InstancePlacement {
  constructor(@Inject(DataSource) private readonly db: DataSource) {}

  /**
   * Only one migration at a time gets an instance (a unique index backs this up); false if another holds it or it
   * moved.
   */
  async claimForMigration(
    tx: EntityManager,
    instanceId: string,
    nodeId: string,
    migrationId: string,
  ): Promise<boolean> {
    const claimed = (await tx.query(
      `UPDATE instances SET migration_id = $2, updated_at = now() WHERE id = $1 AND node_id = $3 AND migration_id IS NULL RETURNING id`,
      [instanceId, migrationId, nodeId],
    )) as [unknown[], number];
    return claimed[0].length > 0;
  }

  /** The point of no return of a migration: the instance now lives (stopped) on the target node. */
  async switchNode(
    tx: EntityManager,
    instanceId: string,
    migrationId: string,
    targetNodeId: string,
    reason: string,
  ): Promise<void> {
    await tx.query(
      `UPDATE instances SET node_id = $3, state = 'stopped', state_reason = $4, exit_code = NULL, state_observed_at = NULL,
              state_changed_at = now(), updated_at = now()
        WHERE id = $1 AND migration_id = $2`,
      [instanceId, migrationId, targetNodeId, reason],
    );
  }

  async releaseFromMigration(tx: EntityManager, instanceId: string, migrationId: string): Promise<void> {
    await tx.query(`UPDATE instances SET migration_id = NULL, updated_at = now() WHERE id = $1 AND migration_id = $2`, [
      instanceId,
      migrationId,
    ]);
  }

  async setSpec(
    tx: EntityManager,
    instanceId: string,
    spec: InstanceEntity['spec'],
    variables: InstanceEntity['variables'],
  ): Promise<void> {
    await tx.getRepository(InstanceEntity).update({ id: instanceId }, { spec, variables });
  }

  async stopDesired(instanceIds: string[]): Promise<void> {
    await this.db.query(
      `UPDATE instances SET desired_state = 'stopped', updated_at = now() WHERE id = ANY($1::uuid[])`,
      [instanceIds],
    );
  }
}

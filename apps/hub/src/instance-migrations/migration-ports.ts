import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { InstanceSpec } from '@hostplane/protocol';
import { AllocationsService, NoFreeAllocationError } from '../allocations/allocations.service';
import { remapPorts } from '../allocations/port-plan';
import { InstancePlacement } from '../instances/instance-placement';
import { InstanceEntity } from '../instances/instance.entity';
import type { MigrationEntity } from './migration.entity';

/**
 * Allocations move with a migration: the target's ports are taken before the instance is created
 * there, the source's are given back at the switch, the target's at a rollback.
 */
@Injectable()
export class MigrationPorts {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly placement: InstancePlacement,
    private readonly allocations: AllocationsService,
  ) {}

  /**
   * The spec the target runs: the instance's, on the target's allocations. Throws a readable error when the target has
   * too few free ports.
   */
  async targetSpec(
    m: MigrationEntity,
    tx?: EntityManager,
  ): Promise<{ spec: InstanceSpec; variables: Record<string, string> }> {
    const run = async (t: EntityManager) => {
      const instance = await t.getRepository(InstanceEntity).findOneByOrFail({ id: m.instanceId });
      const name =
        ((await t.query(`SELECT name FROM nodes WHERE id = $1`, [m.targetNodeId])) as { name: string }[])[0]?.name ??
        m.targetNodeId;
      const moves = await this.allocations.claimMirror(t, m.orgId, m.instanceId, m.sourceNodeId, m.targetNodeId, name);
      return remapPorts(instance.spec, instance.variables, moves);
    };
    return tx ? run(tx) : this.db.transaction(run);
  }

  /** Inside the switch's transaction: the instance takes the target's ports, the source's are free again. */
  async switchOver(tx: EntityManager, m: MigrationEntity): Promise<void> {
    const moved = await this.targetSpec(m, tx);
    await this.placement.setSpec(tx, m.instanceId, moved.spec, moved.variables);
    await this.allocations.release(tx, m.instanceId, m.sourceNodeId);
  }

  async releaseTarget(m: MigrationEntity): Promise<void> {
    await this.db.transaction((tx) => this.allocations.release(tx, m.instanceId, m.targetNodeId));
  }

  static isPortShortage(err: unknown): err is NoFreeAllocationError {
    return err instanceof NoFreeAllocationError;
  }
}

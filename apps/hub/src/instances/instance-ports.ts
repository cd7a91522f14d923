import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal } from '../access/principal';
import { AllocationsService } from '../allocations/allocations.service';
import { portSlots } from '../allocations/port-plan';
import { ConflictError, NotFoundError } from '../http/errors';
import { NodesService } from '../nodes/nodes.service';
import { WorkloadsService } from '../workloads/workloads.service';
import { InstanceEntity } from './instance.entity';
import { InstanceMigratingError, InstancesService } from './instances.service';

/**
 * Extra ports of an instance (GET/POST/DELETE /v1/instances/{id}/allocations): each change
 * re-renders its spec and sends it to the node (effective at the next start, like any update).
 */
@Injectable()
export class InstancePorts {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly instances: InstancesService,
    private readonly allocations: AllocationsService,
    private readonly workloads: WorkloadsService,
    private readonly nodes: NodesService,
  ) {}

  async list(p: Principal, id: string) {
    const instance = await this.instances.get(p, id);
    return this.allocations.listHeld(instance.id, instance.nodeId);
  }

  async add(p: Principal, id: string, allocationId: string | undefined) {
    const instance = await this.changeable(p, id, 'add a port to');
    const workload = await this.workloads.get(p, instance.workloadId!);
    const node = await this.nodes.get(p, instance.nodeId);
    const held = await this.db.transaction(async (tx) => {
      const got = await this.allocations.claimExtra(
        tx,
        instance.orgId,
        instance.nodeId,
        instance.id,
        allocationId,
        node.name,
      );
      await this.instances.rerender(instance, workload.spec, instance.variables, tx);
      await tx.getRepository(InstanceEntity).update({ id }, { spec: instance.spec, variables: instance.variables });
      return got;
    });
    const operation = await this.instances.enqueue(p, instance, {
      kind: 'instance.update',
      payload: { spec: instance.spec },
    });
    return { allocation: await this.allocations.repo.findOneByOrFail({ id: held.id }), instance, operation };
  }

  async remove(p: Principal, id: string, allocationId: string) {
    const instance = await this.changeable(p, id, 'remove a port from');
    const workload = await this.workloads.get(p, instance.workloadId!);
    const a = await this.allocations.repo.findOneBy({ id: allocationId, instanceId: id, nodeId: instance.nodeId });
    if (!a) throw new NotFoundError(`allocation ${allocationId} of instance ${id}`);
    if (a.isPrimary)
      throw new ConflictError(
        `allocation ${a.ip}:${a.port} is the primary allocation (SERVER_PORT) of the instance: it stays while the instance exists`,
        'allocation_primary',
      );
    const slot = portSlots(workload.spec, {}).find((s) => s.name === a.portName);
    if (slot)
      throw new ConflictError(
        `allocation ${a.ip}:${a.port} serves the workload's port "${slot.name}": only extra ports can be removed`,
        'allocation_required',
      );
    await this.db.transaction(async (tx) => {
      await this.allocations.release(tx, id, instance.nodeId, allocationId);
      await this.instances.rerender(instance, workload.spec, instance.variables, tx);
      await tx.getRepository(InstanceEntity).update({ id }, { spec: instance.spec, variables: instance.variables });
    });
    const operation = await this.instances.enqueue(p, instance, {
      kind: 'instance.update',
      payload: { spec: instance.spec },
    });
    return { instance, operation };
  }

  private async changeable(p: Principal, id: string, action: string): Promise<InstanceEntity> {
    const instance = await this.instances.get(p, id);
    if (instance.migrationId) throw new InstanceMigratingError(action, instance.migrationId);
    if (instance.state === 'deleting')
      throw new ConflictError(`cannot ${action} an instance that is being deleted`, 'instance_busy');
    if (!instance.workloadId)
      throw new ConflictError(
        'the workload of this instance was deleted: its spec can no longer change',
        'workload_gone',
      );
    return instance;
  }
}

import { Injectable } from '@nestjs/common';
import {
  checkParams,
  HOST_OPERATION_SPECS,
  InvalidHostArgument,
  type HostOperationName,
  type Machine,
} from '@hostplane/protocol';
import { HOST_OPERATION_ERRORS } from '../host-operations/host-operations.errors';
import type { Principal } from '../access/principal';
import { HostOperationsService } from '../host-operations/host-operations.service';
import { NotFoundError } from '../http/errors';
import type { OperationEntity } from '../jobs/operation.entity';
import { NodesService } from '../nodes/nodes.service';

export interface HostedMachine extends Machine {
  node_id: string;
  node_name: string;
}

/**
 * The Parallels Desktop VMs of an organization's macOS nodes, over the host-operation table
 * (`machines.*`): per node, and across every node that runs the parallels driver, where the list
 * is gathered live from each node at once (a node that does not answer is named, not hidden).
 */
@Injectable()
export class MachinesService {
  constructor(
    private readonly ops: HostOperationsService,
    private readonly nodes: NodesService,
  ) {}

  read(p: Principal, nodeId: string, operation: string, params: Record<string, unknown>) {
    return this.ops.read(p, nodeId, operation, params, 'machines');
  }

  write(p: Principal, nodeId: string, operation: string, params: Record<string, unknown>): Promise<OperationEntity> {
    return this.ops.write(p, nodeId, operation, params, 'machines');
  }

  /** Checks parameters as the operation will (400 `invalid_argument` naming the field), before anything is queued. */
  check(operation: HostOperationName, params: Record<string, unknown>): void {
    try {
      checkParams(HOST_OPERATION_SPECS[operation].params, params);
    } catch (err) {
      if (err instanceof InvalidHostArgument)
        throw HOST_OPERATION_ERRORS.invalid_argument.error(err.message, { field: err.field });
      throw err;
    }
  }

  /** The org's online nodes whose parallels driver is available. */
  private async parallelsNodes(p: Principal) {
    const { data } = await this.nodes.list(p, { limit: 500, offset: 0, status: 'online' });
    return data.filter((n) => n.drivers.some((d) => d.name === 'parallels' && d.available));
  }

  async listAcrossHosts(
    p: Principal,
  ): Promise<{ data: HostedMachine[]; total: number; unreachable: { node_id: string; error: string }[] }> {
    const nodes = await this.parallelsNodes(p);
    const answers = await Promise.allSettled(nodes.map((n) => this.read(p, n.id, 'machines.list', {})));
    const data: HostedMachine[] = [];
    const unreachable: { node_id: string; error: string }[] = [];
    answers.forEach((a, i) => {
      const node = nodes[i];
      if (a.status === 'fulfilled')
        for (const m of a.value.data as Machine[]) data.push({ ...m, node_id: node.id, node_name: node.name });
      else unreachable.push({ node_id: node.id, error: (a.reason as Error).message });
    });
    return { data, total: data.length, unreachable };
  }

  /** The node holding a VM (by UUID or name) among the org's parallels nodes. */
  async locate(p: Principal, vm: string): Promise<HostedMachine> {
    const bare = vm.replace(/^\{|\}$/g, '');
    const { data } = await this.listAcrossHosts(p);
    const found = data.find((m) => m.id === bare) ?? data.find((m) => m.name === vm);
    if (!found) throw new NotFoundError(`machine ${vm.slice(0, 100)}`);
    return found;
  }
}

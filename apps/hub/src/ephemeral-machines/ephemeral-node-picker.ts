import { Injectable } from '@nestjs/common';
import type { Machine } from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { HostOperationsService } from '../host-operations/host-operations.service';
import type { NodeEntity } from '../nodes/node.entity';
import { NodesService } from '../nodes/nodes.service';
import { EPHEMERAL_MACHINE_ERRORS } from './ephemeral-machines.errors';

export interface PickedNode {
  node: NodeEntity;
  template: Machine;
}

function runsParallels(n: NodeEntity): boolean {
  return n.drivers.some((d) => d.name === 'parallels' && d.available);
}

function holds(machines: Machine[], ref: string): Machine | undefined {
  const bare = ref.replace(/^\{|\}$/g, '');
  return machines.find((m) => m.id === bare) ?? machines.find((m) => m.name === ref);
}

/**
 * Where an ephemeral clone goes: the node asked for, or else an online, uncordoned node of the
 * organization running the parallels driver whose VM list (read live) has the template, the one
 * with the fewest open ephemeral clones first. Deliberately small: general placement of machines
 * (resources, tags, macOS guest limits) belongs to the orchestrator views.
 */
@Injectable()
export class EphemeralNodePicker {
  constructor(
    private readonly nodes: NodesService,
    private readonly ops: HostOperationsService,
  ) {}

  async pick(
    p: Principal,
    template: string,
    nodeId: string | undefined,
    openClones: (nodeId: string) => Promise<number>,
  ) {
    return nodeId ? this.named(p, template, nodeId) : this.anywhere(p, template, openClones);
  }

  private async named(p: Principal, template: string, nodeId: string): Promise<PickedNode> {
    const node = await this.nodes.get(p, nodeId);
    if (!runsParallels(node))
      throw EPHEMERAL_MACHINE_ERRORS.no_parallels_node.error(`node ${node.name} does not run the parallels driver`);
    if (!node.schedulable) throw EPHEMERAL_MACHINE_ERRORS.node_cordoned.error(`node ${node.name} is cordoned`);
    const machines = (await this.ops.read(p, node.id, 'machines.list', {}, 'machines')).data as Machine[];
    const found = holds(machines, template);
    if (!found)
      throw EPHEMERAL_MACHINE_ERRORS.template_not_found.error(
        `node ${node.name} has no VM or template "${template.slice(0, 100)}" to clone`,
        { node_id: node.id },
      );
    return { node, template: found };
  }

  private async anywhere(
    p: Principal,
    template: string,
    openClones: (nodeId: string) => Promise<number>,
  ): Promise<PickedNode> {
    const { data } = await this.nodes.list(p, { limit: 500, offset: 0, status: 'online' });
    const eligible = data.filter((n) => runsParallels(n) && n.schedulable);
    const answers = await Promise.allSettled(
      eligible.map((n) => this.ops.read(p, n.id, 'machines.list', {}, 'machines')),
    );
    const candidates: (PickedNode & { load: number })[] = [];
    const unreachable: string[] = [];
    for (const [i, a] of answers.entries()) {
      if (a.status === 'rejected') {
        unreachable.push(eligible[i].id);
        continue;
      }
      const found = holds(a.value.data as Machine[], template);
      if (found) candidates.push({ node: eligible[i], template: found, load: await openClones(eligible[i].id) });
    }
    if (candidates.length === 0)
      throw EPHEMERAL_MACHINE_ERRORS.template_not_found.error(
        `no online, uncordoned parallels node of the organization has a VM or template "${template.slice(0, 100)}"` +
          ` (${eligible.length} node(s) asked${unreachable.length ? `, ${unreachable.length} did not answer` : ''})`,
        { nodes_asked: eligible.length, unreachable },
      );
    candidates.sort((a, b) => a.load - b.load || a.node.name.localeCompare(b.node.name));
    return candidates[0];
  }
}

import { Injectable } from '@nestjs/common';
import type { Inventory } from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { DomainError } from '../http/errors';
import { actorOf } from '../jobs/operation-actor';
import { NodeQueries } from './node-queries';
import type { NodeEntity } from './node.entity';
import { NodesService } from './nodes.service';
import { NODE_ERRORS } from './nodes.errors';

export class InventoryNotReportedError extends DomainError {
  constructor() {
    super('the agent of this node has not reported its inventory yet', 'inventory_unavailable', 409);
  }
}

const STORE_WAIT_MS = 5000;

/** The stored inventory of a node, or a fresh one collected on request (`node.inventory.refresh`). */
@Injectable()
export class NodeInventoryService {
  constructor(
    private readonly nodes: NodesService,
    private readonly queries: NodeQueries,
  ) {}

  async read(
    p: Principal,
    nodeId: string,
    live: boolean,
  ): Promise<{ node: NodeEntity; inventory: Inventory; ageSeconds: number }> {
    let node = await this.nodes.get(p, nodeId);
    if (live) node = await this.refresh(p, node);
    if (!node.inventory) throw new InventoryNotReportedError();
    return { node, inventory: node.inventory, ageSeconds: ageOf(node.inventory) };
  }

  /**
   * Asks the agent to collect now and waits until what it sent is stored (the inventory frame and
   * the job's result travel separately, so the result alone does not mean the row has it).
   */
  async refresh(p: Principal, node: NodeEntity): Promise<NodeEntity> {
    const result = (await this.queries.ask(
      { orgId: node.orgId, nodeId: node.id, actor: actorOf(p), resources: [`/v1/nodes/${node.id}`] },
      { kind: 'node.inventory.refresh', payload: {} },
    )) as {
      collected_at: string;
    };
    const wanted = Date.parse(result.collected_at);
    const deadline = Date.now() + STORE_WAIT_MS;
    for (;;) {
      const fresh = await this.nodes.get(p, node.id);
      if (fresh.inventory && Date.parse(fresh.inventory.collected_at) >= wanted) return fresh;
      if (Date.now() > deadline)
        throw NODE_ERRORS.inventory_timeout.error(
          'the node collected its inventory but it did not arrive in time: try again',
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function ageOf(inventory: Inventory): number {
  return Math.max(0, Math.round((Date.now() - Date.parse(inventory.collected_at)) / 100) / 10);
}

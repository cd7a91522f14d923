import { Controller, Get } from '@nestjs/common';
import { z } from 'zod';
import { inventory as inventorySchema } from '@hostplane/protocol';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { DomainError } from '../http/errors';
import { ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { HostViews } from './host-views';
import { NodeMetricsService } from './node-metrics.service';
import { inventorySectionParams, metricsHistoryQuery, metricsHistoryResponse, nodeIdParams } from './nodes.schemas';
import { NodesService } from './nodes.service';

export class InventoryNotReportedError extends DomainError {
  constructor() {
    super('the agent of this node has not reported its inventory yet', 'inventory_unavailable', 409);
  }
}

const TAGS = ['nodes'];

@Controller('v1/nodes/:id')
export class NodeInventoryController {
  constructor(
    private readonly nodes: NodesService,
    private readonly metrics: NodeMetricsService,
    private readonly hostViews: HostViews,
  ) {}

  @Get('inventory')
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: 'Everything the agent reported about its host',
    description: "Without `nodes.host` (owners, admins and platform admins hold it) `processes` is empty and `containers` lists only the organization's own instances.",
    tags: TAGS,
    responses: { 200: { description: 'Inventory', schema: inventorySchema } },
  })
  async inventory(@CurrentPrincipal() p: Principal, @ValidParams(nodeIdParams) params: z.infer<typeof nodeIdParams>) {
    const node = await this.nodes.get(p, params.id);
    if (!node.inventory) throw new InventoryNotReportedError();
    return this.hostViews.inventory(p, node, node.inventory);
  }

  @Get('inventory/:section')
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: 'One part of the inventory: system, network, disks, users, processes or containers',
    description:
      "`containers` is null when no container engine is reachable on the host. `processes` (every process of the host with its command line) needs `nodes.host`; without it `containers` lists only the organization's own instances.",
    tags: TAGS,
    responses: { 200: { description: 'The section' }, 403: { description: "permission_denied: processes without 'nodes.host'" } },
  })
  async section(@CurrentPrincipal() p: Principal, @ValidParams(inventorySectionParams) params: z.infer<typeof inventorySectionParams>) {
    if (params.section === 'processes') this.hostViews.assertHostAccess(p);
    const node = await this.nodes.get(p, params.id);
    if (!node.inventory) throw new InventoryNotReportedError();
    const visible = await this.hostViews.inventory(p, node, node.inventory);
    return { node_id: node.id, collected_at: visible.collected_at, [params.section]: visible[params.section] };
  }

  @Get('metrics/history')
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: 'CPU, memory, disk, network and load over time, bucketed by `step` seconds',
    tags: TAGS,
    responses: { 200: { description: 'Points, oldest first', schema: metricsHistoryResponse } },
  })
  async history(@CurrentPrincipal() p: Principal, @ValidParams(nodeIdParams) params: z.infer<typeof nodeIdParams>, @ValidQuery(metricsHistoryQuery) q: z.infer<typeof metricsHistoryQuery>) {
    const node = await this.nodes.get(p, params.id);
    return { node_id: node.id, ...(await this.metrics.history(node.id, q)) };
  }
}

import { Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { inventory as inventorySchema } from '@hostplane/protocol';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { HostViews } from './host-views';
import { NodeMetricsService } from './node-metrics.service';
import { inventorySectionParams, metricsHistoryQuery, metricsHistoryResponse, nodeIdParams } from './nodes.schemas';
import { NodesService } from './nodes.service';

import { NodeInventoryService } from './node-inventory.service';

const TAGS = ['nodes'];
const liveQuery = z.object({
  live: z
    .enum(['true', 'false'])
    .default('false')
    .describe('Ask the agent to collect now (waits up to 15 s) instead of answering what it last sent'),
});

@Controller('v1/nodes/:id')
export class NodeInventoryController {
  constructor(
    private readonly nodes: NodesService,
    private readonly metrics: NodeMetricsService,
    private readonly hostViews: HostViews,
    private readonly inventories: NodeInventoryService,
  ) {}

  @Get('inventory')
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: 'Everything the agent reported about its host (`?live=true`: collected now)',
    description:
      "Headers `x-inventory-collected-at` and `x-inventory-age-seconds` say how old it is. Without `nodes.host` (owners, admins and platform admins hold it) `processes` is empty and `containers` lists only the organization's own instances.",
    tags: TAGS,
    responses: { 200: { description: 'Inventory', schema: inventorySchema } },
  })
  async inventory(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeIdParams) params: z.infer<typeof nodeIdParams>,
    @ValidQuery(liveQuery) q: z.infer<typeof liveQuery>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const r = await this.inventories.read(p, params.id, q.live === 'true');
    void reply
      .header('x-inventory-collected-at', r.inventory.collected_at)
      .header('x-inventory-age-seconds', String(r.ageSeconds));
    return this.hostViews.inventory(p, r.node, r.inventory);
  }

  @Post('inventory/refresh')
  @HttpCode(200)
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: 'Ask the agent to collect its inventory now; answers once the fresh one is stored',
    tags: TAGS,
    errors: ['node_offline', 'node_timeout'],
    responses: { 200: { description: '{node_id, collected_at, age_seconds}' } },
  })
  async refresh(@CurrentPrincipal() p: Principal, @ValidParams(nodeIdParams) params: z.infer<typeof nodeIdParams>) {
    const r = await this.inventories.read(p, params.id, true);
    return { node_id: r.node.id, collected_at: r.inventory.collected_at, age_seconds: r.ageSeconds };
  }

  @Get('inventory/:section')
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary:
      'One part of the inventory: system, network, disks, users, processes or containers (`?live=true`: collected now)',
    description:
      "`containers` is null when no container engine is reachable on the host. `age_seconds` is how old the data is. `processes` (every process of the host with its command line) needs `nodes.host`; without it `containers` lists only the organization's own instances.",
    tags: TAGS,
    errors: ['permission_denied'],
    responses: { 200: { description: 'The section' } },
  })
  async section(
    @CurrentPrincipal() p: Principal,
    @ValidParams(inventorySectionParams) params: z.infer<typeof inventorySectionParams>,
    @ValidQuery(liveQuery) q: z.infer<typeof liveQuery>,
  ) {
    if (params.section === 'processes') this.hostViews.assertHostAccess(p);
    const r = await this.inventories.read(p, params.id, q.live === 'true');
    const visible = await this.hostViews.inventory(p, r.node, r.inventory);
    return {
      node_id: r.node.id,
      collected_at: r.inventory.collected_at,
      age_seconds: r.ageSeconds,
      [params.section]: visible[params.section],
    };
  }

  @Get('metrics/history')
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: 'CPU, memory, disk, network and load over time, bucketed by `step` seconds',
    tags: TAGS,
    responses: { 200: { description: 'Points, oldest first', schema: metricsHistoryResponse } },
  })
  async history(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeIdParams) params: z.infer<typeof nodeIdParams>,
    @ValidQuery(metricsHistoryQuery) q: z.infer<typeof metricsHistoryQuery>,
  ) {
    const node = await this.nodes.get(p, params.id);
    return { node_id: node.id, ...(await this.metrics.history(node.id, q)) };
  }
}

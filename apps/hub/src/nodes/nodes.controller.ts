import { Controller, Delete, Get, HttpCode, Post, Put } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { pageOf } from '../http/pagination';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import {
  cancelDrainQuery,
  drainBody,
  listNodesQuery,
  nodeIdParams,
  nodeResponse,
  NodeResponse,
  presentNode,
  rotateTokenResponse,
  updateNodeBody,
} from './nodes.schemas';
import { NodeDrains } from './node-drains';
import { NodesService } from './nodes.service';
import { UpgradeRequiredError } from '../ws/ws-access';

type IdParams = z.infer<typeof nodeIdParams>;
const TAGS = ['nodes'];

@Controller('v1/nodes')
export class NodesController {
  constructor(
    private readonly nodes: NodesService,
    private readonly drains: NodeDrains,
  ) {}

  @Get()
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: 'List nodes of the organization',
    tags: TAGS,
    responses: { 200: { description: 'A page of nodes', schema: pageOf(nodeResponse) } },
  })
  async list(@CurrentPrincipal() p: Principal, @ValidQuery(listNodesQuery) q: z.infer<typeof listNodesQuery>) {
    const page = await this.nodes.list(p, q);
    return { data: page.data.map(presentNode), total: page.total };
  }

  @Get(':id')
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: 'One node: status, schedulability, drain, labels, agent',
    tags: TAGS,
    responses: { 200: { description: 'The node', schema: nodeResponse } },
  })
  async get(@CurrentPrincipal() p: Principal, @ValidParams(nodeIdParams) params: IdParams): Promise<NodeResponse> {
    return presentNode(await this.nodes.get(p, params.id));
  }

  @Put(':id')
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary: 'Rename a node, set its labels, capacity overrides or job concurrency',
    tags: TAGS,
    responses: { 200: { description: 'The node', schema: nodeResponse } },
  })
  async update(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeIdParams) params: IdParams,
    @ValidBody(updateNodeBody) body: z.infer<typeof updateNodeBody>,
  ) {
    return presentNode(await this.nodes.update(p, params.id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary: 'Delete a node: its agent token stops working and its agent is disconnected at once',
    tags: TAGS,
    responses: { 204: { description: 'Deleted' } },
  })
  async remove(@CurrentPrincipal() p: Principal, @ValidParams(nodeIdParams) params: IdParams): Promise<void> {
    await this.nodes.delete(p, params.id);
  }

  @Post(':id/cordon')
  @HttpCode(200)
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary: 'Stop scheduling new instances on the node',
    tags: TAGS,
    responses: { 200: { description: 'The node', schema: nodeResponse } },
  })
  async cordon(@CurrentPrincipal() p: Principal, @ValidParams(nodeIdParams) params: IdParams) {
    return presentNode(await this.drains.setSchedulable(p, params.id, false));
  }

  @Post(':id/uncordon')
  @HttpCode(200)
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary: 'Allow scheduling on the node again (cancels a drain in progress)',
    tags: TAGS,
    responses: { 200: { description: 'The node', schema: nodeResponse } },
  })
  async uncordon(@CurrentPrincipal() p: Principal, @ValidParams(nodeIdParams) params: IdParams) {
    return presentNode(await this.drains.setSchedulable(p, params.id, true));
  }

  @Post(':id/drain')
  @HttpCode(200)
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary: 'Drain the node: cordon it and move its instances off, stopping what is left at the deadline',
    description:
      'Instances are migrated (data included) `max_parallel` at a time; one that fits nowhere is listed under `drain.unplaceable` and stays until the deadline. ' +
      'At `deadline_seconds` what is still on the node is stopped (not deleted); `force` stops everything now. Posting again while draining updates the deadline, `max_parallel` or escalates to force.',
    tags: TAGS,
    responses: { 200: { description: 'The node with its drain block', schema: nodeResponse } },
  })
  async drain(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeIdParams) params: IdParams,
    @ValidBody(drainBody) body: z.infer<typeof drainBody>,
  ) {
    return presentNode(await this.drains.drain(p, params.id, body));
  }

  @Delete(':id/drain')
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary:
      'Cancel a drain in progress: its migrations that have not switched nodes yet are cancelled, and the node is schedulable again unless keep_cordoned=true',
    tags: TAGS,
    errors: ['not_draining'],
    responses: { 200: { description: 'The node', schema: nodeResponse } },
  })
  async cancelDrain(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeIdParams) params: IdParams,
    @ValidQuery(cancelDrainQuery) q: z.infer<typeof cancelDrainQuery>,
  ) {
    return presentNode(await this.drains.cancelDrain(p, params.id, { keepCordoned: q.keep_cordoned }));
  }

  @Get(':id/terminal')
  @RequirePermission('nodes.terminal')
  @ApiDoc({
    summary: 'A root terminal on the host (WebSocket)',
    description:
      'Query `cols`, `rows`. Binary or text frames are keystrokes, `{"type":"resize","cols":…,"rows":…}` resizes, output arrives as binary frames. Audited.',
    tags: TAGS,
    websocket: true,
    errors: ['node_offline', 'upgrade_required'],
    responses: { 101: { description: 'Switching protocols' } },
  })
  terminal(@ValidParams(nodeIdParams) _params: IdParams): never {
    throw new UpgradeRequiredError();
  }

  @Post(':id/rotate-token')
  @HttpCode(200)
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary: 'Issue a new agent token; the old one stops working and the agent is disconnected',
    tags: TAGS,
    responses: { 200: { description: 'The new token, shown once', schema: rotateTokenResponse } },
  })
  async rotateToken(@CurrentPrincipal() p: Principal, @ValidParams(nodeIdParams) params: IdParams) {
    const { node, token } = await this.nodes.rotateToken(p, params.id);
    return { node_id: node.id, agent_token: token };
  }
}

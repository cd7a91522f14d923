import { Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { pageOf } from '../http/pagination';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import {
  addAllocationsBody,
  addAllocationsResponse,
  allocationResponse,
  listAllocationsQuery,
  nodeAllocationParams,
  presentAllocation,
  removeAllocationsQuery,
} from './allocations.schemas';
import { AllocationsService } from './allocations.service';

const nodeIdParams = z.object({ id: z.uuid({ message: 'node id must be a UUID' }) });
type IdParams = z.infer<typeof nodeIdParams>;
const TAGS = ['nodes'];

@Controller('v1/nodes/:id/allocations')
export class NodeAllocationsController {
  constructor(private readonly allocations: AllocationsService) {}

  @Get()
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: "The node's allocation pool: every ip:port and the instance holding it",
    tags: TAGS,
    responses: { 200: { description: 'A page of allocations', schema: pageOf(allocationResponse) } },
  })
  async list(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeIdParams) params: IdParams,
    @ValidQuery(listAllocationsQuery) q: z.infer<typeof listAllocationsQuery>,
  ) {
    const page = await this.allocations.listForNode(p, params.id, q);
    return { data: page.data.map(presentAllocation), total: page.total };
  }

  @Post()
  @HttpCode(201)
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary: 'Add ports (and ranges) on an address to the pool; ones already there are left alone',
    tags: TAGS,
    responses: { 201: { description: 'What was added', schema: addAllocationsResponse } },
  })
  async add(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeIdParams) params: IdParams,
    @ValidBody(addAllocationsBody) body: z.infer<typeof addAllocationsBody>,
  ) {
    const r = await this.allocations.addToNode(p, params.id, body);
    return { created: r.created, existing: r.existing, data: r.data.map(presentAllocation) };
  }

  @Delete()
  @HttpCode(200)
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary: 'Remove free ports (and ranges) of an address from the pool: ?ip=0.0.0.0&ports=30000-30099',
    tags: TAGS,
    errors: ['allocation_in_use'],
    responses: { 200: { description: '{removed}' } },
  })
  async removeRange(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeIdParams) params: IdParams,
    @ValidQuery(removeAllocationsQuery) q: z.infer<typeof removeAllocationsQuery>,
  ) {
    return this.allocations.removeFromNode(p, params.id, q.ip, q.ports);
  }

  @Delete(':allocationId')
  @HttpCode(204)
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary: 'Remove one free allocation from the pool',
    tags: TAGS,
    errors: ['allocation_in_use'],
    responses: { 204: { description: 'Removed' } },
  })
  async removeOne(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeAllocationParams) params: z.infer<typeof nodeAllocationParams>,
  ): Promise<void> {
    await this.allocations.removeOne(p, params.id, params.allocationId);
  }
}

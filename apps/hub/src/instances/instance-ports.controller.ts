import { Controller, Delete, Get, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { allocationResponse, presentAllocation } from '../allocations/allocations.schemas';
import { ValidBody, ValidParams } from '../http/validation';
import { acceptedOperation } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import { InstancePorts } from './instance-ports';
import { instanceAccepted, instanceIdParams, presentInstance } from './instances.schemas';

const TAGS = ['instances'];
const addPortBody = z
  .object({
    allocation_id: z
      .uuid()
      .optional()
      .describe("A free allocation of the instance's node; otherwise the lowest free port"),
  })
  .strict();
const portParams = z.object({
  id: z.uuid({ message: 'instance id must be a UUID' }),
  allocationId: z.uuid({ message: 'allocation id must be a UUID' }),
});

@Controller('v1/instances/:id/allocations')
export class InstancePortsController {
  constructor(private readonly ports: InstancePorts) {}

  @Get()
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'The allocations (ip:port) the instance holds, primary first',
    tags: TAGS,
    responses: { 200: { description: 'Allocations', schema: z.object({ data: z.array(allocationResponse) }) } },
  })
  async list(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: z.infer<typeof instanceIdParams>,
  ) {
    return { data: (await this.ports.list(p, params.id)).map(presentAllocation) };
  }

  @Post()
  @RequirePermission('instances.manage')
  @ApiDoc({
    summary: 'Give the instance one more port (published tcp and udp), effective at its next start',
    tags: TAGS,
    errors: ['no_free_allocation', 'allocation_unavailable'],
    responses: {
      202: {
        description: 'The operation applying it, the instance and the allocation',
        schema: instanceAccepted.extend({ allocation: allocationResponse }),
      },
    },
  })
  async add(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: z.infer<typeof instanceIdParams>,
    @ValidBody(addPortBody.default({})) body: z.infer<typeof addPortBody>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const r = await this.ports.add(p, params.id, body.allocation_id);
    return {
      ...acceptedOperation(reply, r.operation),
      instance: presentInstance(r.instance),
      allocation: presentAllocation(r.allocation),
    };
  }

  @Delete(':allocationId')
  @RequirePermission('instances.manage')
  @ApiDoc({
    summary: "Give back an extra port (not the primary, nor one of the workload's ports), effective at the next start",
    tags: TAGS,
    errors: ['allocation_primary', 'allocation_required'],
    responses: { 202: { description: 'The operation applying it, with the instance', schema: instanceAccepted } },
  })
  async remove(
    @CurrentPrincipal() p: Principal,
    @ValidParams(portParams) params: z.infer<typeof portParams>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const r = await this.ports.remove(p, params.id, params.allocationId);
    return { ...acceptedOperation(reply, r.operation), instance: presentInstance(r.instance) };
  }
}

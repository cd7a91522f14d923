import { Body, Controller, Delete, Get, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import { hasPermission, type Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { ForbiddenError } from '../http/errors';
import { ValidParams } from '../http/validation';
import { acceptedOperation, operationResponse } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import { crossHostActionParams, crossHostParams } from './machines.schemas';
import { MachinesService } from './machines.service';

const TAGS = ['machines'];

/**
 * The VMs of every macOS node of the organization at once (the seed's orchestrator views): a
 * VM is found by UUID or name on whichever node holds it, then handled as on its node.
 */
@Controller('v1/machines')
export class CrossHostMachinesController {
  constructor(private readonly machines: MachinesService) {}

  @Get()
  @RequirePermission('machines.read')
  @ApiDoc({
    summary: 'Every VM of the organization’s parallels nodes, each with its node; nodes that did not answer are listed',
    tags: TAGS,
    errors: [],
    responses: { 200: { description: '`{data, total, unreachable}`: VMs with node_id and node_name' } },
  })
  list(@CurrentPrincipal() p: Principal) {
    return this.machines.listAcrossHosts(p);
  }

  @Get(':vm')
  @RequirePermission('machines.read')
  @ApiDoc({
    summary: 'One VM by UUID or name, on whichever node holds it',
    tags: TAGS,
    errors: ['not_found'],
    responses: { 200: { description: 'The VM with its node_id and node_name' } },
  })
  get(@CurrentPrincipal() p: Principal, @ValidParams(crossHostParams) path: z.infer<typeof crossHostParams>) {
    return this.machines.locate(p, path.vm);
  }

  @Delete(':vm')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'machine', param: 'vm' })
  @ApiDoc({
    summary: 'Delete a VM on whichever node holds it',
    tags: TAGS,
    errors: ['not_found', 'invalid_argument'],
    responses: { 202: { description: 'Accepted: the operation', schema: operationResponse } },
  })
  async delete(
    @CurrentPrincipal() p: Principal,
    @ValidParams(crossHostParams) path: z.infer<typeof crossHostParams>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const m = await this.machines.locate(p, path.vm);
    const op = await this.machines.write(p, m.node_id, 'machines.delete', { vm: m.id });
    note.details = { operation: 'machines.delete', operation_id: op.id, node_id: m.node_id };
    return acceptedOperation(reply, op);
  }

  @Post(':vm/:action')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'machine', param: 'vm' })
  @ApiDoc({
    summary:
      'start, stop, suspend, resume, pause, reset, restart, rename, set, clone, unregister or exec (needs machines.execute) a VM on whichever node holds it; the body as on the node route',
    tags: TAGS,
    errors: ['not_found', 'invalid_argument'],
    responses: { 202: { description: 'Accepted: the operation', schema: operationResponse } },
  })
  async act(
    @CurrentPrincipal() p: Principal,
    @ValidParams(crossHostActionParams) path: z.infer<typeof crossHostActionParams>,
    @Body() body: unknown,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (path.action === 'exec' && !hasPermission(p, 'machines.execute'))
      throw new ForbiddenError('running commands in a guest needs the machines.execute permission');
    const m = await this.machines.locate(p, path.vm);
    const extra = body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {};
    const op = await this.machines.write(p, m.node_id, `machines.${path.action}`, { ...extra, vm: m.id });
    note.details = { operation: `machines.${path.action}`, operation_id: op.id, node_id: m.node_id };
    return acceptedOperation(reply, op);
  }
}

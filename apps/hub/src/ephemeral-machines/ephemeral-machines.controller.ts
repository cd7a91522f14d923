import { Controller, Delete, Get, HttpCode, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { acceptedOperation, operationResponse } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import { presentEphemeral } from './ephemeral-machine.entity';
import {
  createEphemeralBody,
  ephemeralParams,
  extendEphemeralBody,
  listEphemeralQuery,
  type CreateEphemeralBody,
} from './ephemeral-machines.schemas';
import { EphemeralMachinesService } from './ephemeral-machines.service';

const TAGS = ['machines'];
type Params = z.infer<typeof ephemeralParams>;
const ACCEPTED = {
  202: {
    description: 'Accepted: the operation (also at the Location header)',
    schema: operationResponse,
  },
};
const ONE = { 200: { description: 'The ephemeral clone: id, name, node_id, machine_id, ip, status, expires_at, …' } };

/**
 * Ephemeral clones for CI (docs/api/machines.md): a linked clone of a template, started, with its
 * address, deleted when its TTL passes or on DELETE; the hub keeps the rows, so a restart does
 * not forget one.
 */
@Controller('v1/machines/ephemeral')
export class EphemeralMachinesController {
  constructor(private readonly ephemeral: EphemeralMachinesService) {}

  @Post()
  @RequirePermission('machines.manage')
  @Audited('machine.ephemeral.create', { target: 'node' })
  @ApiDoc({
    summary:
      'Clone a template (linked), start it and wait for its address; the result has machine_id, name, node_id, ip, expires_at',
    tags: TAGS,
    errors: ['template_not_found', 'node_cordoned', 'no_parallels_node', 'node_offline', 'not_found'],
    responses: ACCEPTED,
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidBody(createEphemeralBody) body: CreateEphemeralBody,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { row, op } = await this.ephemeral.create(p, body);
    note.targetId = row.nodeId;
    note.details = { ephemeral_id: row.id, name: row.name, template: row.template, operation_id: op.id };
    return acceptedOperation(reply, op);
  }

  @Get()
  @RequirePermission('machines.read')
  @ApiDoc({
    summary: 'The organization’s ephemeral clones (not those deleted, unless include_deleted=true)',
    tags: TAGS,
    errors: [],
    responses: { 200: { description: '`{data, total}`' } },
  })
  async list(@CurrentPrincipal() p: Principal, @ValidQuery(listEphemeralQuery) q: z.infer<typeof listEphemeralQuery>) {
    const { data, total } = await this.ephemeral.list(p, q);
    return { data: data.map(presentEphemeral), total };
  }

  @Get(':id')
  @RequirePermission('machines.read')
  @ApiDoc({ summary: 'One ephemeral clone', tags: TAGS, errors: ['not_found'], responses: ONE })
  async get(@CurrentPrincipal() p: Principal, @ValidParams(ephemeralParams) path: Params) {
    return presentEphemeral(await this.ephemeral.get(p, path.id));
  }

  @Delete(':id')
  @RequirePermission('machines.manage')
  @Audited('machine.ephemeral.delete', { target: 'ephemeral_machine', param: 'id' })
  @ApiDoc({
    summary: 'Power off (`--kill`) and delete the clone now; retried until its node has done it',
    tags: TAGS,
    errors: ['not_found'],
    responses: ACCEPTED,
  })
  async delete(
    @CurrentPrincipal() p: Principal,
    @ValidParams(ephemeralParams) path: Params,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return acceptedOperation(reply, await this.ephemeral.delete(p, path.id));
  }

  @Post(':id/extend')
  @HttpCode(200)
  @RequirePermission('machines.manage')
  @Audited('machine.ephemeral.extend', { target: 'ephemeral_machine', param: 'id' })
  @ApiDoc({
    summary: 'Set the clone to expire ttl_seconds from now',
    tags: TAGS,
    errors: ['not_found', 'ephemeral_not_extendable'],
    responses: ONE,
  })
  async extend(
    @CurrentPrincipal() p: Principal,
    @ValidParams(ephemeralParams) path: Params,
    @ValidBody(extendEphemeralBody) body: z.infer<typeof extendEphemeralBody>,
  ) {
    return presentEphemeral(await this.ephemeral.extend(p, path.id, body.ttl_seconds));
  }
}

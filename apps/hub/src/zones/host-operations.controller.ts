import { Body, Controller, Get, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { acceptedOperation, operationResponse } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import { ValidParams } from '../http/validation';
import { HostOperationsService, paramsFromQuery } from '../host-operations/host-operations.service';

const params = z.object({
  id: z.uuid({ message: 'node id must be a UUID' }),
  operation: z
    .string()
    .regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*){1,3}$/, { message: 'an operation name such as storage.datasets.list' }),
});
type Params = z.infer<typeof params>;
const TAGS = ['zones'];

/**
 * Zones, boot environments, network, storage and system of an illumos node, one route pair over
 * the host-operation table (docs/api/zones.md): GET runs a read live on the agent, POST queues a
 * write as an operation.
 */
@Controller('v1/nodes/:id/host')
export class HostOperationsController {
  constructor(private readonly ops: HostOperationsService) {}

  @Get(':operation')
  @RequirePermission('zones.read')
  @ApiDoc({
    summary:
      'Run a read-only host operation (zones.list, storage.datasets.list, system.metrics, …) on the node; parameters in the query string',
    tags: TAGS,
    errors: [
      'invalid_argument',
      'not_found',
      'unknown_operation',
      'method_not_allowed',
      'node_offline',
      'node_timeout',
    ],
    responses: {
      200: { description: '`{node_id, operation, data}`: the parsed output of the tool' },
      502: { description: 'the host command failed (host_command_failed, driver_unavailable)' },
    },
  })
  read(@CurrentPrincipal() p: Principal, @ValidParams(params) path: Params, @Query() query: Record<string, string>) {
    return this.ops.read(p, path.id, path.operation, paramsFromQuery(path.operation, query));
  }

  @Post(':operation')
  @RequirePermission('zones.manage')
  @Audited('node.host.operation', { target: 'node', param: 'id' })
  @ApiDoc({
    summary:
      'Queue a host operation that changes the node (zones.start, network.vnics.create, storage.snapshots.create, …); parameters in the JSON body',
    tags: TAGS,
    errors: ['invalid_argument', 'not_found', 'unknown_operation', 'method_not_allowed'],
    responses: {
      202: {
        description: 'Accepted: the operation (also at the Location header); its result has `{operation, data}`',
        schema: operationResponse,
      },
    },
  })
  async write(
    @CurrentPrincipal() p: Principal,
    @ValidParams(params) path: Params,
    @Body() body: unknown,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const op = await this.ops.write(p, path.id, path.operation, body ?? {});
    note.details = { operation: path.operation, operation_id: op.id };
    return acceptedOperation(reply, op);
  }
}

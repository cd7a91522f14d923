import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import { type Principal, requireOrg } from '../access/principal';
import { pageOf } from '../http/pagination';
import { ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { JobDispatcher } from './job-dispatcher';
import { OperationWaiter } from './operation-waiter';
import {
  listOperationsQuery,
  operationIdParams,
  waitQuery,
  operationResponse,
  OperationResponse,
  presentOperation,
} from './operations.schemas';
import { OperationsService } from './operations.service';

@Controller('v1/operations')
export class OperationsController {
  constructor(
    private readonly operations: OperationsService,
    private readonly dispatcher: JobDispatcher,
    private readonly waiter: OperationWaiter,
  ) {}

  @Get()
  @RequirePermission('operations.view')
  @ApiDoc({
    summary: 'List operations (newest first), filtered by status, kind, node, resource and time',
    tags: ['operations'],
    responses: { 200: { description: 'A page of operations', schema: pageOf(operationResponse) } },
  })
  async list(
    @CurrentPrincipal() p: Principal,
    @ValidQuery(listOperationsQuery) q: z.infer<typeof listOperationsQuery>,
  ) {
    const page = await this.operations.list(requireOrg(p).id, q);
    return { data: page.data.map(presentOperation), total: page.total };
  }

  @Get(':id')
  @RequirePermission('operations.view')
  @ApiDoc({
    summary: 'One operation: status, progress, result or error',
    tags: ['operations'],
    responses: { 200: { description: 'The operation', schema: operationResponse } },
  })
  async get(
    @CurrentPrincipal() p: Principal,
    @ValidParams(operationIdParams) params: z.infer<typeof operationIdParams>,
  ): Promise<OperationResponse> {
    return presentOperation(await this.operations.getInOrg(requireOrg(p).id, params.id));
  }

  @Get(':id/wait')
  @RequirePermission('operations.view')
  @ApiDoc({
    summary: 'Block until the operation is final or the timeout passes, then answer it either way',
    description:
      'Returns within milliseconds of completion, whichever hub replica the agent and the caller are on. `timeout` in seconds, default 60, max 300.',
    tags: ['operations'],
    responses: { 200: { description: 'The operation, final or still running', schema: operationResponse } },
  })
  async wait(
    @CurrentPrincipal() p: Principal,
    @ValidParams(operationIdParams) params: z.infer<typeof operationIdParams>,
    @ValidQuery(waitQuery) q: z.infer<typeof waitQuery>,
  ): Promise<OperationResponse> {
    return presentOperation(await this.waiter.wait(requireOrg(p).id, params.id, q.timeout));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequirePermission('operations.cancel')
  @ApiDoc({
    summary: 'Cancel an operation: queued ones at once, running cancellable ones via the agent',
    tags: ['operations'],
    errors: ['not_cancellable'],
    responses: { 200: { description: 'The operation, now cancelled or cancelling', schema: operationResponse } },
  })
  async cancel(
    @CurrentPrincipal() p: Principal,
    @ValidParams(operationIdParams) params: z.infer<typeof operationIdParams>,
  ): Promise<OperationResponse> {
    const op = await this.operations.getInOrg(requireOrg(p).id, params.id);
    return presentOperation(await this.dispatcher.cancel(op));
  }
}

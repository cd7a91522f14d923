import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { z } from 'zod';
import { Audited } from '../audit/audit-note';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { pageOf } from '../http/pagination';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { nodeIdParams } from '../nodes/nodes.schemas';
import { ApiDoc } from '../openapi/api-doc';
import {
  listMigrationsQuery,
  migrateNodeBody,
  migrationIdParams,
  migrationResponse,
  migrationsAccepted,
  presentMigration,
} from './migrations.schemas';
import { MigrationsService } from './migrations.service';

const TAGS = ['migrations'];

@Controller()
export class MigrationsController {
  constructor(private readonly migrations: MigrationsService) {}

  @Post('v1/nodes/:id/migrate')
  @HttpCode(202)
  @RequirePermission('nodes.manage')
  @Audited('node.migrate', { target: 'node', param: 'id' })
  @ApiDoc({
    summary:
      'Move instances (with their data) from this node to others: the given ones or all, to the given node or where the planner places each',
    description:
      'Each instance: stop (if running) → backup on the source → transfer to the target → create there (without re-running the install script) → restore → switch → start (if it ran) → remove from the source. ' +
      'Every instance is planned before anything starts: if one fits nowhere the answer is 409 no_node_fits and nothing is created. Follow with GET /v1/migrations/{id} or the `migration.*` events.',
    tags: TAGS,
    errors: ['no_node_fits', 'migration_in_progress', 'instance_busy', 'not_on_node', 'nothing_to_migrate'],
    responses: {
      202: { description: 'The migrations, queued', schema: migrationsAccepted },
    },
  })
  async migrate(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeIdParams) params: z.infer<typeof nodeIdParams>,
    @ValidBody(migrateNodeBody) body: z.infer<typeof migrateNodeBody>,
  ) {
    const created = await this.migrations.migrateNode(p, params.id, body);
    return { data: created.map(presentMigration), total: created.length };
  }

  @Get('v1/migrations')
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: 'List migrations, newest first, by status, instance, node (source or target) or drain',
    tags: TAGS,
    responses: { 200: { description: 'A page of migrations', schema: pageOf(migrationResponse) } },
  })
  async list(
    @CurrentPrincipal() p: Principal,
    @ValidQuery(listMigrationsQuery) q: z.infer<typeof listMigrationsQuery>,
  ) {
    const page = await this.migrations.list(p, q);
    return { data: page.data.map(presentMigration), total: page.total };
  }

  @Get('v1/migrations/:id')
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: 'One migration: step, progress (bytes transferred), outcome',
    tags: TAGS,
    responses: { 200: { description: 'The migration', schema: migrationResponse } },
  })
  async get(
    @CurrentPrincipal() p: Principal,
    @ValidParams(migrationIdParams) params: z.infer<typeof migrationIdParams>,
  ) {
    return presentMigration(await this.migrations.get(p, params.id));
  }

  @Post('v1/migrations/:id/cancel')
  @HttpCode(202)
  @RequirePermission('nodes.manage')
  @Audited('migration.cancel', { target: 'migration', param: 'id' })
  @ApiDoc({
    summary:
      'Cancel a migration until it switches nodes: it rolls back, the instance stays on its node (running again if it ran)',
    tags: TAGS,
    errors: ['not_cancellable'],
    responses: {
      202: { description: 'The migration, cancel_requested (it ends `cancelled`)', schema: migrationResponse },
    },
  })
  async cancel(
    @CurrentPrincipal() p: Principal,
    @ValidParams(migrationIdParams) params: z.infer<typeof migrationIdParams>,
  ) {
    return presentMigration(await this.migrations.cancel(p, params.id));
  }
}

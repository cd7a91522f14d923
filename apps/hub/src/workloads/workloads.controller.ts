import { Controller, Delete, Get, HttpCode, Post, Put, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import {
  exportedWorkload,
  fromTemplateBody,
  type FromTemplateBody,
  importEggBody,
  type ImportEggBody,
  importEggResponse,
  listWorkloadsQuery,
  type ListWorkloadsQuery,
  presentSummary,
  presentWorkload,
  workloadIdParams,
  type WorkloadIdParams,
  workloadPage,
  workloadResponse,
  type WorkloadResponse,
} from './workload-api.schemas';
import { specOf, workloadDocument } from './workload.schemas';
import { type ExportedWorkload, WorkloadsService } from './workloads.service';

const TAGS = ['workloads'];
type WorkloadDocument = z.output<typeof workloadDocument>;

@Controller('v1/workloads')
export class WorkloadsController {
  constructor(private readonly workloads: WorkloadsService) {}

  @Get()
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'List workloads of the organization (without their specs)',
    tags: TAGS,
    responses: { 200: { description: 'A page of workloads', schema: workloadPage } },
  })
  async list(@CurrentPrincipal() p: Principal, @ValidQuery(listWorkloadsQuery) q: ListWorkloadsQuery) {
    const page = await this.workloads.list(p, q);
    return { data: page.data.map(presentSummary), total: page.total };
  }

  @Post()
  @RequirePermission('instances.create')
  @Audited('workload.create', { target: 'workload' })
  @ApiDoc({
    summary: 'Create a workload from a spec (or from a document exported by GET /v1/workloads/{id}/export)',
    tags: TAGS,
    errors: ['validation_failed', 'name_taken', 'registry_not_found', 'catalog_unavailable'],
    responses: { 201: { description: 'Created', schema: workloadResponse } },
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidBody(workloadDocument) body: WorkloadDocument,
    @Audit() note: AuditNote,
  ): Promise<WorkloadResponse> {
    const created = await this.workloads.create(p, specOf(body));
    note.targetId = created.id;
    return presentWorkload(created);
  }

  @Post('from-template')
  @RequirePermission('instances.create')
  @Audited('workload.create', { target: 'workload' })
  @ApiDoc({
    summary: 'Create a workload from a template, at one of its sizes, with new variable defaults',
    tags: TAGS,
    errors: ['not_found', 'name_taken'],
    responses: { 201: { description: 'Created', schema: workloadResponse }, 404: { description: 'Unknown template' } },
  })
  async fromTemplate(
    @CurrentPrincipal() p: Principal,
    @ValidBody(fromTemplateBody) body: FromTemplateBody,
    @Audit() note: AuditNote,
  ): Promise<WorkloadResponse> {
    const created = await this.workloads.createFromTemplate(p, body);
    note.targetId = created.id;
    note.details = { template: body.template, size: body.size ?? null };
    return presentWorkload(created);
  }

  @Post('import-egg')
  @RequirePermission('instances.create')
  @Audited('workload.import_egg', { target: 'workload' })
  @ApiDoc({
    summary: 'Import a Pterodactyl egg (PTDL_v1 or PTDL_v2) as a workload',
    description:
      'Maps images, startup, stop (`^C` is SIGINT, anything else a console command), the startup "done" text (ready_pattern), config file parsers, variables with their Laravel rules and the install script. A problem answers 400 `invalid_egg` naming the JSON path, e.g. `egg.variables[2].rules: unknown rule "foo"`.',
    tags: TAGS,
    errors: ['invalid_egg', 'name_taken'],
    responses: { 201: { description: 'Created, with what the egg did not say', schema: importEggResponse } },
  })
  async importEgg(
    @CurrentPrincipal() p: Principal,
    @ValidBody(importEggBody) body: ImportEggBody,
    @Audit() note: AuditNote,
  ) {
    const { workload, format, warnings } = await this.workloads.importEgg(p, body);
    note.targetId = workload.id;
    note.details = { format, egg: workload.spec.source?.egg?.name ?? null };
    return { workload: presentWorkload(workload), format, warnings };
  }

  @Get(':id')
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'One workload with its spec',
    tags: TAGS,
    responses: { 200: { description: 'The workload', schema: workloadResponse } },
  })
  async get(
    @CurrentPrincipal() p: Principal,
    @ValidParams(workloadIdParams) params: WorkloadIdParams,
  ): Promise<WorkloadResponse> {
    return presentWorkload(await this.workloads.get(p, params.id));
  }

  @Put(':id')
  @RequirePermission('instances.manage')
  @Audited('workload.update', { target: 'workload', param: 'id' })
  @ApiDoc({
    summary: 'Replace the spec of a workload (its revision goes up by one)',
    tags: TAGS,
    errors: ['name_taken', 'catalog_unavailable'],
    responses: { 200: { description: 'The workload', schema: workloadResponse } },
  })
  async update(
    @CurrentPrincipal() p: Principal,
    @ValidParams(workloadIdParams) params: WorkloadIdParams,
    @ValidBody(workloadDocument) body: WorkloadDocument,
  ): Promise<WorkloadResponse> {
    return presentWorkload(await this.workloads.update(p, params.id, specOf(body)));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('instances.delete')
  @Audited('workload.delete', { target: 'workload', param: 'id' })
  @ApiDoc({
    summary: 'Delete a workload',
    tags: TAGS,
    errors: ['workload_in_use'],
    responses: { 204: { description: 'Deleted' } },
  })
  async remove(
    @CurrentPrincipal() p: Principal,
    @ValidParams(workloadIdParams) params: WorkloadIdParams,
  ): Promise<void> {
    await this.workloads.delete(p, params.id);
  }

  @Get(':id/export')
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'Export a workload as a versioned document that POST /v1/workloads accepts back',
    tags: TAGS,
    responses: {
      200: {
        description: `The spec with api_version, kind and exported_at (served as an attachment)`,
        schema: exportedWorkload,
      },
    },
  })
  async export(
    @CurrentPrincipal() p: Principal,
    @ValidParams(workloadIdParams) params: WorkloadIdParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ExportedWorkload> {
    const row = await this.workloads.get(p, params.id);
    const file = row.name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'workload';
    reply.header('content-disposition', `attachment; filename="${file}.workload.json"`);
    return this.workloads.exportDocument(row);
  }
}

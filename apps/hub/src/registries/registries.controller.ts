import { Controller, Delete, Get, Post, Put, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { pageOf, paginationQuery, type Pagination } from '../http/pagination';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import {
  createRegistryBody,
  type CreateRegistryBody,
  presentRegistry,
  registryIdParams,
  registryResponse,
  updateRegistryBody,
  type UpdateRegistryBody,
} from './registries.schemas';
import { RegistriesService } from './registries.service';

type IdParams = z.infer<typeof registryIdParams>;
const TAGS = ['registries'];
const ONE = { 200: { description: 'The registry (its password is never shown)', schema: registryResponse } };

@Controller('v1/registries')
export class RegistriesController {
  constructor(private readonly registries: RegistriesService) {}

  @Get()
  @RequirePermission('orgs.view')
  @ApiDoc({
    summary: "The organization's registry credentials",
    tags: TAGS,
    responses: { 200: { description: 'A page of registries', schema: pageOf(registryResponse) } },
  })
  async list(@CurrentPrincipal() p: Principal, @ValidQuery(paginationQuery) q: Pagination) {
    const page = await this.registries.list(p, q);
    return { data: page.data.map(presentRegistry), total: page.total };
  }

  @Post()
  @RequirePermission('orgs.manage')
  @Audited('registry.create', { target: 'registry' })
  @ApiDoc({
    summary: 'Add credentials for a container registry (the password is stored encrypted and never returned)',
    description:
      'A docker workload names it with `registry_id`; its jobs carry the credentials to the node that pulls the image.',
    tags: TAGS,
    errors: ['validation_failed', 'name_taken'],
    responses: { 201: { description: 'Created', schema: registryResponse } },
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidBody(createRegistryBody) body: CreateRegistryBody,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const created = await this.registries.create(p, body);
    note.targetId = created.id;
    void reply.status(201);
    return presentRegistry(created);
  }

  @Get(':id')
  @RequirePermission('orgs.view')
  @ApiDoc({ summary: 'One registry', tags: TAGS, errors: ['not_found'], responses: { ...ONE } })
  async get(@CurrentPrincipal() p: Principal, @ValidParams(registryIdParams) params: IdParams) {
    return presentRegistry(await this.registries.get(p, params.id));
  }

  @Put(':id')
  @RequirePermission('orgs.manage')
  @Audited('registry.update', { target: 'registry', param: 'id' })
  @ApiDoc({
    summary: 'Change a registry; leave password out to keep the stored one',
    tags: TAGS,
    errors: ['not_found', 'validation_failed', 'name_taken'],
    responses: { ...ONE },
  })
  async update(
    @CurrentPrincipal() p: Principal,
    @ValidParams(registryIdParams) params: IdParams,
    @ValidBody(updateRegistryBody) body: UpdateRegistryBody,
  ) {
    return presentRegistry(await this.registries.update(p, params.id, body));
  }

  @Delete(':id')
  @RequirePermission('orgs.manage')
  @Audited('registry.delete', { target: 'registry', param: 'id' })
  @ApiDoc({
    summary: 'Delete a registry (pulls of workloads that name it then fail with registry_not_found)',
    tags: TAGS,
    errors: ['not_found'],
    responses: { 204: { description: 'Deleted' } },
  })
  async remove(
    @CurrentPrincipal() p: Principal,
    @ValidParams(registryIdParams) params: IdParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    await this.registries.remove(p, params.id);
    void reply.status(204);
  }
}

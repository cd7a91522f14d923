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
  bucketListResponse,
  bucketsQuery,
  configIdParams,
  createBucketBody,
  createStorageConfigBody,
  type CreateStorageConfigBody,
  presentStorageConfig,
  storageConfigResponse,
  updateStorageConfigBody,
  type UpdateStorageConfigBody,
} from './backup-config.schemas';
import { BackupConfigService } from './backup-config.service';

type IdParams = z.infer<typeof configIdParams>;
const TAGS = ['backups'];
const ONE = {
  200: { description: 'The config (the secret access key is never shown)', schema: storageConfigResponse },
};

/**
 * Static paths (`/list`, `/s3-buckets`) are declared before `/:id`; the router prefers static
 * segments anyway, and `:id` must be a UUID, so neither can be taken for an id.
 */
@Controller('v1/backup-config')
export class BackupConfigController {
  constructor(private readonly configs: BackupConfigService) {}

  @Get()
  @RequirePermission('orgs.view')
  @ApiDoc({
    summary: "The organization's active S3 backup storage",
    tags: TAGS,
    errors: ['not_found'],
    responses: { ...ONE, 404: { description: 'No active config: backups stay on the nodes' } },
  })
  async active(@CurrentPrincipal() p: Principal) {
    return presentStorageConfig(await this.configs.active(p));
  }

  @Post()
  @RequirePermission('orgs.manage')
  @Audited('backup_config.create', { target: 'backup_config' })
  @ApiDoc({
    summary: 'Add an S3-compatible backup storage config (the secret is stored encrypted)',
    tags: TAGS,
    errors: ['name_taken', 'storage_unreachable'],
    responses: { 201: { description: 'Created', schema: storageConfigResponse } },
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidBody(createStorageConfigBody) body: CreateStorageConfigBody,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const created = await this.configs.create(p, body);
    note.targetId = created.id;
    void reply.status(201);
    return presentStorageConfig(created);
  }

  @Get('list')
  @RequirePermission('orgs.view')
  @ApiDoc({
    summary: 'Every backup storage config of the organization',
    tags: TAGS,
    responses: { 200: { description: 'A page of configs', schema: pageOf(storageConfigResponse) } },
  })
  async list(@CurrentPrincipal() p: Principal, @ValidQuery(paginationQuery) q: Pagination) {
    const page = await this.configs.list(p, q);
    return { data: page.data.map(presentStorageConfig), total: page.total };
  }

  @Get('s3-buckets')
  @RequirePermission('orgs.manage')
  @ApiDoc({
    summary: "Buckets the config's credentials can see (S3 ListBuckets)",
    description: 'Needs orgs.manage, not orgs.view: it acts at the provider with the stored secret.',
    tags: TAGS,
    errors: ['storage_error'],
    responses: { 200: { description: 'Buckets', schema: bucketListResponse } },
  })
  buckets(@CurrentPrincipal() p: Principal, @ValidQuery(bucketsQuery) q: z.infer<typeof bucketsQuery>) {
    return this.configs.buckets(p, q.config_id);
  }

  @Post('s3-buckets')
  @RequirePermission('orgs.manage')
  @Audited('backup_config.bucket.create', { target: 'backup_config' })
  @ApiDoc({
    summary: "Create a bucket with the config's credentials (S3 CreateBucket)",
    tags: TAGS,
    errors: ['bucket_exists', 'storage_error'],
    responses: { 201: { description: 'Created', schema: z.object({ name: z.string() }) } },
  })
  async createBucket(
    @CurrentPrincipal() p: Principal,
    @ValidBody(createBucketBody) body: z.infer<typeof createBucketBody>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    void reply.status(201);
    return this.configs.createBucket(p, body.config_id, body.bucket);
  }

  @Get(':id')
  @RequirePermission('orgs.view')
  @ApiDoc({ summary: 'One backup storage config', tags: TAGS, responses: ONE })
  async get(@CurrentPrincipal() p: Principal, @ValidParams(configIdParams) params: IdParams) {
    return presentStorageConfig(await this.configs.get(p, params.id));
  }

  @Put(':id')
  @RequirePermission('orgs.manage')
  @Audited('backup_config.update', { target: 'backup_config', param: 'id' })
  @ApiDoc({
    summary: 'Change a config; leave secret_access_key out to keep the stored one',
    tags: TAGS,
    errors: ['config_in_use', 'name_taken', 'storage_unreachable'],
    responses: { ...ONE },
  })
  async update(
    @CurrentPrincipal() p: Principal,
    @ValidParams(configIdParams) params: IdParams,
    @ValidBody(updateStorageConfigBody) body: UpdateStorageConfigBody,
  ) {
    return presentStorageConfig(await this.configs.update(p, params.id, body));
  }

  @Delete(':id')
  @RequirePermission('orgs.manage')
  @Audited('backup_config.delete', { target: 'backup_config', param: 'id' })
  @ApiDoc({
    summary: 'Delete a config that holds no backups',
    tags: TAGS,
    errors: ['config_in_use'],
    responses: { 204: { description: 'Deleted' } },
  })
  async remove(
    @CurrentPrincipal() p: Principal,
    @ValidParams(configIdParams) params: IdParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    await this.configs.remove(p, params.id);
    void reply.status(204);
  }

  @Post(':id/activate')
  @RequirePermission('orgs.manage')
  @Audited('backup_config.activate', { target: 'backup_config', param: 'id' })
  @ApiDoc({
    summary: 'Make this the active config (new backups go to its bucket); the previous active one is deactivated',
    tags: TAGS,
    errors: ['storage_unreachable'],
    responses: { ...ONE },
  })
  async activate(
    @CurrentPrincipal() p: Principal,
    @ValidParams(configIdParams) params: IdParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    void reply.status(200);
    return presentStorageConfig(await this.configs.activate(p, params.id));
  }

  @Post(':id/deactivate')
  @RequirePermission('orgs.manage')
  @Audited('backup_config.deactivate', { target: 'backup_config', param: 'id' })
  @ApiDoc({
    summary: 'Deactivate: new backups stay on the nodes (stored ones are not moved)',
    tags: TAGS,
    responses: ONE,
  })
  async deactivate(
    @CurrentPrincipal() p: Principal,
    @ValidParams(configIdParams) params: IdParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    void reply.status(200);
    return presentStorageConfig(await this.configs.deactivate(p, params.id));
  }
}

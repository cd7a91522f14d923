import { Controller, Delete, Get, Patch, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import { LiveConnections } from '../access/live-connections';
import type { Principal } from '../access/principal';
import { Audited } from '../audit/audit-note';
import { AuditService } from '../audit/audit.service';
import { pageOf } from '../http/pagination';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { instanceIdParams } from '../instances/instances.schemas';
import type { OperationEntity } from '../jobs/operation.entity';
import { acceptedOperation, operationResponse } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import type { BackupEntity } from './backup.entity';
import {
  backupAccepted,
  type BackupParams,
  backupParams,
  backupResponse,
  createBackupBody,
  type CreateBackupBody,
  listBackupsQuery,
  type ListBackupsQuery,
  presentBackup,
  restoreBackupBody,
  type RestoreBackupBody,
  updateBackupBody,
  type UpdateBackupBody,
} from './backups.schemas';
import { BackupsService } from './backups.service';

const TAGS = ['backups'];
const ACCEPTED = {
  202: {
    description:
      'Accepted: the operation (Location header), finished when the backup is ready or failed, with the backup',
    schema: backupAccepted,
  },
};

function accepted(reply: FastifyReply, r: { backup: BackupEntity; operation: OperationEntity }) {
  return { ...acceptedOperation(reply, r.operation), backup: presentBackup(r.backup) };
}

@Controller('v1/instances/:id/backups')
export class BackupsController {
  constructor(
    private readonly backups: BackupsService,
    private readonly audit: AuditService,
    private readonly live: LiveConnections,
  ) {}

  @Get()
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'Backups of an instance, newest first',
    tags: TAGS,
    responses: { 200: { description: 'A page of backups', schema: pageOf(backupResponse) } },
  })
  async list(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: z.infer<typeof instanceIdParams>,
    @ValidQuery(listBackupsQuery) q: ListBackupsQuery,
  ) {
    const page = await this.backups.list(p, params.id, q);
    return { data: page.data.map(presentBackup), total: page.total };
  }

  @Post()
  @RequirePermission('instances.manage')
  @Audited('backup.create', { target: 'instance', param: 'id' })
  @ApiDoc({
    summary:
      "Back up the instance root: a .tar.gz made on its node, then (with an active backup config) moved to the organization's S3 bucket",
    tags: TAGS,
    errors: ['backup_limit_reached', 'instance_busy'],
    responses: { ...ACCEPTED },
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: z.infer<typeof instanceIdParams>,
    @ValidBody(createBackupBody.default({ ignore: [], locked: false })) body: CreateBackupBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return accepted(reply, await this.backups.create(p, params.id, body));
  }

  @Get(':bid')
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'One backup: status, storage, size, SHA-256, file count',
    tags: TAGS,
    responses: { 200: { description: 'The backup', schema: backupResponse } },
  })
  async get(@CurrentPrincipal() p: Principal, @ValidParams(backupParams) params: BackupParams) {
    return presentBackup((await this.backups.get(p, params.id, params.bid)).backup);
  }

  @Patch(':bid')
  @RequirePermission('instances.manage')
  @Audited('backup.update', { target: 'backup', param: 'bid' })
  @ApiDoc({
    summary:
      "Rename a backup, or lock / unlock it (a locked backup cannot be deleted; unlocking needs 'backups.delete')",
    tags: TAGS,
    responses: { 200: { description: 'The backup', schema: backupResponse } },
  })
  async update(
    @CurrentPrincipal() p: Principal,
    @ValidParams(backupParams) params: BackupParams,
    @ValidBody(updateBackupBody) body: UpdateBackupBody,
  ) {
    return presentBackup(await this.backups.update(p, params.id, params.bid, body));
  }

  @Get(':bid/download')
  @RequirePermission('instances.files')
  @ApiDoc({
    summary: 'Download the archive (.tar.gz), streamed from S3 or from the node',
    description:
      'Content-Length is the archive size; X-Checksum-Sha256 (hex) and Digest (sha-256, base64) are its SHA-256, recorded when it was made. Audited as backup.download.',
    tags: TAGS,
    errors: ['backup_not_ready', 'node_offline', 'storage_error'],
    responses: {
      200: { description: 'The archive', contentType: 'application/gzip' },
    },
  })
  async download(
    @CurrentPrincipal() p: Principal,
    @ValidParams(backupParams) params: BackupParams,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const d = await this.backups.download(p, params.id, params.bid);
    // Reads are not audited by the hook, but an archive holds every file of the instance.
    this.live.followResponse({
      request: req,
      response: reply.raw,
      principal: p,
      rule: { kind: 'permission', permission: 'instances.files', sessionOnly: false },
    });
    void this.audit.record(
      this.audit.fromRequest(req, {
        action: 'backup.download',
        targetType: 'backup',
        targetId: params.bid,
        outcome: 'success',
        details: { instance_id: params.id },
      }),
    );
    await reply
      .type('application/gzip')
      .header('content-length', String(d.sizeBytes))
      .header('content-disposition', `attachment; filename="${d.filename}"`)
      .header('x-checksum-sha256', d.sha256)
      .header('digest', `sha-256=${Buffer.from(d.sha256, 'hex').toString('base64')}`)
      .header('etag', `"${d.sha256}"`)
      .send(d.body);
  }

  @Post(':bid/restore')
  @RequirePermission('backups.restore')
  @Audited('backup.restore', { target: 'backup', param: 'bid' })
  @ApiDoc({
    summary: 'Replace the instance root with the backup (the instance must be stopped, crashed or failed)',
    tags: TAGS,
    errors: ['instance_not_stopped', 'backup_not_ready', 'backup_on_other_node', 'node_offline'],
    responses: { ...ACCEPTED },
  })
  async restore(
    @CurrentPrincipal() p: Principal,
    @ValidParams(backupParams) params: BackupParams,
    @ValidBody(restoreBackupBody.default({ truncate: true })) body: RestoreBackupBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return accepted(reply, await this.backups.restore(p, params.id, params.bid, body));
  }

  @Delete(':bid')
  @RequirePermission('backups.delete')
  @Audited('backup.delete', { target: 'backup', param: 'bid' })
  @ApiDoc({
    summary: 'Delete a backup: at once from S3 (204), or by a job on its node (202 with the operation)',
    tags: TAGS,
    errors: ['backup_locked', 'backup_busy'],
    responses: {
      202: { description: 'The node removes the archive; the row goes when it has', schema: operationResponse },
      204: { description: 'Deleted' },
    },
  })
  async remove(
    @CurrentPrincipal() p: Principal,
    @ValidParams(backupParams) params: BackupParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const op = await this.backups.remove(p, params.id, params.bid);
    if (op) return acceptedOperation(reply, op);
    void reply.status(204);
    return undefined;
  }
}

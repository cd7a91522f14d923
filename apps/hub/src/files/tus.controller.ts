import { Controller, Delete, Head, Options, Patch, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, Audited, type AuditNote } from '../audit/audit-note';
import { ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import type { FileUploadEntity } from './file-upload.entity';
import { closeAfter } from './files.controller';
import { FilesService } from './files.service';
import { type FilesParams, filesParams, type UploadParams, uploadFilesQuery, uploadParams } from './files.schemas';
import {
  checkTusResumable,
  parseSizeHeader,
  parseUploadMetadata,
  TUS_CONTENT_TYPE,
  TUS_EXTENSIONS,
  TUS_VERSION,
  TusError,
} from './tus-protocol';
import { TusUploadsService } from './tus-uploads.service';

const TAGS = ['files', 'tus'];
const TUS_NOTE =
  'TUS 1.0 (https://tus.io/protocols/resumable-upload). Every answer carries Tus-Resumable: 1.0.0; requests must send it too (412 otherwise).';
const creationQuery = uploadFilesQuery.pick({ path: true });
/** Why TUS routes refuse Idempotency-Key (docs/api.md): the protocol has its own safe retry. */
const TUS_RETRY =
  'a TUS upload is retried by its own protocol: HEAD tells the offset to resume from, PATCH sends the rest';

/** Resumable uploads into an instance root (TUS 1.0: core, creation, termination, expiration). */
@Controller('v1/instances/:id/files/tus')
export class TusController {
  constructor(
    private readonly uploads: TusUploadsService,
    private readonly files: FilesService,
  ) {}

  @Options()
  @RequirePermission('files.write')
  @ApiDoc({
    summary: 'TUS discovery: versions, extensions and the largest upload',
    description: TUS_NOTE,
    tags: TAGS,
    responses: { 204: { description: 'Tus-Version, Tus-Extension, Tus-Max-Size headers' } },
  })
  async options(
    @CurrentPrincipal() p: Principal,
    @ValidParams(filesParams) params: FilesParams,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.files.instance(p, params.id);
    void reply
      .status(204)
      .headers({
        'tus-version': TUS_VERSION,
        'tus-extension': TUS_EXTENSIONS,
        'tus-max-size': String(this.files.limits.maxUploadBytes),
      })
      .send();
  }

  @Post()
  @RequirePermission('files.write')
  @Audited('instance.files.upload.create', { target: 'instance', param: 'id' })
  @ApiDoc({
    summary:
      'Create a resumable upload: Upload-Length and Upload-Metadata (base64 `path` relative to the instance root, or `filename` in ?path=)',
    description: `${TUS_NOTE} Answers 201 with Location /v1/instances/{id}/files/tus/{upload_id}. Unfinished uploads expire after HOSTPLANE_FILES_UPLOAD_TTL_HOURS (Upload-Expires).`,
    tags: TAGS,
    idempotencyRefused: TUS_RETRY,
    errors: ['invalid_header', 'invalid_path', 'tus_version_unsupported', 'file_too_large'],
    responses: { 201: { description: 'Created (Location, Upload-Expires)' } },
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidParams(filesParams) params: FilesParams,
    @ValidQuery(creationQuery) q: z.infer<typeof creationQuery>,
    @Req() req: FastifyRequest,
    @Audit() note: AuditNote,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    checkTusResumable(req.headers['tus-resumable']);
    if (req.headers['upload-defer-length'] !== undefined)
      throw new TusError('Upload-Defer-Length is not supported: give Upload-Length', 'invalid_header', 400);
    const length = parseSizeHeader('Upload-Length', req.headers['upload-length']);
    if (length === undefined) throw new TusError('Upload-Length is required', 'invalid_header', 400);
    const metadata = parseUploadMetadata(req.headers['upload-metadata']);
    const u = await this.uploads.create(p, params.id, { length, metadata, dir: q.path });
    note.details = { upload_id: u.id, path: u.path, length };
    void reply
      .status(201)
      .headers({
        location: `/v1/instances/${params.id}/files/tus/${u.id}`,
        'upload-offset': String(u.offset),
        ...expiry(u),
      })
      .send();
  }

  @Head(':upload_id')
  @RequirePermission('files.write')
  @ApiDoc({
    summary: 'Where an upload stands: Upload-Offset (what the node durably staged) and Upload-Length',
    description: TUS_NOTE,
    tags: TAGS,
    errors: ['not_found'],
    responses: {
      200: { description: 'Upload-Offset, Upload-Length, Cache-Control: no-store' },
      404: { description: 'no such upload (or expired)' },
    },
  })
  async head(
    @CurrentPrincipal() p: Principal,
    @ValidParams(uploadParams) params: UploadParams,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    checkTusResumable(req.headers['tus-resumable']);
    const u = await this.uploads.describe(p, params.id, params.upload_id);
    void reply
      .status(200)
      .headers({
        'upload-offset': String(u.offset),
        'upload-length': String(u.length),
        'cache-control': 'no-store',
        ...expiry(u),
      })
      .send();
  }

  @Patch(':upload_id')
  @RequirePermission('files.write')
  @Audited('instance.files.upload.patch', { target: 'instance', param: 'id' })
  @ApiDoc({
    summary:
      'Append bytes at Upload-Offset (Content-Type application/offset+octet-stream); the upload is committed to its path once complete',
    description: `${TUS_NOTE} A request cut midway keeps what the node staged: HEAD tells where to resume. Audited.`,
    tags: TAGS,
    idempotencyRefused: TUS_RETRY,
    errors: ['not_found', 'offset_mismatch', 'tus_version_unsupported', 'unsupported_media_type', 'upload_locked'],
    responses: {
      204: { description: 'Appended; Upload-Offset is the new offset' },
      404: { description: 'no such upload (or expired)' },
      415: { description: 'Content-Type is not application/offset+octet-stream' },
    },
  })
  async patch(
    @CurrentPrincipal() p: Principal,
    @ValidParams(uploadParams) params: UploadParams,
    @Req() req: FastifyRequest,
    @Audit() note: AuditNote,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    checkTusResumable(req.headers['tus-resumable']);
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (type !== TUS_CONTENT_TYPE)
      closeAfter(
        reply,
        new TusError(`Content-Type must be ${TUS_CONTENT_TYPE} (got ${type || 'none'})`, 'unsupported_media_type', 415),
      );
    const offset = parseSizeHeader('Upload-Offset', req.headers['upload-offset']);
    if (offset === undefined) closeAfter(reply, new TusError('Upload-Offset is required', 'invalid_header', 400));
    const contentLength =
      req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    let u: FileUploadEntity;
    try {
      u = await this.uploads.append(p, params.id, params.upload_id, offset!, req.raw, contentLength);
    } catch (err) {
      // A client that went away gets no answer; what the node staged is recorded all the same.
      if (req.raw.destroyed && reply.raw.destroyed) return;
      closeAfter(reply, err);
    }
    note.details = {
      upload_id: u.id,
      offset: u.offset,
      length: u.length,
      ...(u.completedAt ? { completed: true, path: u.path } : {}),
    };
    void reply
      .status(204)
      .headers({ 'upload-offset': String(u.offset), ...expiry(u) })
      .send();
  }

  @Delete(':upload_id')
  @RequirePermission('files.write')
  @Audited('instance.files.upload.terminate', { target: 'instance', param: 'id' })
  @ApiDoc({
    summary: 'Terminate an upload: its record and its staged bytes on the node are removed',
    description: TUS_NOTE,
    tags: TAGS,
    idempotencyRefused: TUS_RETRY,
    errors: ['not_found', 'upload_locked'],
    responses: { 204: { description: 'Terminated' }, 404: { description: 'no such upload' } },
  })
  async terminate(
    @CurrentPrincipal() p: Principal,
    @ValidParams(uploadParams) params: UploadParams,
    @Req() req: FastifyRequest,
    @Audit() note: AuditNote,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    checkTusResumable(req.headers['tus-resumable']);
    await this.uploads.terminate(p, params.id, params.upload_id);
    note.details = { upload_id: params.upload_id };
    void reply.status(204).send();
  }
}

function expiry(u: FileUploadEntity): Record<string, string> {
  return u.completedAt ? {} : { 'upload-expires': u.expiresAt.toUTCString() };
}

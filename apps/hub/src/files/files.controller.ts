import { Controller, Delete, Get, HttpCode, Post, Put, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isUtf8 } from 'node:buffer';
import type { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import { LiveConnections } from '../access/live-connections';
import type { Principal } from '../access/principal';
import { Audit, Audited, type AuditNote } from '../audit/audit-note';
import { DomainError, ValidationFailedError } from '../http/errors';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { attachmentDisposition } from '../http/content-disposition';
import { FileTooLargeError } from './file-errors';
import type { UploadPart } from './files.service';
import { FilesService } from './files.service';
import { HTTP_ERRORS } from '../http/http.errors';
import {
  deleteFilesBody,
  deleteFilesQuery,
  deleteFilesResponse,
  fileEntryResponse,
  fileListResponse,
  filePathQuery,
  type FilesParams,
  filesParams,
  listFilesQuery,
  mkdirBody,
  moveFilesBody,
  moveFilesResponse,
  uploadFilesQuery,
  uploadFilesResponse,
  writeFileQuery,
  writeFileResponse,
  zipQuery,
} from './files.schemas';

const TAGS = ['files'];
/** What every file route may answer: a bad path, a missing instance or file, an absent node. */
const COMMON_ERRORS = [
  'invalid_path',
  'validation_failed',
  'not_found',
  'path_not_found',
  'node_offline',
  'not_a_directory',
  'not_a_file',
  'path_exists',
  'node_timeout',
];
const MAX_UPLOAD_FILES = 100;
/** Why streamed writes refuse Idempotency-Key (docs/api.md): resending the file is the safe retry. */
const STREAMED_BODY =
  'its body is a stream of file bytes, which is neither kept nor compared; send the file again (the write replaces the file atomically)';
/** A download in progress is cut off once its caller may no longer read the files. */
const READ_FILES = { kind: 'permission', permission: 'instances.files', sessionOnly: false } as const;

/** Files of an instance: `instances.files` in the instance's organization, whatever else the caller may do. */
@Controller('v1/instances/:id/files')
export class FilesController {
  constructor(
    private readonly files: FilesService,
    private readonly live: LiveConnections,
  ) {}

  @Get()
  @RequirePermission('instances.files')
  @ApiDoc({
    summary: 'List a directory of the instance root: directories first, then by name',
    tags: TAGS,
    errors: COMMON_ERRORS,
    responses: { 200: { description: 'The entries', schema: fileListResponse } },
  })
  list(
    @CurrentPrincipal() p: Principal,
    @ValidParams(filesParams) params: FilesParams,
    @ValidQuery(listFilesQuery) q: z.infer<typeof listFilesQuery>,
  ) {
    return this.files.list(p, params.id, q.path);
  }

  @Get('content')
  @RequirePermission('instances.files')
  @ApiDoc({
    summary: 'Read a whole file (for an editor): text/plain when it is UTF-8 text, else application/octet-stream',
    description:
      'Files larger than HOSTPLANE_FILES_MAX_EDIT_BYTES (4 MiB by default) get 413 file_too_large: use …/files/download.',
    tags: TAGS,
    errors: [...COMMON_ERRORS, 'file_too_large'],
    responses: { 200: { description: 'The bytes of the file', contentType: 'application/octet-stream' } },
  })
  async read(
    @CurrentPrincipal() p: Principal,
    @ValidParams(filesParams) params: FilesParams,
    @ValidQuery(filePathQuery) q: z.infer<typeof filePathQuery>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { data, modifiedAt } = await this.files.readContent(p, params.id, q.path);
    if (modifiedAt) void reply.header('last-modified', new Date(modifiedAt).toUTCString());
    void reply
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .type(!data.includes(0) && isUtf8(data) ? 'text/plain; charset=utf-8' : 'application/octet-stream')
      .send(data);
  }

  @Put('content')
  @RequirePermission('files.write')
  @Audited('instance.files.write', { target: 'instance', param: 'id' })
  @ApiDoc({
    summary:
      'Write a whole file from the raw request body (application/octet-stream or text/*), streamed; replaced atomically once complete',
    description:
      'Bodies over HOSTPLANE_FILES_MAX_UPLOAD_BYTES get 413. Missing parent directories are an error (path_not_found). Audited.',
    tags: TAGS,
    idempotencyRefused: STREAMED_BODY,
    errors: [...COMMON_ERRORS, 'file_too_large', 'unsupported_media_type'],
    responses: { 200: { description: 'Written', schema: writeFileResponse } },
  })
  async write(
    @CurrentPrincipal() p: Principal,
    @ValidParams(filesParams) params: FilesParams,
    @ValidQuery(writeFileQuery) q: z.infer<typeof writeFileQuery>,
    @Req() req: FastifyRequest,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    note.details = { path: q.path };
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (type !== 'application/octet-stream' && !type.startsWith('text/')) {
      throw HTTP_ERRORS.unsupported_media_type.error(
        `send the file as the raw body with Content-Type application/octet-stream or text/* (got ${type || 'none'})`,
      );
    }
    const max = this.files.limits.maxUploadBytes;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > max) closeAfter(reply, new FileTooLargeError(`the body (${declared} bytes)`, max));
    try {
      const written = await this.files.write(p, params.id, q.path, req.raw, q.overwrite);
      note.details = { path: q.path, bytes: written.size_bytes };
      return written;
    } catch (err) {
      closeAfter(reply, err);
    }
  }

  @Delete()
  @RequirePermission('files.delete')
  @Audited('instance.files.delete', { target: 'instance', param: 'id' })
  @ApiDoc({
    summary: 'Delete files and directories (recursively): body {"paths": [...]}, or one ?path=',
    tags: TAGS,
    errors: COMMON_ERRORS,
    responses: { 200: { description: 'What was deleted and what did not exist', schema: deleteFilesResponse } },
  })
  async remove(
    @CurrentPrincipal() p: Principal,
    @ValidParams(filesParams) params: FilesParams,
    @ValidQuery(deleteFilesQuery) q: z.infer<typeof deleteFilesQuery>,
    @ValidBody(deleteFilesBody.optional()) body: z.infer<typeof deleteFilesBody> | undefined,
    @Audit() note: AuditNote,
  ) {
    const paths = body?.paths ?? (q.path ? [q.path] : null);
    if (!paths)
      throw new ValidationFailedError('body', [{ path: 'paths', message: 'give {"paths": [...]} or ?path=' }]);
    if (paths.includes('.'))
      throw new ValidationFailedError('body', [
        { path: 'paths', message: "the instance root '.' itself cannot be deleted" },
      ]);
    note.details = { paths };
    return this.files.remove(p, params.id, paths);
  }

  @Get('download')
  @RequirePermission('instances.files')
  @ApiDoc({
    summary: 'Download a file (streamed, any size) as an attachment',
    tags: TAGS,
    errors: COMMON_ERRORS,
    responses: {
      200: {
        description: 'The file, with Content-Length and Content-Disposition',
        contentType: 'application/octet-stream',
      },
    },
  })
  async download(
    @CurrentPrincipal() p: Principal,
    @ValidParams(filesParams) params: FilesParams,
    @ValidQuery(filePathQuery) q: z.infer<typeof filePathQuery>,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const dl = await this.files.download(p, params.id, q.path);
    void reply
      .type('application/octet-stream')
      .header('content-disposition', attachmentDisposition(dl.name))
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store');
    if (dl.size >= 0) void reply.header('content-length', String(dl.size));
    if (dl.modifiedAt) void reply.header('last-modified', new Date(dl.modifiedAt).toUTCString());
    if (req.method === 'HEAD') {
      dl.cancel();
      void reply.send();
      return;
    }
    this.live.followResponse({ request: req, response: reply.raw, principal: p, rule: READ_FILES });
    void reply.send(dl.body);
  }

  @Get('download-zip')
  @RequirePermission('instances.files')
  @ApiDoc({
    summary: 'Download a directory (?path=) or several paths (?paths=a,b) as a zip, generated while it streams',
    description:
      'Entries are named relative to the deepest directory holding every path, so ?path=world gives world/….',
    tags: TAGS,
    errors: COMMON_ERRORS,
    responses: { 200: { description: 'A zip archive', contentType: 'application/zip' } },
  })
  async downloadZip(
    @CurrentPrincipal() p: Principal,
    @ValidParams(filesParams) params: FilesParams,
    @ValidQuery(zipQuery) q: z.infer<typeof zipQuery>,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const zip = await this.files.archive(p, params.id, q.paths ?? [q.path!]);
    this.live.followResponse({ request: req, response: reply.raw, principal: p, rule: READ_FILES });
    void reply
      .type('application/zip')
      .header('content-disposition', attachmentDisposition(zip.name))
      .header('cache-control', 'no-store')
      .send(zip.body);
  }

  @Post('upload')
  @HttpCode(201)
  @RequirePermission('files.write')
  @Audited('instance.files.upload', { target: 'instance', param: 'id' })
  @ApiDoc({
    summary: 'Upload files (multipart/form-data, one or more file parts) into a directory, streamed',
    description:
      "Each part's filename is a path relative to ?path= (sub-directories allowed, validated like any path). Every file is staged on the node and moved into place once all arrived whole: a bad name or an oversized file changes nothing. Limits: HOSTPLANE_FILES_MAX_UPLOAD_BYTES per file, HOSTPLANE_FILES_MAX_UPLOAD_REQUEST_BYTES per request, 100 files. Audited.",
    tags: TAGS,
    idempotencyRefused: STREAMED_BODY,
    errors: [...COMMON_ERRORS, 'file_too_large', 'unsupported_media_type'],
    responses: { 201: { description: 'The files as written', schema: uploadFilesResponse } },
  })
  async upload(
    @CurrentPrincipal() p: Principal,
    @ValidParams(filesParams) params: FilesParams,
    @ValidQuery(uploadFilesQuery) q: z.infer<typeof uploadFilesQuery>,
    @Req() req: FastifyRequest,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (!req.isMultipart()) throw HTTP_ERRORS.unsupported_media_type.error('send the files as multipart/form-data');
    const names: string[] = [];
    const limits = this.files.limits;
    async function* fileParts(): AsyncGenerator<UploadPart> {
      const parts = req.parts({
        preservePath: true,
        limits: {
          fileSize: limits.maxUploadBytes,
          files: MAX_UPLOAD_FILES,
          fields: 20,
          fieldSize: 64 * 1024,
          parts: MAX_UPLOAD_FILES + 20,
        },
      });
      for await (const part of parts) {
        if (part.type !== 'file') continue;
        names.push(part.filename);
        yield { filename: part.filename, file: part.file };
      }
    }
    try {
      const files = await this.files.upload(p, params.id, q.path, fileParts(), q.overwrite);
      note.details = { dir: q.path, files: files.map((f) => ({ path: f.path, bytes: f.size_bytes })) };
      return { files };
    } catch (err) {
      note.details = { dir: q.path, names: names.slice(0, 100) };
      closeAfter(reply, err);
    }
  }

  @Post('mkdir')
  @HttpCode(201)
  @RequirePermission('files.write')
  @Audited('instance.files.mkdir', { target: 'instance', param: 'id' })
  @ApiDoc({
    summary: 'Create a directory (and missing parents)',
    tags: TAGS,
    errors: COMMON_ERRORS,
    responses: { 201: { description: 'The directory', schema: fileEntryResponse } },
  })
  mkdir(
    @CurrentPrincipal() p: Principal,
    @ValidParams(filesParams) params: FilesParams,
    @ValidBody(mkdirBody) body: z.infer<typeof mkdirBody>,
    @Audit() note: AuditNote,
  ) {
    note.details = { path: body.path };
    return this.files.mkdir(p, params.id, body.path);
  }

  @Post('move')
  @HttpCode(200)
  @RequirePermission('files.write')
  @Audited('instance.files.move', { target: 'instance', param: 'id' })
  @ApiDoc({
    summary:
      'Move or rename: {"moves": [{"from", "to"}], "overwrite"?} or one {"from", "to"}; an existing target is refused (path_exists) unless overwrite',
    tags: TAGS,
    errors: COMMON_ERRORS,
    responses: { 200: { description: 'What moved', schema: moveFilesResponse } },
  })
  move(
    @CurrentPrincipal() p: Principal,
    @ValidParams(filesParams) params: FilesParams,
    @ValidBody(moveFilesBody) body: z.infer<typeof moveFilesBody>,
    @Audit() note: AuditNote,
  ) {
    note.details = { moves: body.moves, overwrite: body.overwrite };
    return this.files.move(p, params.id, body.moves, body.overwrite);
  }
}

/**
 * A failed upload's body may still be arriving: answer, then close the connection instead of
 * reading (and discarding) the rest of it. A body cut off by the client is its doing, not ours.
 */
export function closeAfter(reply: FastifyReply, err: unknown): never {
  void reply.header('connection', 'close');
  const req = reply.request.raw;
  if (!(err instanceof DomainError) && !req.complete && req.destroyed)
    throw HTTP_ERRORS.incomplete_body.error('the request body ended before it was complete');
  throw err;
}

import { Controller, Delete, Get, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { LOG_HISTORY_MAX_LINES } from '@hostplane/protocol';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import { LiveConnections } from '../access/live-connections';
import type { Principal } from '../access/principal';
import { Audit, Audited, type AuditNote } from '../audit/audit-note';
import { attachmentDisposition } from '../http/content-disposition';
import { isoDateTime } from '../http/fields';
import { ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { InstanceLogsService } from './instance-logs.service';
import { instanceIdParams } from './instances.schemas';

const TAGS = ['instances'];

export const logDownloadQuery = z
  .object({
    since: isoDateTime().optional().describe('Only output written at or after this time (ISO 8601)'),
    until: isoDateTime().optional().describe('Only output written at or before this time (ISO 8601)'),
    lines: z.coerce
      .number({ message: 'must be a whole number' })
      .int({ message: 'must be a whole number' })
      .min(1, { message: 'must be at least 1' })
      .max(LOG_HISTORY_MAX_LINES, { message: `must be at most ${LOG_HISTORY_MAX_LINES}` })
      .optional()
      .describe('Only the last N lines (of the time range, when one is given)'),
    format: z
      .enum(['text', 'gzip'], { message: 'must be text or gzip' })
      .default('text')
      .describe('`gzip`: the same text gzip-compressed, as a .log.gz file'),
  })
  .refine((q) => !q.since || !q.until || Date.parse(q.since) <= Date.parse(q.until), {
    message: 'since must not be after until',
    path: ['since'],
  });

export const logsClearedResponse = z.object({
  instance_id: z.uuid(),
  files_removed: z.number().int().describe('Rotated files removed (the current log is truncated, not counted)'),
  bytes_removed: z.number().int(),
});

/** A download is cut off once its caller may no longer see the instance. */
const VIEW_INSTANCES = { kind: 'permission', permission: 'instances.view', sessionOnly: false } as const;

/** The output log history of an instance as a file, and clearing it on the node. */
@Controller('v1/instances/:id/logs')
export class InstanceLogsController {
  constructor(
    private readonly logs: InstanceLogsService,
    private readonly live: LiveConnections,
  ) {}

  @Get('download')
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'Download the output log history (rotated files and the current one) as one text file, oldest first',
    description:
      'Plain text (`text/plain`, LF line ends) or, with `?format=gzip`, the same text gzip-compressed (`application/gzip`, `.log.gz`); Accept-Encoding is not consulted. `X-Log-Time-Precision` says how `since`/`until` applied: `line` (docker) or `file` (process driver: whole rotated files).',
    tags: TAGS,
    errors: ['validation_failed', 'not_found', 'node_offline'],
    responses: {
      200: { description: 'The log, as an attachment', contentType: 'text/plain' },
    },
  })
  async download(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: z.infer<typeof instanceIdParams>,
    @ValidQuery(logDownloadQuery) q: z.infer<typeof logDownloadQuery>,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const dl = await this.logs.download(
      p,
      params.id,
      { since: q.since, until: q.until, lines: q.lines },
      q.format === 'gzip',
    );
    void reply
      .type(dl.gzip ? 'application/gzip' : 'text/plain; charset=utf-8')
      .header('content-disposition', attachmentDisposition(dl.filename))
      .header('x-log-time-precision', dl.timePrecision)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store');
    if (req.method === 'HEAD') {
      dl.cancel();
      void reply.send();
      return;
    }
    this.live.followResponse({ request: req, response: reply.raw, principal: p, rule: VIEW_INSTANCES });
    void reply.send(dl.body);
  }

  @Delete('clear')
  @RequirePermission('instances.logs.clear')
  @Audited('instance.logs.clear', { target: 'instance', param: 'id' })
  @ApiDoc({
    summary: "Clear the instance's output log history on its node: rotated files removed, the current log truncated",
    description: 'The running workload keeps writing; its next output starts the new log. Audited.',
    tags: TAGS,
    errors: ['not_found', 'node_offline'],
    responses: { 200: { description: 'What was removed', schema: logsClearedResponse } },
  })
  async clear(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: z.infer<typeof instanceIdParams>,
    @Audit() note: AuditNote,
  ) {
    const result = await this.logs.clear(p, params.id);
    note.details = { files_removed: result.files_removed, bytes_removed: result.bytes_removed };
    return result;
  }
}

import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { PlatformAdmin } from '../access/access.decorators';
import type { Page } from '../http/pagination';
import { ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { AuditRecord, csvHeader, csvLine, ndjsonLine } from './audit-format';
import { AuditExportQuery, auditExportQuery, AuditListQuery, auditListQuery, auditPage } from './audit.schemas';
import { AuditFilters, AuditService } from './audit.service';

function toFilters(q: Omit<AuditListQuery, 'limit' | 'offset'>): AuditFilters {
  return {
    actorId: q.actor_id,
    orgId: q.org_id,
    action: q.action,
    outcome: q.outcome,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
  };
}

@Controller('v1/admin/audit-logs')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @PlatformAdmin()
  @ApiDoc({
    summary: 'Audit log: every mutating request and auth event, newest first',
    tags: ['admin', 'audit'],
    responses: { 200: { description: 'A page of entries', schema: auditPage } },
  })
  list(@ValidQuery(auditListQuery) q: AuditListQuery): Promise<Page<AuditRecord>> {
    return this.audit.list(toFilters(q), { limit: q.limit, offset: q.offset });
  }

  @Get('export')
  @PlatformAdmin()
  @ApiDoc({
    summary: 'Export the audit log (streamed CSV or NDJSON, oldest first)',
    tags: ['admin', 'audit'],
    responses: {
      200: {
        description: 'Every matching entry; CSV with a header row, or one JSON object per line',
        contentType: 'application/x-ndjson',
      },
    },
  })
  export(@ValidQuery(auditExportQuery) q: AuditExportQuery, @Res() reply: FastifyReply): void {
    const rows = this.audit.exportRows(toFilters(q));
    const csv = q.format === 'csv';
    async function* lines(): AsyncGenerator<string> {
      if (csv) yield csvHeader();
      for await (const row of rows) yield csv ? csvLine(row) : ndjsonLine(row);
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    void reply
      .type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="hostplane-audit-${stamp}.${csv ? 'csv' : 'ndjson'}"`)
      .send(Readable.from(lines()));
  }
}

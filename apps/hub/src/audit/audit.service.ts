import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { HUB_LOGGER } from '../http/logger';
import type { Page, Pagination } from '../http/pagination';
import type { AuditActorType, AuditOutcome } from './audit-log.entity';
import { AUDIT_COLUMNS, AuditRecord } from './audit-format';

export interface AuditEntry {
  actorType: AuditActorType;
  actorId?: string | null;
  actorEmail?: string | null;
  apiTokenId?: string | null;
  orgId?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  outcome: AuditOutcome;
  statusCode?: number | null;
  requestId?: string | null;
  details?: Record<string, unknown> | null;
}

export interface AuditFilters {
  actorId?: string;
  orgId?: string;
  /** Exact action, or a prefix ending in `*` (`auth.*`). */
  action?: string;
  outcome?: AuditOutcome;
  from?: Date;
  to?: Date;
}

const EXPORT_BATCH = 1000;
const SELECT_COLUMNS = AUDIT_COLUMNS.map((c) => (c === 'id' ? 'id::text AS id' : c)).join(', ');

@Injectable()
export class AuditService implements BeforeApplicationShutdown {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly db: DataSource,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {}

  /** Writes an entry; failures are logged, never thrown at the request that caused them. */
  record(entry: AuditEntry): Promise<void> {
    const write = this.insert(entry)
      .catch((err: unknown) =>
        this.log.error({ reason: (err as Error).message, action: entry.action }, 'audit: could not write an entry'),
      )
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
    return write;
  }

  /** The actor, IP and user agent of a request, for entries recorded outside the audit hook. */
  fromRequest(req: FastifyRequest, entry: Omit<AuditEntry, 'actorType'> & { actorType?: AuditActorType }): AuditEntry {
    const p = req.principal;
    return {
      actorType: p ? p.kind : 'anonymous',
      actorId: p?.userId ?? null,
      actorEmail: p?.email ?? null,
      apiTokenId: p?.apiTokenId ?? null,
      orgId: p?.org?.id ?? null,
      ip: req.ip,
      userAgent: userAgentOf(req),
      requestId: String(req.id),
      ...entry,
    };
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async list(filters: AuditFilters, page: Pagination): Promise<Page<AuditRecord>> {
    const { where, params } = whereClause(filters);
    const [rows, count] = await Promise.all([
      this.db.query(
        `SELECT ${SELECT_COLUMNS} FROM audit_logs ${where} ORDER BY audit_logs.id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, page.limit, page.offset],
      ) as Promise<AuditRecord[]>,
      this.db.query(`SELECT count(*)::int AS n FROM audit_logs ${where}`, params) as Promise<{ n: number }[]>,
    ]);
    return { data: rows.map(toRecord), total: count[0]?.n ?? 0 };
  }

  /** Every matching row, oldest first, read in keyset batches so an export of millions stays small in memory. */
  async *exportRows(filters: AuditFilters): AsyncGenerator<AuditRecord> {
    const { where, params } = whereClause(filters);
    let after = '0';
    for (;;) {
      const cond = `${where ? `${where} AND` : 'WHERE'} audit_logs.id > $${params.length + 1}`;
      const rows = (await this.db.query(
        `SELECT ${SELECT_COLUMNS} FROM audit_logs ${cond} ORDER BY audit_logs.id LIMIT ${EXPORT_BATCH}`,
        [...params, after],
      )) as AuditRecord[];
      for (const row of rows) yield toRecord(row);
      if (rows.length < EXPORT_BATCH) return;
      after = String(rows[rows.length - 1]!.id);
    }
  }

  private async insert(e: AuditEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO audit_logs (actor_type, actor_id, actor_email, api_token_id, org_id, action, target_type, target_id, ip, user_agent, outcome, status_code, request_id, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        e.actorType,
        e.actorId ?? null,
        e.actorEmail ?? null,
        e.apiTokenId ?? null,
        e.orgId ?? null,
        e.action,
        e.targetType ?? null,
        e.targetId ?? null,
        e.ip ?? null,
        e.userAgent ?? null,
        e.outcome,
        e.statusCode ?? null,
        e.requestId ?? null,
        e.details ? JSON.stringify(e.details) : null,
      ],
    );
  }
}

export function userAgentOf(req: FastifyRequest): string | null {
  const ua = req.headers['user-agent'];
  return typeof ua === 'string' ? ua.slice(0, 512) : null;
}

function toRecord(row: AuditRecord): AuditRecord {
  const occurred = row.occurred_at;
  return { ...row, occurred_at: occurred instanceof Date ? occurred.toISOString() : occurred };
}

function whereClause(f: AuditFilters): { where: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    conds.push(sql.replace('?', `$${params.length}`));
  };
  if (f.actorId) add('actor_id = ?', f.actorId);
  if (f.orgId) add('org_id = ?', f.orgId);
  if (f.action?.endsWith('*')) add('action LIKE ?', f.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`) + '%');
  else if (f.action) add('action = ?', f.action);
  if (f.outcome) add('outcome = ?', f.outcome);
  if (f.from) add('occurred_at >= ?', f.from);
  if (f.to) add('occurred_at < ?', f.to);
  return { where: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
}

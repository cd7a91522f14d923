import { Inject, Injectable } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import type { JobOutcome } from '@hostplane/protocol';
import type { z } from 'zod';
import { EventsService } from '../events/events.service';
import { NotFoundError } from '../http/errors';
import { ClusterBus } from '../redis/cluster-bus';
import type { listOperationsQuery } from './operations.schemas';
import { FINAL_STATUSES, OperationEntity, OperationStatus } from './operation.entity';

export type OutcomeListener = (op: { id: string; orgId: string; nodeId: string | null; kind: string; payload: unknown }, outcome: JobOutcome) => unknown;

export type NewOperation = Pick<OperationEntity, 'id' | 'orgId' | 'nodeId' | 'kind' | 'payload' | 'resource' | 'resources' | 'actor' | 'mayCancel' | 'deadlineAt'>;

const OPEN: OperationStatus[] = ['queued', 'running', 'cancelling'];
const PRUNE_LOCK_KEY = 4_242_003;
/** Bus topic announcing that an operation reached a final state (wakes `/wait` on every replica). */
export const OPERATIONS_TOPIC = 'operations';

/** Every state change of an operation goes through here, so each is written once and announced once. */
@Injectable()
export class OperationsService {
  readonly repo: Repository<OperationEntity>;
  private readonly outcomeListeners: OutcomeListener[] = [];

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly events: EventsService,
    private readonly bus: ClusterBus,
  ) {
    this.repo = db.getRepository(OperationEntity);
  }

  /** Domains that own what a job acts on (instances) learn of each applied outcome here. */
  onOutcome(listener: OutcomeListener): void {
    this.outcomeListeners.push(listener);
  }

  async create(op: NewOperation): Promise<OperationEntity> {
    const row = this.repo.create({ ...op, status: 'queued', progressPercent: 0 });
    return this.repo.save(row);
  }

  get(id: string): Promise<OperationEntity | null> {
    return this.repo.findOne({ where: { id } });
  }

  async markRunning(id: string): Promise<void> {
    await this.db.query(
      `UPDATE operations SET status = CASE WHEN status = 'queued' THEN 'running' ELSE status END,
              started_at = COALESCE(started_at, now()), deliveries = deliveries + 1, updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'running', 'cancelling')`,
      [id],
    );
  }

  async progress(op: Pick<OperationEntity, 'id' | 'orgId'>, percent: number, message: string | undefined): Promise<void> {
    const rows = await this.updateReturning(
      `UPDATE operations SET progress_percent = GREATEST(progress_percent, $2), progress_message = COALESCE($3, progress_message), updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'running', 'cancelling') RETURNING id`,
      [op.id, percent, message ?? null],
    );
    if (rows.length) void this.events.publish(op.orgId, 'operation.progress', { operation_id: op.id, percent, message: message ?? null });
  }

  /** Applies an agent's outcome once; later copies of the same outcome change nothing. */
  async finalize(outcome: JobOutcome): Promise<OperationEntity | null> {
    const error = outcome.status === 'failed' ? outcome.error : outcome.status === 'cancelled' ? { code: 'cancelled', message: 'cancelled on request' } : null;
    const result = outcome.status === 'succeeded' ? (outcome.result ?? null) : null;
    const rows = await this.updateReturning(
      `UPDATE operations SET status = $2, result = $3, error = $4, finished_at = $5, updated_at = now(),
              progress_percent = CASE WHEN $2 = 'succeeded' THEN 100 ELSE progress_percent END,
              started_at = COALESCE(started_at, $5)
        WHERE id = $1 AND status IN ('queued', 'running', 'cancelling') RETURNING id, org_id, kind, payload, node_id`,
      [outcome.job_id, outcome.status, JSON.stringify(result), error ? JSON.stringify(error) : null, outcome.finished_at],
    );
    if (rows.length) {
      const row = rows[0]!;
      this.finished(String(row.org_id), outcome.job_id, outcome.status);
      for (const l of this.outcomeListeners) {
        void Promise.resolve(l({ id: outcome.job_id, orgId: String(row.org_id), nodeId: (row.node_id as string | null) ?? null, kind: String(row.kind), payload: row.payload }, outcome)).catch(
          () => undefined,
        );
      }
    }
    return rows.length ? this.get(outcome.job_id) : null;
  }

  async fail(id: string, code: string, message: string): Promise<void> {
    await this.finalize({ job_id: id, status: 'failed', error: { code, message }, finished_at: new Date().toISOString() });
  }

  /** Queued operations whose deadline passed: they will never be delivered. */
  async expireDue(): Promise<{ id: string; node_id: string | null; org_id: string }[]> {
    const rows = await this.updateReturning(
      `UPDATE operations SET status = 'expired', finished_at = now(), updated_at = now(),
              error = jsonb_build_object('code', 'expired', 'message', 'the node did not take the job before its deadline')
        WHERE status = 'queued' AND deadline_at < now() RETURNING id, node_id, org_id`,
      [],
    );
    for (const r of rows) this.finished(String(r.org_id), String(r.id), 'expired');
    return rows as { id: string; node_id: string | null; org_id: string }[];
  }

  async cancelQueued(id: string): Promise<boolean> {
    const rows = await this.updateReturning(
      `UPDATE operations SET status = 'cancelled', finished_at = now(), updated_at = now(),
              error = jsonb_build_object('code', 'cancelled', 'message', 'cancelled before it was delivered')
        WHERE id = $1 AND status = 'queued' RETURNING id, org_id`,
      [id],
    );
    if (rows.length) this.finished(String(rows[0]!.org_id), id, 'cancelled');
    return rows.length > 0;
  }

  async markCancelling(id: string): Promise<boolean> {
    const rows = await this.updateReturning(
      `UPDATE operations SET status = 'cancelling', updated_at = now() WHERE id = $1 AND status IN ('queued', 'running') RETURNING id`,
      [id],
    );
    return rows.length > 0;
  }

  /** Open operations (not final), for the sweeper that re-creates queue jobs Redis lost. */
  async openOlderThan(seconds: number, limit = 1000): Promise<OperationEntity[]> {
    return this.repo
      .createQueryBuilder('o')
      .where('o.status IN (:...open)', { open: OPEN })
      .andWhere(`o.created_at < now() - make_interval(secs => :s)`, { s: seconds })
      .andWhere('o.node_id IS NOT NULL')
      .orderBy('o.created_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  async list(orgId: string, q: z.infer<typeof listOperationsQuery>): Promise<{ data: OperationEntity[]; total: number }> {
    const qb = this.repo.createQueryBuilder('o').where('o.org_id = :orgId', { orgId });
    if (q.status) qb.andWhere('o.status = :status', { status: q.status });
    if (q.kind) qb.andWhere('o.kind = :kind', { kind: q.kind });
    if (q.node_id) qb.andWhere('o.node_id = :nodeId', { nodeId: q.node_id });
    if (q.resource) qb.andWhere('o.resources @> :res', { res: JSON.stringify([q.resource]) });
    if (q.from) qb.andWhere('o.created_at >= :from', { from: q.from });
    if (q.to) qb.andWhere('o.created_at < :to', { to: q.to });
    const [data, total] = await qb.orderBy('o.created_at', 'DESC').addOrderBy('o.id', 'DESC').skip(q.offset).take(q.limit).getManyAndCount();
    return { data, total };
  }

  async getInOrg(orgId: string, id: string): Promise<OperationEntity> {
    const op = await this.repo.findOneBy({ id, orgId });
    if (!op) throw new NotFoundError(`operation ${id}`);
    return op;
  }

  /** Every final transition ends here: the user event, and the wake-up of waiters on every replica. */
  private finished(orgId: string, id: string, status: OperationStatus): void {
    void this.events.publish(orgId, 'operation.completed', { operation_id: id, status });
    void this.bus.publish(OPERATIONS_TOPIC, { opId: id });
  }

  /** Removes finished operations older than the retention; once per cluster per run. */
  async pruneFinished(retentionSeconds: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const [{ locked }] = (await tx.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [PRUNE_LOCK_KEY])) as [{ locked: boolean }];
      if (!locked) return 0;
      const res = (await tx.query(
        `DELETE FROM operations WHERE status IN ('succeeded', 'failed', 'cancelled', 'expired') AND finished_at < now() - make_interval(secs => $1)`,
        [retentionSeconds],
      )) as [unknown, number];
      return res[1] ?? 0;
    });
  }

  static isFinal(status: OperationStatus): boolean {
    return (FINAL_STATUSES as readonly string[]).includes(status);
  }

  private async updateReturning(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    const res = (await this.db.query(sql, params)) as [Record<string, unknown>[], number] | Record<string, unknown>[];
    return Array.isArray(res[0]) ? (res[0] as Record<string, unknown>[]) : (res as Record<string, unknown>[]);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource, EntityManager, Repository } from 'typeorm';
import type { JobOutcome } from '@hostplane/protocol';
import type { z } from 'zod';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import { EventsService } from '../events/events.service';
import { NotFoundError } from '../http/errors';
import { HUB_LOGGER } from '../http/logger';
import { ClusterBus } from '../redis/cluster-bus';
import { JobQueues, NodeJobData } from './job-queues';
import type { listOperationsQuery } from './operations.schemas';
import { FINAL_STATUSES, OperationEntity, OperationStatus } from './operation.entity';

export type NewOperation = Pick<
  OperationEntity,
  'id' | 'orgId' | 'nodeId' | 'kind' | 'payload' | 'resource' | 'resources' | 'actor' | 'mayCancel' | 'deadlineAt'
>;

const OPEN: OperationStatus[] = ['queued', 'running', 'cancelling'];
const PRUNE_LOCK_KEY = 4_242_003;
/** How long a request waits for the queue add before answering (the operation is already recorded). */
const PUSH_WAIT_MS = 1500;
/** Bus topic announcing that an operation reached a final state (wakes `/wait` on every replica). */
export const OPERATIONS_TOPIC = 'operations';

/** An operation's place in line: operations on one (node, resource) are delivered one at a time. */
interface Chain {
  nodeId: string;
  resource: string;
}

const OPEN_SQL = `status IN (${OPEN.map((st) => `'${st}'`).join(', ')})`;

/**
 * Every state change of an operation goes through here, so each is written once and announced
 * once. It also keeps order per resource (decision 0016): an operation on a (node, resource)
 * enters its node's queue only when every earlier operation on that pair is final, so a delayed
 * or redelivered job keeps its place and later ones cannot overtake it.
 */
@Injectable()
export class OperationsService {
  readonly repo: Repository<OperationEntity>;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly events: EventsService,
    private readonly bus: ClusterBus,
    private readonly queues: JobQueues,
    private readonly domainEvents: DomainEventBus,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.repo = db.getRepository(OperationEntity);
  }

  /**
   * Records the operation and, if nothing earlier on its (node, resource) is still open, puts it in
   * its node's queue; otherwise the final state of the one before it does (see `promoteNext`).
   */
  async create(op: NewOperation): Promise<OperationEntity> {
    const { row, head } = await this.db.transaction(async (tx) => {
      const chain = chainOf(op);
      if (chain) await lockChain(tx, chain);
      const repo = tx.getRepository(OperationEntity);
      await repo.insert({ ...op, payload: op.payload as object, status: 'queued', progressPercent: 0 });
      const created = await repo.findOneByOrFail({ id: op.id });
      return { row: created, head: chain ? !(await hasOpenPredecessor(tx, chain, created.seq)) : true };
    });
    if (head && row.nodeId) await this.push(row);
    return row;
  }

  /**
   * Puts an open operation (back) in its node's queue if it is first in line; a no-op when
   * BullMQ still holds its job. An operation that is not first in line is queued by the final
   * state of the one before it.
   */
  async requeue(op: OperationEntity): Promise<boolean> {
    if (!op.nodeId || OperationsService.isFinal(op.status)) return false;
    const chain = chainOf(op);
    if (chain && (await hasOpenPredecessor(this.db.manager, chain, op.seq))) return false;
    await this.push(op);
    return true;
  }

  /**
   * Whether `op` may be delivered now: open, and nothing earlier on its (node, resource) is open. One query: it runs
   * for every delivery.
   */
  async mayDeliver(opId: string): Promise<'yes' | 'final' | 'waiting'> {
    const rows = (await this.db.query(
      `SELECT o.${OPEN_SQL} AS open,
              (o.resource IS NOT NULL AND o.node_id IS NOT NULL AND EXISTS (
                 SELECT 1 FROM operations p WHERE p.node_id = o.node_id AND p.resource = o.resource AND p.${OPEN_SQL} AND p.seq < o.seq)) AS waiting
         FROM operations o WHERE o.id = $1`,
      [opId],
    )) as { open: boolean; waiting: boolean }[];
    const row = rows[0];
    if (!row?.open) return 'final';
    return row.waiting ? 'waiting' : 'yes';
  }

  jobData(op: OperationEntity): NodeJobData {
    return {
      opId: op.id,
      orgId: op.orgId,
      kind: op.kind,
      payload: op.payload,
      resource: op.resource,
      deadlineAt: op.deadlineAt ? op.deadlineAt.toISOString() : null,
      createdAt: op.createdAt.toISOString(),
    };
  }

  /**
   * The operation is already durable in PostgreSQL, so a request never waits long on Redis: if
   * the add does not finish within a moment (Redis down), it completes when Redis returns, and
   * the requeue sweep covers a hub that dies before that.
   */
  private async push(op: OperationEntity): Promise<void> {
    const added = this.queues.addAndWake(op.nodeId!, this.jobData(op)).then(
      () => true,
      (err: unknown) => {
        this.log.warn(
          { opId: op.id, reason: (err as Error).message },
          'could not queue the operation now; the requeue sweep will',
        );
        return true;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      added,
      new Promise<false>((r) => (timer = setTimeout(() => r(false), PUSH_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (!waited)
      this.log.warn(
        { opId: op.id },
        'redis is slow or down: the operation is recorded and will be queued when it answers',
      );
  }

  /**
   * After an operation on `chain` became final: queue the first open one on that chain. Under the
   * chain's lock, so an operation created at the same moment either sees the final state (and
   * queues itself) or is seen here. If Redis is down the sweep queues it later.
   */
  private async promoteNext(chain: Chain): Promise<void> {
    try {
      const next = await this.db.transaction(async (tx) => {
        await lockChain(tx, chain);
        return tx
          .getRepository(OperationEntity)
          .createQueryBuilder('o')
          .where('o.node_id = :nodeId AND o.resource = :resource', chain)
          .andWhere(`o.${OPEN_SQL}`)
          .orderBy('o.seq', 'ASC')
          .getOne();
      });
      if (next) await this.push(next);
    } catch (err) {
      this.log.warn(
        { ...chain, reason: (err as Error).message },
        'could not queue the next operation on the resource; the requeue sweep will',
      );
    }
  }

  get(id: string): Promise<OperationEntity | null> {
    return this.repo.findOne({ where: { id } });
  }

  async markRunning(id: string): Promise<void> {
    await this.db.query(
      `UPDATE operations SET status = CASE WHEN status = 'queued' THEN 'running' ELSE status END,
              started_at = COALESCE(started_at, now()), deliveries = deliveries + 1, updated_at = now()
        WHERE id = $1 AND ${OPEN_SQL}`,
      [id],
    );
  }

  async progress(
    op: Pick<OperationEntity, 'id' | 'orgId'>,
    percent: number,
    message: string | undefined,
  ): Promise<void> {
    const rows = await this.updateReturning(
      `UPDATE operations SET progress_percent = GREATEST(progress_percent, $2), progress_message = COALESCE($3, progress_message), updated_at = now()
        WHERE id = $1 AND ${OPEN_SQL} RETURNING id`,
      [op.id, percent, message ?? null],
    );
    if (rows.length)
      void this.events.publish(op.orgId, 'operation.progress', {
        operation_id: op.id,
        percent,
        message: message ?? null,
      });
  }

  /** Applies an agent's outcome once; later copies of the same outcome change nothing. */
  async finalize(outcome: JobOutcome): Promise<OperationEntity | null> {
    const error =
      outcome.status === 'failed'
        ? outcome.error
        : outcome.status === 'cancelled'
          ? { code: 'cancelled', message: 'cancelled on request' }
          : null;
    const result = outcome.status === 'succeeded' ? (outcome.result ?? null) : null;
    const rows = await this.db.transaction(async (tx) => {
      const updated = await updateReturning(
        tx,
        `UPDATE operations SET status = $2, result = $3, error = $4, finished_at = $5, updated_at = now(),
                progress_percent = CASE WHEN $2 = 'succeeded' THEN 100 ELSE progress_percent END,
                started_at = COALESCE(started_at, $5)
          WHERE id = $1 AND ${OPEN_SQL} RETURNING id, org_id, kind, payload, node_id, resource`,
        [
          outcome.job_id,
          outcome.status,
          JSON.stringify(result),
          error ? JSON.stringify(error) : null,
          outcome.finished_at,
        ],
      );
      if (updated.length)
        await this.events.publish(
          String(updated[0]!.org_id),
          'operation.completed',
          { operation_id: outcome.job_id, status: outcome.status },
          tx,
        );
      return updated;
    });
    if (rows.length) {
      const row = rows[0]!;
      this.finished(row);
      // Domains that own what the job acted on (instances, backups, deployments) update their rows.
      const op = {
        id: outcome.job_id,
        orgId: String(row.org_id),
        nodeId: (row.node_id as string | null) ?? null,
        kind: String(row.kind),
        payload: row.payload,
      };
      this.domainEvents.publish('operation.finished', { op, outcome });
    }
    return rows.length ? this.get(outcome.job_id) : null;
  }

  async fail(id: string, code: string, message: string): Promise<void> {
    await this.finalize({
      job_id: id,
      status: 'failed',
      error: { code, message },
      finished_at: new Date().toISOString(),
    });
  }

  /** Queued operations whose deadline passed: they will never be delivered. */
  async expireDue(): Promise<{ id: string; node_id: string | null; org_id: string }[]> {
    const rows = await this.finalInTransaction(
      `UPDATE operations SET status = 'expired', finished_at = now(), updated_at = now(),
              error = jsonb_build_object('code', 'expired', 'message', 'the node did not take the job before its deadline')
        WHERE status = 'queued' AND deadline_at < now() RETURNING id, node_id, org_id, resource, 'expired' AS status`,
      [],
    );
    return rows as unknown as { id: string; node_id: string | null; org_id: string }[];
  }

  async cancelQueued(id: string): Promise<boolean> {
    const rows = await this.finalInTransaction(
      `UPDATE operations SET status = 'cancelled', finished_at = now(), updated_at = now(),
              error = jsonb_build_object('code', 'cancelled', 'message', 'cancelled before it was delivered')
        WHERE id = $1 AND status = 'queued' RETURNING id, node_id, org_id, resource, 'cancelled' AS status`,
      [id],
    );
    return rows.length > 0;
  }

  /** A final transition of any number of rows, with their `operation.completed` events in the same transaction. */
  private async finalInTransaction(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    const rows = await this.db.transaction(async (tx) => {
      const updated = await updateReturning(tx, sql, params);
      for (const r of updated)
        await this.events.publish(
          String(r.org_id),
          'operation.completed',
          { operation_id: String(r.id), status: String(r.status) },
          tx,
        );
      return updated;
    });
    for (const r of rows) this.finished(r);
    return rows;
  }

  async markCancelling(id: string): Promise<boolean> {
    const rows = await this.updateReturning(
      `UPDATE operations SET status = 'cancelling', updated_at = now() WHERE id = $1 AND status IN ('queued', 'running') RETURNING id`,
      [id],
    );
    return rows.length > 0;
  }

  /**
   * Open operations first in line on their (node, resource), for the sweeper that re-creates
   * queue jobs Redis lost; those behind them are queued when the ones before them end.
   */
  async openHeadsOlderThan(seconds: number, limit = 1000): Promise<OperationEntity[]> {
    return this.repo
      .createQueryBuilder('o')
      .where('o.status IN (:...open)', { open: OPEN })
      .andWhere(`o.created_at < now() - make_interval(secs => :s)`, { s: seconds })
      .andWhere('o.node_id IS NOT NULL')
      .andWhere(
        `(o.resource IS NULL OR NOT EXISTS (SELECT 1 FROM operations p WHERE p.node_id = o.node_id AND p.resource = o.resource AND p.${OPEN_SQL} AND p.seq < o.seq))`,
      )
      .orderBy('o.seq', 'ASC')
      .limit(limit)
      .getMany();
  }

  async list(
    orgId: string,
    q: z.infer<typeof listOperationsQuery>,
  ): Promise<{ data: OperationEntity[]; total: number }> {
    const qb = this.repo.createQueryBuilder('o').where('o.org_id = :orgId', { orgId });
    if (q.status) qb.andWhere('o.status = :status', { status: q.status });
    if (q.kind) qb.andWhere('o.kind = :kind', { kind: q.kind });
    if (q.node_id) qb.andWhere('o.node_id = :nodeId', { nodeId: q.node_id });
    if (q.resource) qb.andWhere('o.resources @> :res', { res: JSON.stringify([q.resource]) });
    if (q.from) qb.andWhere('o.created_at >= :from', { from: q.from });
    if (q.to) qb.andWhere('o.created_at < :to', { to: q.to });
    const [data, total] = await qb
      .orderBy('o.created_at', 'DESC')
      .addOrderBy('o.id', 'DESC')
      .skip(q.offset)
      .take(q.limit)
      .getManyAndCount();
    return { data, total };
  }

  async getInOrg(orgId: string, id: string): Promise<OperationEntity> {
    const op = await this.repo.findOneBy({ id, orgId });
    if (!op) throw new NotFoundError(`operation ${id}`);
    return op;
  }

  /**
   * Every final transition ends here, after its commit (its event was written in the same
   * transaction): publish the event, wake waiters on every replica, queue the next operation on
   * the same (node, resource).
   */
  private finished(row: Record<string, unknown>): void {
    this.events.flushOutbox();
    void this.bus.publish(OPERATIONS_TOPIC, { opId: String(row.id) });
    const chain = chainOf({
      nodeId: (row.node_id as string | null) ?? null,
      resource: (row.resource as string | null) ?? null,
    });
    if (chain) void this.promoteNext(chain);
  }

  /** Removes finished operations older than the retention; once per cluster per run. */
  async pruneFinished(retentionSeconds: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const [{ locked }] = (await tx.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [PRUNE_LOCK_KEY])) as [
        { locked: boolean },
      ];
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

  private updateReturning(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    return updateReturning(this.db.manager, sql, params);
  }
}

async function updateReturning(tx: EntityManager, sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  const res = (await tx.query(sql, params)) as [Record<string, unknown>[], number] | Record<string, unknown>[];
  return Array.isArray(res[0]) ? (res[0] as Record<string, unknown>[]) : (res as Record<string, unknown>[]);
}

function chainOf(op: { nodeId: string | null; resource: string | null }): Chain | null {
  return op.nodeId && op.resource ? { nodeId: op.nodeId, resource: op.resource } : null;
}

/** Serialises "create and check" against "find the next": held to the end of the transaction. */
async function lockChain(tx: EntityManager, chain: Chain): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 16))`, [`${chain.nodeId}/${chain.resource}`]);
}

async function hasOpenPredecessor(tx: EntityManager, chain: Chain, seq: number): Promise<boolean> {
  const rows = (await tx.query(
    `SELECT 1 FROM operations WHERE node_id = $1 AND resource = $2 AND ${OPEN_SQL} AND seq < $3 LIMIT 1`,
    [chain.nodeId, chain.resource, seq],
  )) as unknown[];
  return rows.length > 0;
}

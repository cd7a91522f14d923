import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, In, Repository } from 'typeorm';
import type { z } from 'zod';
import { inOrg, requireOrg, type Principal } from '../access/principal';
import { EventsService } from '../events/events.service';
import { ConflictError, DomainError, NotFoundError, ValidationFailedError } from '../http/errors';
import { InstancePlacement } from '../instances/instance-placement';
import { InstanceEntity, type InstanceRowState } from '../instances/instance.entity';
import { actorOf } from '../jobs/operation-actor';
import type { OperationActor } from '../jobs/operation.entity';
import { NodesService } from '../nodes/nodes.service';
import type { PlacementNode, PlacementRequest } from '../scheduler/placement';
import { PlannerService } from '../scheduler/planner.service';
import { WorkloadEntity } from '../workloads/workload.entity';
import { chooseTarget, reserveOn, type TargetChoice } from './migration-plan';
import { MigrationQueue } from './migration-queue';
import { MigrationEntity } from './migration.entity';
import { isCancellable, type listMigrationsQuery, type migrateNodeBody } from './migrations.schemas';
import { isUniqueViolation } from '../http/unique-names';

/** States an instance can be migrated from: it exists on its node and nothing else is happening to it. */
export const MIGRATABLE: readonly InstanceRowState[] = [
  'running',
  'stopped',
  'crashed',
  'starting',
  'stopping',
  'failed',
];

export class MigrationInProgressError extends DomainError {
  constructor(instanceId: string, migrationId: string | null) {
    super(
      `instance ${instanceId} is already being migrated${migrationId ? ` (migration ${migrationId})` : ''}`,
      'migration_in_progress',
      409,
      { migration_id: migrationId },
    );
  }
}

export class MigrationNotCancellableError extends DomainError {
  constructor(m: MigrationEntity) {
    super(
      m.status === 'queued' || m.status === 'running'
        ? `the migration is past the switch to the target node (step ${m.step}): it can only finish`
        : `the migration already ${m.status}`,
      'not_cancellable',
      409,
    );
  }
}

export class NoTargetFitsError extends DomainError {
  constructor(instance: InstanceEntity, choice: Extract<TargetChoice, { ok: false }>) {
    super(`no node can take instance ${instance.name}: ${choice.reason}`, 'no_node_fits', 409, {
      instance_id: instance.id,
      rejected: choice.rejected,
    });
  }
}

export interface Fleet {
  nodes: PlacementNode[];
  nameOf(id: string): string;
}

/** Migrations as the API sees them: planned and created here, run by the MigrationRunner. */
@Injectable()
export class MigrationsService {
  readonly repo: Repository<MigrationEntity>;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly placement: InstancePlacement,
    private readonly planner: PlannerService,
    private readonly nodes: NodesService,
    private readonly queue: MigrationQueue,
    private readonly events: EventsService,
  ) {
    this.repo = db.getRepository(MigrationEntity);
  }

  /** `POST /v1/nodes/{id}/migrate`: every instance is planned first (all fit, or nothing is created). */
  async migrateNode(p: Principal, nodeId: string, body: z.infer<typeof migrateNodeBody>): Promise<MigrationEntity[]> {
    const orgId = requireOrg(p).id;
    await this.nodes.get(p, nodeId);
    if (body.target_node_id === nodeId)
      throw new ValidationFailedError('body', [
        { path: 'target_node_id', message: 'is the node the instances are on: choose another node' },
      ]);
    if (body.target_node_id) await this.nodes.get(p, body.target_node_id);
    const instances = await this.instancesToMove(p, nodeId, body.instance_ids);
    const fleet = await this.fleet(orgId);
    const requests = await this.placementRequests(orgId, instances);
    const plan = instances.map((i) => {
      const choice = chooseTarget(requests.get(i.id)!, fleet.nodes, nodeId, fleet.nameOf, body.target_node_id);
      if (!choice.ok) throw new NoTargetFitsError(i, choice);
      reserveOn(fleet.nodes, choice.nodeId, requests.get(i.id)!.resources);
      return { instance: i, targetNodeId: choice.nodeId };
    });
    const batchId = randomUUID();
    const created = await this.db.transaction(async (tx) => {
      const out: MigrationEntity[] = [];
      for (const { instance, targetNodeId } of plan) {
        out.push(
          await this.insert(tx, {
            orgId,
            instance,
            targetNodeId,
            batchId,
            maxParallel: body.max_parallel,
            drainId: null,
            actor: actorOf(p),
          }),
        );
      }
      return out;
    });
    for (const m of created) await this.started(m);
    return created;
  }

  /** One migration of a drain (the drain loop planned its target). */
  async createForDrain(
    instance: InstanceEntity,
    targetNodeId: string,
    drain: { id: string; max_parallel: number; actor: { type: string; id: string } | null },
  ): Promise<MigrationEntity | null> {
    const actor: OperationActor = drain.actor
      ? { type: drain.actor.type === 'api_token' ? 'api_token' : 'user', id: drain.actor.id, name: 'drain' }
      : { type: 'system', id: null, name: 'drain' };
    try {
      const m = await this.db.transaction((tx) =>
        this.insert(tx, {
          orgId: instance.orgId,
          instance,
          targetNodeId,
          batchId: drain.id,
          maxParallel: drain.max_parallel,
          drainId: drain.id,
          actor,
        }),
      );
      await this.started(m);
      return m;
    } catch (err) {
      // Someone else (a user, another replica's pass) started a migration of it first.
      if (err instanceof MigrationInProgressError) return null;
      throw err;
    }
  }

  async list(
    p: Principal,
    q: z.infer<typeof listMigrationsQuery>,
  ): Promise<{ data: MigrationEntity[]; total: number }> {
    const qb = this.repo.createQueryBuilder('m').where('m.org_id = :org', { org: requireOrg(p).id });
    if (q.status) qb.andWhere('m.status = :status', { status: q.status });
    if (q.instance_id) qb.andWhere('m.instance_id = :instance', { instance: q.instance_id });
    if (q.node_id) qb.andWhere('(m.source_node_id = :node OR m.target_node_id = :node)', { node: q.node_id });
    if (q.drain_id) qb.andWhere('m.drain_id = :drain', { drain: q.drain_id });
    const [data, total] = await qb
      .orderBy('m.created_at', 'DESC')
      .addOrderBy('m.id', 'DESC')
      .skip(q.offset)
      .take(q.limit)
      .getManyAndCount();
    return { data, total };
  }

  async get(p: Principal, id: string): Promise<MigrationEntity> {
    const m = await this.repo.findOneBy(inOrg(p, { id }));
    if (!m) throw new NotFoundError(`migration ${id}`);
    return m;
  }

  async cancel(p: Principal, id: string): Promise<MigrationEntity> {
    const m = await this.get(p, id);
    if (!(await this.requestCancel(m.id))) throw new MigrationNotCancellableError((await this.repo.findOneBy({ id }))!);
    return (await this.repo.findOneBy({ id }))!;
  }

  /**
   * Asks the runner to stop and roll back; false once the migration switched nodes or ended.
   * The condition is re-checked against the row the switch locks, so a cancel never lands after it.
   */
  async requestCancel(id: string): Promise<boolean> {
    const res = (await this.db.query(
      `UPDATE migrations SET cancel_requested = true, updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'running') AND step IN ('stop', 'backup', 'transfer', 'create', 'restore', 'rollback') RETURNING id`,
      [id],
    )) as [unknown[], number];
    return res[0].length > 0;
  }

  /** Open migrations of a drain (also those queued behind its max_parallel). */
  openOfDrain(drainId: string): Promise<MigrationEntity[]> {
    return this.repo.find({ where: { drainId, status: In(['queued', 'running']) } });
  }

  /** The organization's nodes as the planner sees them (open migrations already reserve their targets). */
  async fleet(orgId: string): Promise<Fleet> {
    const { nodes, names } = await this.planner.nodesOf(orgId);
    return { nodes, nameOf: (id) => names.get(id) ?? id };
  }

  async placementRequests(orgId: string, instances: InstanceEntity[]): Promise<Map<string, PlacementRequest>> {
    const ids = [...new Set(instances.map((i) => i.workloadId).filter((w): w is string => w !== null))];
    const workloads = ids.length ? await this.db.getRepository(WorkloadEntity).findBy({ orgId, id: In(ids) }) : [];
    const labelsOf = new Map(workloads.map((w) => [w.id, w.spec.constraints?.node_labels ?? {}]));
    return new Map(
      instances.map((i) => [
        i.id,
        {
          driver: i.driver,
          resources: {
            cpu_cores: i.resources.cpu_cores ?? 0,
            memory_bytes: i.resources.memory_bytes ?? 0,
            disk_bytes: i.resources.disk_bytes ?? 0,
          },
          node_labels: (i.workloadId && labelsOf.get(i.workloadId)) || {},
          // A tenant's instance never moves to a node that cannot sandbox it.
          require_sandbox: i.spec.sandbox?.allow_unsandboxed !== true,
        },
      ]),
    );
  }

  private async instancesToMove(p: Principal, nodeId: string, ids: string[] | undefined): Promise<InstanceEntity[]> {
    const repo = this.db.getRepository(InstanceEntity);
    const rows = ids
      ? await repo.findBy(inOrg(p, { id: In(ids) }))
      : await repo.find({ where: inOrg(p, { nodeId }), order: { createdAt: 'ASC' } });
    if (ids) {
      const found = new Map(rows.map((r) => [r.id, r]));
      for (const id of ids) {
        const row = found.get(id);
        if (!row) throw new NotFoundError(`instance ${id}`);
        if (row.nodeId !== nodeId)
          throw new ConflictError(`instance ${row.name} is not on this node (it is on ${row.nodeId})`, 'not_on_node');
      }
    }
    if (rows.length === 0) throw new ConflictError('the node has no instances to migrate', 'nothing_to_migrate');
    for (const i of rows) {
      if (i.migrationId) throw new MigrationInProgressError(i.id, i.migrationId);
      if (!MIGRATABLE.includes(i.state))
        throw new ConflictError(
          `instance ${i.name} is ${i.state}: only ${MIGRATABLE.join(', ')} instances can be migrated`,
          'instance_busy',
        );
    }
    return rows;
  }

  private async insert(
    tx: DataSource['manager'],
    o: {
      orgId: string;
      instance: InstanceEntity;
      targetNodeId: string;
      batchId: string;
      maxParallel: number;
      drainId: string | null;
      actor: OperationActor;
    },
  ): Promise<MigrationEntity> {
    const id = randomUUID();
    // Claims the instance: only one migration at a time gets it (the unique index backs this up).
    if (!(await this.placement.claimForMigration(tx, o.instance.id, o.instance.nodeId, id)))
      throw new MigrationInProgressError(o.instance.id, null);
    try {
      return await tx.getRepository(MigrationEntity).save(
        tx.getRepository(MigrationEntity).create({
          id,
          orgId: o.orgId,
          instanceId: o.instance.id,
          sourceNodeId: o.instance.nodeId,
          targetNodeId: o.targetNodeId,
          batchId: o.batchId,
          maxParallel: o.maxParallel,
          drainId: o.drainId,
          status: 'queued',
          step: 'stop',
          progressPercent: 0,
          progressMessage: 'queued',
          bytesTransferred: '0',
          cancelRequested: false,
          actor: o.actor,
        }),
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new MigrationInProgressError(o.instance.id, null);
      throw err;
    }
  }

  private async started(m: MigrationEntity): Promise<void> {
    await this.queue.add(m.id);
    void this.events.publish(m.orgId, 'migration.queued', {
      migration_id: m.id,
      instance_id: m.instanceId,
      source_node_id: m.sourceNodeId,
      target_node_id: m.targetNodeId,
      drain_id: m.drainId,
      cancellable: isCancellable(m),
    });
  }
}

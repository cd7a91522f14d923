import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, Repository } from 'typeorm';
import type { z } from 'zod';
import { type AnyJob, type InstanceStatus, instanceStatus, type JobOutcome } from '@hostplane/protocol';
import { inOrg, requireOrg, type Principal } from '../access/principal';
import { EventsService } from '../events/events.service';
import { ConflictError, DomainError, NotFoundError } from '../http/errors';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { actorOf } from '../jobs/operation-actor';
import type { OperationEntity } from '../jobs/operation.entity';
import { OperationsService } from '../jobs/operations.service';
import { NodesService } from '../nodes/nodes.service';
import { PlannerService, requestOf } from '../scheduler/planner.service';
import { resolveVariables } from '../workloads/resolve-variables';
import { WorkloadsService } from '../workloads/workloads.service';
import { InstanceEntity, type InstanceRowState } from './instance.entity';
import { renderInstanceSpec } from './instance-spec';
import type { createInstanceBody, listInstancesQuery, updateInstanceBody } from './instances.schemas';

export class NoNodeFitsError extends DomainError {
  constructor(summary: string, rejected: { node_id: string; name: string; reasons: string[] }[]) {
    super(`no node can take this instance: ${summary}`, 'no_node_fits', 409, { rejected });
  }
}

export class InstanceBusyError extends DomainError {
  constructor(state: string, action: string) {
    super(`cannot ${action} an instance that is ${state}`, 'instance_busy', 409);
  }
}

export class InstanceMigratingError extends DomainError {
  constructor(action: string, migrationId: string) {
    super(`cannot ${action} an instance while it is being migrated (migration ${migrationId}): wait for it or cancel it`, 'instance_migrating', 409, { migration_id: migrationId });
  }
}

/** Instance lifecycle: placement, the jobs that act on the host, and the state the host reports. */
@Injectable()
export class InstancesService implements OnModuleInit {
  readonly repo: Repository<InstanceEntity>;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly workloads: WorkloadsService,
    private readonly planner: PlannerService,
    private readonly nodes: NodesService,
    private readonly jobs: JobDispatcher,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
  ) {
    this.repo = db.getRepository(InstanceEntity);
  }

  onModuleInit(): void {
    this.planner.useAllocations({ allocatedOn: (orgId, nodeIds) => this.allocatedOn(orgId, nodeIds) });
    this.nodes.setOccupancy({ countOn: (nodeId) => this.repo.countBy({ nodeId }) });
    this.workloads.setUsage({ countUsing: (workloadId) => this.repo.countBy({ workloadId }) });
    this.operations.onOutcome((op, outcome) => this.onOutcome(op, outcome));
  }

  async list(p: Principal, q: z.infer<typeof listInstancesQuery>) {
    const where = inOrg(p, { ...(q.node_id ? { nodeId: q.node_id } : {}), ...(q.state ? { state: q.state } : {}), ...(q.workload_id ? { workloadId: q.workload_id } : {}) });
    const [data, total] = await this.repo.findAndCount({ where, order: { createdAt: 'ASC' }, skip: q.offset, take: q.limit });
    return { data, total };
  }

  async get(p: Principal, id: string): Promise<InstanceEntity> {
    const i = await this.repo.findOneBy(inOrg(p, { id }));
    if (!i) throw new NotFoundError(`instance ${id}`);
    return i;
  }

  async create(p: Principal, body: z.infer<typeof createInstanceBody>): Promise<{ instance: InstanceEntity; operation: OperationEntity }> {
    const orgId = requireOrg(p).id;
    const workload = await this.workloads.get(p, body.workload_id);
    const resources = { ...workload.spec.resources, ...body.resources };
    const resolved = resolveVariables(workload.spec, body.variables, { memory_bytes: resources.memory_bytes });
    // Tenants' workloads only go where the node can confine them; platform admins may run unsandboxed.
    const placement = await this.planner.placeInOrg(orgId, { ...requestOf(workload.spec), resources, require_sandbox: !p.platformAdmin }, { strategy: body.strategy });
    let nodeId = placement.chosen?.node_id ?? null;
    if (body.node_id) {
      const fits = placement.ranked.some((r) => r.node_id === body.node_id);
      if (!fits) {
        const why = placement.rejected.find((r) => r.node_id === body.node_id);
        if (!why) await this.nodes.get(p, body.node_id);
        throw new NoNodeFitsError(why ? `${why.name}: ${why.reasons.join('; ')}` : 'the node is not available', why ? [why] : []);
      }
      nodeId = body.node_id;
    }
    if (!nodeId) throw new NoNodeFitsError(placement.summary, placement.rejected);
    const id = randomUUID();
    const spec = renderInstanceSpec({ instanceId: id, workload: workload.spec, resolved, image: body.image, resources, allowUnsandboxed: p.platformAdmin });
    let instance: InstanceEntity;
    try {
      instance = await this.repo.save(
        this.repo.create({
          id,
          orgId,
          name: body.name,
          workloadId: workload.id,
          workloadRevision: workload.revision,
          nodeId,
          driver: workload.spec.driver,
          variables: resolved.values,
          resources,
          spec,
          desiredState: body.start ? 'running' : 'stopped',
          state: 'pending',
          stateChangedAt: new Date(),
          createdBy: p.userId,
        }),
      );
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new ConflictError(`an instance named "${body.name}" already exists`, 'name_taken');
      throw err;
    }
    const operation = await this.enqueue(p, instance, { kind: 'instance.create', payload: { spec } });
    if (body.start) await this.enqueue(p, instance, { kind: 'instance.start', payload: { instance_id: id } });
    return { instance, operation };
  }

  async update(p: Principal, id: string, body: z.infer<typeof updateInstanceBody>) {
    const instance = await this.get(p, id);
    if (instance.migrationId) throw new InstanceMigratingError('update', instance.migrationId);
    if (!instance.workloadId) throw new ConflictError('the workload of this instance was deleted: its spec can no longer change', 'workload_gone');
    const workload = await this.workloads.get(p, instance.workloadId);
    const resources = { ...instance.resources, ...body.resources };
    const resolved = resolveVariables(workload.spec, { ...instance.variables, ...body.variables }, { memory_bytes: resources.memory_bytes });
    instance.spec = renderInstanceSpec({ instanceId: id, workload: workload.spec, resolved, image: instance.spec.image, resources, allowUnsandboxed: instance.spec.sandbox?.allow_unsandboxed === true && p.platformAdmin });
    instance.variables = resolved.values;
    instance.resources = resources;
    instance.workloadRevision = workload.revision;
    await this.repo.save(instance);
    const operation = await this.enqueue(p, instance, { kind: 'instance.update', payload: { spec: instance.spec } });
    return { instance, operation };
  }

  async act(p: Principal, id: string, action: 'start' | 'stop' | 'restart' | 'kill', signal?: string) {
    const instance = await this.get(p, id);
    if (instance.state === 'deleting') throw new InstanceBusyError(instance.state, action);
    if (instance.migrationId) throw new InstanceMigratingError(action, instance.migrationId);
    instance.desiredState = action === 'stop' || action === 'kill' ? 'stopped' : 'running';
    await this.repo.update({ id }, { desiredState: instance.desiredState });
    const job: AnyJob =
      action === 'kill'
        ? { kind: 'instance.kill', payload: { instance_id: id, signal: (signal ?? 'SIGKILL') as 'SIGKILL' } }
        : { kind: `instance.${action}`, payload: { instance_id: id } };
    return { instance, operation: await this.enqueue(p, instance, job) };
  }

  async remove(p: Principal, id: string) {
    const instance = await this.get(p, id);
    if (instance.migrationId) throw new InstanceMigratingError('delete', instance.migrationId);
    await this.repo.update({ id }, { state: 'deleting', desiredState: 'stopped', stateChangedAt: new Date() });
    instance.state = 'deleting';
    return { instance, operation: await this.enqueue(p, instance, { kind: 'instance.delete', payload: { instance_id: id } }) };
  }

  private enqueue(p: Principal, i: InstanceEntity, job: AnyJob): Promise<OperationEntity> {
    return this.jobs.enqueue({ orgId: i.orgId, nodeId: i.nodeId, actor: actorOf(p), resources: [`/v1/instances/${i.id}`, `/v1/nodes/${i.nodeId}`] }, job);
  }

  /** Host-reported state wins over what the hub assumed; a deleted instance's row goes. */
  private async onOutcome(op: { nodeId: string | null; kind: string; payload: unknown }, outcome: JobOutcome): Promise<void> {
    if (!op.kind.startsWith('instance.') || outcome.status !== 'succeeded') {
      if (op.kind === 'instance.create' && outcome.status === 'failed') {
        const id = (op.payload as { spec?: { instance_id?: string } }).spec?.instance_id;
        if (id) await this.setState(id, op.nodeId, 'failed', outcome.error.message, null, outcome.finished_at);
      }
      return;
    }
    if (op.kind === 'instance.delete') {
      const id = (op.payload as { instance_id: string }).instance_id;
      const row = await this.repo.findOneBy({ id });
      if (row && row.nodeId === op.nodeId) {
        await this.repo.delete({ id });
        void this.events.publish(row.orgId, 'instance.deleted', { instance_id: id });
      }
      return;
    }
    const status = instanceStatus.safeParse(outcome.result);
    if (status.success) await this.applyStatus(op.nodeId, status.data, outcome.finished_at);
  }

  /** `observedAt` is the host's clock; null (a reconnect's inventory) applies without moving that clock. */
  async applyStatus(nodeId: string | null, s: Pick<InstanceStatus, 'instance_id' | 'state' | 'reason' | 'exit_code'>, observedAt: string | null): Promise<void> {
    await this.setState(s.instance_id, nodeId, s.state, s.reason, s.exit_code, observedAt);
  }

  private async setState(id: string, nodeId: string | null, state: InstanceRowState, reason: string | null, exitCode: number | null, observedAt: string | null): Promise<void> {
    const rows = (await this.db.query(
      `UPDATE instances SET state = $3, state_reason = $4, exit_code = $5, state_observed_at = COALESCE($6::timestamptz, state_observed_at),
              state_changed_at = CASE WHEN state <> $3 THEN now() ELSE state_changed_at END, updated_at = now()
        WHERE id = $1 AND node_id = $2 AND state <> 'deleting' AND ($6::timestamptz IS NULL OR state_observed_at IS NULL OR state_observed_at <= $6::timestamptz)
        RETURNING org_id`,
      [id, nodeId, state, reason, exitCode, observedAt],
    )) as [{ org_id: string }[], number];
    const row = rows[0]?.[0];
    if (row) void this.events.publish(row.org_id, 'instance.state', { instance_id: id, state, reason, exit_code: exitCode });
  }

  /** What instances hold on each node, plus what open migrations reserve on their target until they switch to it. */
  private async allocatedOn(orgId: string, nodeIds: readonly string[]) {
    const rows = (await this.db.query(
      `SELECT node_id, sum((resources->>'cpu_cores')::float) AS cpu, sum((resources->>'memory_bytes')::float) AS mem, sum((resources->>'disk_bytes')::float) AS disk
         FROM (SELECT node_id, resources FROM instances WHERE org_id = $1 AND node_id = ANY($2::uuid[])
               UNION ALL
               SELECT m.target_node_id, i.resources FROM migrations m JOIN instances i ON i.id = m.instance_id
                WHERE m.org_id = $1 AND m.target_node_id = ANY($2::uuid[]) AND m.status IN ('queued', 'running') AND i.node_id <> m.target_node_id) held
        GROUP BY node_id`,
      [orgId, nodeIds],
    )) as { node_id: string; cpu: number; mem: number; disk: number }[];
    return new Map(rows.map((r) => [r.node_id, { cpu_cores: Number(r.cpu), memory_bytes: Number(r.mem), disk_bytes: Number(r.disk) }]));
  }
}

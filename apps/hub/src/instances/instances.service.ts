import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { type AnyJob, type InstanceStatus, instanceStatus, type JobOutcome } from '@hostplane/protocol';
import { inOrg, requireOrg, type Principal } from '../access/principal';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import { EventsService } from '../events/events.service';
import { DataSource, type EntityManager, Repository } from 'typeorm';
import { AllocationsService, NoFreeAllocationError } from '../allocations/allocations.service';
import { bindPorts, type PortSlot, portSlots } from '../allocations/port-plan';
import { ConflictError, DomainError, NotFoundError, ValidationFailedError } from '../http/errors';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { actorOf } from '../jobs/operation-actor';
import type { OperationEntity } from '../jobs/operation.entity';
import { NodesService } from '../nodes/nodes.service';
import { PlannerService, requestOf } from '../scheduler/planner.service';
import { resolveVariables } from '../workloads/resolve-variables';
import type { RawValue } from '../workloads/variable-rules';
import type { WorkloadEntity } from '../workloads/workload.entity';
import type { WorkloadResources, WorkloadSpec } from '../workloads/workload.schemas';
import { WorkloadsService } from '../workloads/workloads.service';
import { InstanceEntity, type InstanceRowState } from './instance.entity';
import { checkInstanceVariables, renderInstanceSpec } from './instance-spec';
import type { createInstanceBody, listInstancesQuery, updateInstanceBody } from './instances.schemas';
import { isUniqueViolation } from '../http/unique-names';

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
    super(
      `cannot ${action} an instance while it is being migrated (migration ${migrationId}): wait for it or cancel it`,
      'instance_migrating',
      409,
      { migration_id: migrationId },
    );
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
    private readonly domainEvents: DomainEventBus,
    private readonly events: EventsService,
    private readonly allocations: AllocationsService,
  ) {
    this.repo = db.getRepository(InstanceEntity);
  }

  onModuleInit(): void {
    this.domainEvents.on('operation.finished', ({ op, outcome }) => this.onOutcome(op, outcome));
  }

  async list(p: Principal, q: z.infer<typeof listInstancesQuery>) {
    const where = inOrg(p, {
      ...(q.node_id ? { nodeId: q.node_id } : {}),
      ...(q.state ? { state: q.state } : {}),
      ...(q.workload_id ? { workloadId: q.workload_id } : {}),
    });
    const [data, total] = await this.repo.findAndCount({
      where,
      order: { createdAt: 'ASC' },
      skip: q.offset,
      take: q.limit,
    });
    return { data, total };
  }

  async get(p: Principal, id: string): Promise<InstanceEntity> {
    const i = await this.repo.findOneBy(inOrg(p, { id }));
    if (!i) throw new NotFoundError(`instance ${id}`);
    return i;
  }

  async create(
    p: Principal,
    body: z.infer<typeof createInstanceBody>,
  ): Promise<{ instance: InstanceEntity; operation: OperationEntity }> {
    const orgId = requireOrg(p).id;
    const workload = await this.workloads.get(p, body.workload_id);
    const resources = { ...workload.spec.resources, ...body.resources };
    const slots = portSlots(workload.spec, body.variables);
    // Refused variables are a 400 before anything is placed or held.
    checkInstanceVariables(workload.spec, body.variables, resources.memory_bytes);
    const explicitNode = body.allocation_id ? await this.allocations.nodeOfFree(orgId, body.allocation_id) : undefined;
    if (explicitNode && body.node_id && explicitNode !== body.node_id) {
      throw new ValidationFailedError('body', [
        {
          path: 'allocation_id',
          message: `allocation ${body.allocation_id} belongs to node ${explicitNode}, not to node_id ${body.node_id}`,
        },
      ]);
    }
    const wantedNode = body.node_id ?? explicitNode;
    const ports = Math.max(slots.length, body.allocation_id ? 1 + (body.additional_allocation_ids?.length ?? 0) : 0);
    const id = randomUUID();
    // A concurrent create may take the last free port of the chosen node: place again (a chosen node is not re-placed).
    for (let attempt = 1; ; attempt++) {
      // Tenants' workloads only go where the node can confine them; platform admins may run unsandboxed.
      const placement = await this.planner.placeInOrg(
        orgId,
        { ...requestOf(workload.spec), resources, ports, require_sandbox: !p.platformAdmin },
        { strategy: body.strategy },
      );
      let nodeId = placement.chosen?.node_id ?? null;
      if (wantedNode) {
        const fits = placement.ranked.some((r) => r.node_id === wantedNode);
        if (!fits) {
          const why = placement.rejected.find((r) => r.node_id === wantedNode);
          if (!why) await this.nodes.get(p, wantedNode);
          throw new NoNodeFitsError(
            why ? `${why.name}: ${why.reasons.join('; ')}` : 'the node is not available',
            why ? [why] : [],
          );
        }
        nodeId = wantedNode;
      }
      if (!nodeId) throw new NoNodeFitsError(placement.summary, placement.rejected);
      const nodeName = placement.ranked.find((r) => r.node_id === nodeId)?.name ?? nodeId;
      try {
        const instance = await this.insertWithPorts(p, body, {
          id,
          orgId,
          nodeId,
          nodeName,
          workload,
          resources,
          slots,
        });
        const operation = await this.enqueue(p, instance, {
          kind: 'instance.create',
          payload: { spec: instance.spec },
        });
        if (body.start) await this.enqueue(p, instance, { kind: 'instance.start', payload: { instance_id: id } });
        return { instance, operation };
      } catch (err) {
        if (err instanceof NoFreeAllocationError && !wantedNode && attempt < 3) continue;
        throw err;
      }
    }
  }

  /** The instance row and its allocations in one transaction: either both exist or neither. */
  private async insertWithPorts(
    p: Principal,
    body: z.infer<typeof createInstanceBody>,
    c: {
      id: string;
      orgId: string;
      nodeId: string;
      nodeName: string;
      workload: WorkloadEntity;
      resources: WorkloadResources;
      slots: PortSlot[];
    },
  ): Promise<InstanceEntity> {
    try {
      return await this.db.transaction(async (tx) => {
        const held = await this.allocations.claim(
          tx,
          {
            orgId: c.orgId,
            nodeId: c.nodeId,
            instanceId: c.id,
            slots: c.slots,
            primaryId: body.allocation_id,
            additionalIds: body.additional_allocation_ids,
          },
          c.nodeName,
        );
        const binding = bindPorts(c.workload.spec, c.slots, held, c.workload.spec.driver);
        const resolved = resolveVariables(c.workload.spec, body.variables, {
          memory_bytes: c.resources.memory_bytes,
          ...binding.context,
          assigned: binding.variables,
        });
        const spec = renderInstanceSpec({
          instanceId: c.id,
          workload: c.workload.spec,
          resolved,
          image: body.image,
          resources: c.resources,
          ports: binding.ports,
          allowUnsandboxed: p.platformAdmin,
        });
        return tx.getRepository(InstanceEntity).save(
          tx.getRepository(InstanceEntity).create({
            id: c.id,
            orgId: c.orgId,
            name: body.name,
            workloadId: c.workload.id,
            workloadRevision: c.workload.revision,
            nodeId: c.nodeId,
            driver: c.workload.spec.driver,
            variables: resolved.values,
            resources: c.resources,
            spec,
            desiredState: body.start ? 'running' : 'stopped',
            state: 'pending',
            stateChangedAt: new Date(),
            createdBy: p.userId,
          }),
        );
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ConflictError(`an instance named "${body.name}" already exists`, 'name_taken');
      throw err;
    }
  }

  async update(p: Principal, id: string, body: z.infer<typeof updateInstanceBody>) {
    const instance = await this.get(p, id);
    if (instance.migrationId) throw new InstanceMigratingError('update', instance.migrationId);
    if (!instance.workloadId)
      throw new ConflictError(
        'the workload of this instance was deleted: its spec can no longer change',
        'workload_gone',
      );
    const workload = await this.workloads.get(p, instance.workloadId);
    instance.resources = { ...instance.resources, ...body.resources };
    // Only a platform admin keeps an instance's permission to run unsandboxed.
    await this.rerender(
      instance,
      workload.spec,
      { ...instance.variables, ...body.variables },
      undefined,
      instance.spec.sandbox?.allow_unsandboxed === true && p.platformAdmin,
    );
    instance.workloadRevision = workload.revision;
    await this.repo.save(instance);
    const operation = await this.enqueue(p, instance, { kind: 'instance.update', payload: { spec: instance.spec } });
    return { instance, operation };
  }

  /**
   * The spec again from the workload, the variables and the allocations the instance holds on its
   * node (after a variable change, or a port added or removed). Does not save.
   */
  async rerender(
    instance: InstanceEntity,
    spec: WorkloadSpec,
    variables: Record<string, RawValue>,
    tx?: EntityManager,
    allowUnsandboxed = instance.spec.sandbox?.allow_unsandboxed === true,
  ): Promise<void> {
    const held = await this.allocations.heldBy(instance.id, instance.nodeId, tx);
    // A port variable keeps its allocated port: it is the hub's value, not the user's.
    const given = Object.fromEntries(
      Object.entries(variables).filter(([k]) => !held.some((a) => a.portName === k.toLowerCase().replace(/_/g, '-'))),
    );
    const slots = portSlots(spec, given);
    const binding = bindPorts(spec, slots, held, spec.driver);
    const resolved = resolveVariables(spec, given, {
      memory_bytes: instance.resources.memory_bytes,
      ...binding.context,
      assigned: binding.variables,
    });
    instance.spec = renderInstanceSpec({
      instanceId: instance.id,
      workload: spec,
      resolved,
      image: instance.spec.image,
      resources: instance.resources,
      ports: binding.ports,
      allowUnsandboxed,
    });
    instance.variables = resolved.values;
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
    return {
      instance,
      operation: await this.enqueue(p, instance, { kind: 'instance.delete', payload: { instance_id: id } }),
    };
  }

  enqueue(p: Principal, i: InstanceEntity, job: AnyJob): Promise<OperationEntity> {
    return this.jobs.enqueue(
      {
        orgId: i.orgId,
        nodeId: i.nodeId,
        actor: actorOf(p),
        resources: [`/v1/instances/${i.id}`, `/v1/nodes/${i.nodeId}`],
      },
      job,
    );
  }

  /** Host-reported state wins over what the hub assumed; a deleted instance's row goes. */
  private async onOutcome(
    op: { nodeId: string | null; kind: string; payload: unknown },
    outcome: JobOutcome,
  ): Promise<void> {
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
        await this.db.transaction(async (tx) => {
          await this.allocations.releaseAll(tx, id);
          await tx.delete(InstanceEntity, { id });
        });
        void this.events.publish(row.orgId, 'instance.deleted', { instance_id: id });
      }
      return;
    }
    const status = instanceStatus.safeParse(outcome.result);
    if (status.success) await this.applyStatus(op.nodeId, status.data, outcome.finished_at);
  }

  /** `observedAt` is the host's clock; null (a reconnect's inventory) applies without moving that clock. */
  async applyStatus(
    nodeId: string | null,
    s: Pick<InstanceStatus, 'instance_id' | 'state' | 'reason' | 'exit_code'>,
    observedAt: string | null,
  ): Promise<void> {
    await this.setState(s.instance_id, nodeId, s.state, s.reason, s.exit_code, observedAt);
  }

  private async setState(
    id: string,
    nodeId: string | null,
    state: InstanceRowState,
    reason: string | null,
    exitCode: number | null,
    observedAt: string | null,
  ): Promise<void> {
    const rows = (await this.db.query(
      `UPDATE instances SET state = $3, state_reason = $4, exit_code = $5, state_observed_at = COALESCE($6::timestamptz, state_observed_at),
              state_changed_at = CASE WHEN state <> $3 THEN now() ELSE state_changed_at END, updated_at = now()
        WHERE id = $1 AND node_id = $2 AND state <> 'deleting' AND ($6::timestamptz IS NULL OR state_observed_at IS NULL OR state_observed_at <= $6::timestamptz)
        RETURNING org_id`,
      [id, nodeId, state, reason, exitCode, observedAt],
    )) as [{ org_id: string }[], number];
    const row = rows[0]?.[0];
    if (row)
      void this.events.publish(row.org_id, 'instance.state', { instance_id: id, state, reason, exit_code: exitCode });
  }
}

import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DataSource, In, Repository } from 'typeorm';
import { inOrg, requireOrg, type Principal } from '../access/principal';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import { EventsService } from '../events/events.service';
import { ConflictError, NotFoundError } from '../http/errors';
import { HUB_LOGGER } from '../http/logger';
import type { InstanceEntity } from '../instances/instance.entity';
import { checkInstanceVariables } from '../instances/instance-spec';
import { InstancesService } from '../instances/instances.service';
import { OperationsService } from '../jobs/operations.service';
import { importEgg } from '../workloads/egg-import';
import { findTemplate } from '../workloads/templates';
import type { WorkloadEntity } from '../workloads/workload.entity';
import type { WorkloadSpec } from '../workloads/workload.schemas';
import { specFromTemplate, TemplateNotFoundError, WorkloadsService } from '../workloads/workloads.service';
import type { CreateDeploymentBody, InstanceView } from './deploy.schemas';
import {
  DEPLOYMENT_STATUSES,
  DeploymentEntity,
  type DeploymentStatus,
  FINAL_DEPLOYMENT_STATUSES,
} from './deployment.entity';
import { deriveStatus, statusRank } from './deployment-status';

interface Plan {
  source: DeploymentEntity['source'];
  /** The workload to create, or null to use `existing`. */
  spec: WorkloadSpec | null;
  existing: WorkloadEntity | null;
  warnings: string[];
}

/**
 * One-click deploy: a template, an egg or an existing workload → (a workload) → an instance,
 * installed then started. Everything that can be refused is checked before anything is written;
 * a refusal after the workload was created removes it again, so a failed request changes nothing.
 * The deployment's status is derived from its operations and its instance (see deriveStatus) and
 * re-derived whenever one of them reports, and on every read.
 */
@Injectable()
export class DeployService implements OnModuleInit {
  readonly repo: Repository<DeploymentEntity>;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly workloads: WorkloadsService,
    private readonly instances: InstancesService,
    private readonly operations: OperationsService,
    private readonly domainEvents: DomainEventBus,
    private readonly events: EventsService,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.repo = db.getRepository(DeploymentEntity);
  }

  onModuleInit(): void {
    this.domainEvents.on('operation.finished', ({ op }) => {
      if (op.kind !== 'instance.create' && op.kind !== 'instance.start') return;
      const payload = op.payload as { instance_id?: string; spec?: { instance_id?: string } };
      const instanceId = payload.instance_id ?? payload.spec?.instance_id;
      if (instanceId) return this.refreshForInstance(instanceId);
    });
    this.domainEvents.on('instance.state', ({ frame }) => this.refreshForInstance(frame.instance_id));
  }

  async create(p: Principal, body: CreateDeploymentBody): Promise<DeploymentEntity> {
    const orgId = requireOrg(p).id;
    const plan = await this.plan(p, body);
    const spec = plan.spec ?? plan.existing!.spec;
    // The instance's own checks, before anything is written.
    checkInstanceVariables(spec, body.variables, { ...spec.resources, ...body.resources }.memory_bytes);
    if (await this.instances.repo.existsBy({ orgId, name: body.name }))
      throw new ConflictError(`an instance named "${body.name}" already exists`, 'name_taken');

    const workload = plan.spec ? await this.workloads.create(p, plan.spec) : plan.existing!;
    const row = this.repo.create({
      id: randomUUID(),
      orgId,
      name: body.name,
      source: plan.source,
      template: body.template ?? null,
      workloadId: workload.id,
      workloadCreated: plan.spec !== null,
      instanceId: null,
      nodeId: null,
      start: body.start,
      status: 'pending',
      createOperationId: null,
      startOperationId: null,
      error: null,
      warnings: plan.warnings,
      createdBy: p.userId,
    });
    let instance: InstanceEntity;
    try {
      await this.repo.insert(row);
      const created = await this.instances.create(p, {
        name: body.name,
        workload_id: workload.id,
        variables: body.variables,
        node_id: body.node_id,
        strategy: body.strategy,
        image: body.image,
        resources: body.resources,
        allocation_id: body.allocation_id,
        start: false,
      });
      instance = created.instance;
      row.createOperationId = created.operation.id;
    } catch (err) {
      await this.repo.delete({ id: row.id }).catch(() => undefined);
      if (plan.spec)
        await this.workloads
          .delete(p, workload.id)
          .catch((e: Error) =>
            this.log.warn(
              { workloadId: workload.id, reason: e.message },
              'removing the workload of a refused deployment failed',
            ),
          );
      throw err;
    }
    row.instanceId = instance.id;
    row.nodeId = instance.nodeId;
    // Queued behind the create on the same resource, so the agent starts it once installed.
    if (body.start) row.startOperationId = (await this.instances.act(p, instance.id, 'start')).operation.id;
    await this.repo.update(
      { id: row.id },
      {
        instanceId: row.instanceId,
        nodeId: row.nodeId,
        createOperationId: row.createOperationId,
        startOperationId: row.startOperationId,
      },
    );
    void this.events.publish(orgId, 'deployment.created', {
      deployment_id: row.id,
      instance_id: instance.id,
      workload_id: workload.id,
      status: row.status,
    });
    // Anything that finished before the row knew its operations is picked up here.
    return this.refresh(row);
  }

  async get(p: Principal, id: string): Promise<{ deployment: DeploymentEntity; instance: InstanceView | null }> {
    const found = await this.repo.findOneBy(inOrg(p, { id }));
    if (!found) throw new NotFoundError(`deployment ${id}`);
    const deployment = await this.refresh(found);
    const instance = deployment.instanceId
      ? await this.instances.repo.findOneBy({ id: deployment.instanceId, orgId: deployment.orgId })
      : null;
    return { deployment, instance };
  }

  async list(p: Principal, q: { limit: number; offset: number; status?: DeploymentStatus }) {
    const [rows, total] = await this.repo.findAndCount({
      where: inOrg(p, q.status ? { status: q.status } : {}),
      order: { createdAt: 'DESC', id: 'DESC' },
      skip: q.offset,
      take: q.limit,
    });
    const data = await Promise.all(rows.map((r) => this.refresh(r)));
    const ids = data.map((d) => d.instanceId).filter((i): i is string => i !== null);
    const instances = ids.length ? await this.instances.repo.findBy({ id: In(ids), orgId: requireOrg(p).id }) : [];
    const byId = new Map(instances.map((i) => [i.id, i]));
    return {
      data: data.map((deployment) => ({
        deployment,
        instance: deployment.instanceId ? (byId.get(deployment.instanceId) ?? null) : null,
      })),
      total,
    };
  }

  private async plan(p: Principal, body: CreateDeploymentBody): Promise<Plan> {
    const name = body.workload_name ?? body.name;
    if (body.workload_id)
      return { source: 'workload', spec: null, existing: await this.workloads.get(p, body.workload_id), warnings: [] };
    let plan: Plan;
    if (body.template !== undefined) {
      const template = findTemplate(body.template);
      if (!template) throw new TemplateNotFoundError('template', body.template);
      plan = {
        source: 'template',
        spec: specFromTemplate(template, { name, size: body.size }),
        existing: null,
        warnings: [],
      };
    } else {
      const imported = importEgg(body.egg, { name, ports: body.ports });
      plan = { source: 'egg', spec: imported.spec, existing: null, warnings: imported.warnings };
    }
    if (await this.workloads.repo.existsBy({ orgId: requireOrg(p).id, name })) {
      throw new ConflictError(
        `a workload named "${name}" already exists in this organization: give another workload_name, or deploy it with workload_id`,
        'name_taken',
      );
    }
    return plan;
  }

  private async refreshForInstance(instanceId: string): Promise<void> {
    try {
      const open = await this.repo.findBy({
        instanceId,
        status: In(DEPLOYMENT_STATUSES.filter((s) => !FINAL_DEPLOYMENT_STATUSES.includes(s))),
      });
      for (const d of open) await this.refresh(d);
    } catch (err) {
      this.log.warn({ instanceId, reason: (err as Error).message }, 'updating a deployment status failed');
    }
  }

  /** Re-derives the status of an unfinished deployment and stores it when it moved forward. */
  private async refresh(d: DeploymentEntity): Promise<DeploymentEntity> {
    if (FINAL_DEPLOYMENT_STATUSES.includes(d.status) || !d.createOperationId) return d;
    const opIds = [d.createOperationId, d.startOperationId].filter((i): i is string => i !== null);
    const ops = new Map((await this.operations.repo.findBy({ id: In(opIds) })).map((o) => [o.id, o]));
    const instance = d.instanceId ? await this.instances.repo.findOneBy({ id: d.instanceId }) : null;
    const view = (id: string | null) => {
      const o = id ? ops.get(id) : undefined;
      return o ? { status: o.status, error: o.error } : null;
    };
    const derived = deriveStatus({
      start: d.start,
      createOp: view(d.createOperationId),
      startOp: view(d.startOperationId),
      instance,
    });
    if (statusRank(derived.status) <= statusRank(d.status)) return d;
    const behind = DEPLOYMENT_STATUSES.filter((s) => statusRank(s) < statusRank(derived.status));
    const res = (await this.db.query(
      `UPDATE deployments SET status = $2, error = $3, updated_at = now() WHERE id = $1 AND status = ANY($4::text[]) RETURNING id`,
      [d.id, derived.status, derived.error ? JSON.stringify(derived.error) : null, behind],
    )) as [unknown[], number];
    if ((res[1] ?? 0) > 0) {
      void this.events.publish(d.orgId, 'deployment.status', {
        deployment_id: d.id,
        instance_id: d.instanceId,
        status: derived.status,
        error: derived.error,
      });
    }
    return (await this.repo.findOneBy({ id: d.id })) ?? d;
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { requireOrg, type Principal } from '../access/principal';
import { ValidationFailedError } from '../http/errors';
import { NodeEntity } from '../nodes/node.entity';
import { portSlots } from '../allocations/port-plan';
import { findTemplate } from '../workloads/templates';
import type { WorkloadSpec } from '../workloads/workload.schemas';
import { TemplateNotFoundError, WorkloadsService } from '../workloads/workloads.service';
import { NODE_ALLOCATIONS, toPlacementNode, type NodeAllocations, type NodeCapacityRow } from './node-capacity';
import {
  describePlacement,
  place,
  type PlacementNode,
  type PlacementOptions,
  type PlacementRequest,
  type PlacementResources,
} from './placement';
import type { PlacementResponse, RecommendBody, RecommendResponse, SuggestFitBody } from './planner.schemas';
import { chooseSize, type SizeCandidate } from './recommend';

interface OrgNodes {
  nodes: PlacementNode[];
  names: Map<string, string>;
}

/**
 * Placement over an organization's nodes: reads what the scheduler needs from `nodes`, adds
 * what `NodeAllocations` says is reserved, and runs the pure `place()`. The instances domain
 * calls `placeInOrg` to pick a node and provides its allocations as `NODE_ALLOCATIONS`.
 */
@Injectable()
export class PlannerService {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly workloads: WorkloadsService,
    @Inject(NODE_ALLOCATIONS) private readonly allocations: NodeAllocations,
  ) {}

  async nodesOf(orgId: string): Promise<OrgNodes> {
    const rows = await this.db
      .getRepository(NodeEntity)
      .createQueryBuilder('n')
      .select('n.id', 'id')
      .addSelect('n.name', 'name')
      .addSelect('n.status', 'status')
      .addSelect('n.schedulable', 'schedulable')
      .addSelect('n.drivers', 'drivers')
      .addSelect('n.labels', 'labels')
      .addSelect('n.capacity', 'capacity')
      .addSelect(`n.inventory->'system'->'cpu_cores'`, 'inv_cpu')
      .addSelect(`n.inventory->'system'->'memory_total_bytes'`, 'inv_mem')
      .addSelect(`n.inventory->'disks'`, 'inv_disks')
      .addSelect('(SELECT count(*) FROM allocations a WHERE a.node_id = n.id AND a.instance_id IS NULL)', 'free_ports')
      .where('n.org_id = :org', { org: orgId })
      .orderBy('n.id')
      .getRawMany<NodeCapacityRow>();
    const allocated = await this.allocations.allocatedOn(
      orgId,
      rows.map((r) => r.id),
    );
    return {
      nodes: rows.map((r) => toPlacementNode(r, allocated.get(r.id))),
      names: new Map(rows.map((r) => [r.id, r.name])),
    };
  }

  async placeInOrg(
    orgId: string,
    request: PlacementRequest,
    options: PlacementOptions = {},
  ): Promise<PlacementResponse> {
    return present(await this.nodesOf(orgId), request, options);
  }

  async suggestFit(p: Principal, body: SuggestFitBody): Promise<PlacementResponse> {
    const org = requireOrg(p).id;
    let request: PlacementRequest;
    if (body.workload_id) {
      const { spec } = await this.workloads.get(p, body.workload_id);
      request = {
        ...requestOf(spec),
        ...(body.resources ? { resources: body.resources } : {}),
        ...(body.node_labels ? { node_labels: body.node_labels } : {}),
      };
    } else {
      request = {
        driver: body.driver!,
        resources: body.resources!,
        node_labels: body.node_labels ?? {},
        ports: body.ports ?? 0,
      };
    }
    return this.placeInOrg(org, request, {
      strategy: body.strategy,
      rankLimit: body.limit,
      explainLimit: body.explain,
    });
  }

  async recommend(p: Principal, body: RecommendBody): Promise<RecommendResponse> {
    const org = requireOrg(p).id;
    let subject: RecommendResponse['subject'];
    let spec: WorkloadSpec;
    let candidates: Omit<SizeCandidate, 'fitting'>[];
    let preferred: string;
    if (body.workload_id) {
      const row = await this.workloads.get(p, body.workload_id);
      spec = row.spec;
      subject = { kind: 'workload', id: row.id, name: row.name };
      const origin = spec.source?.template ? findTemplate(spec.source.template) : undefined;
      candidates = [
        { name: 'declared', resources: spec.resources, note: 'what the workload declares' },
        ...(origin?.sizes ?? []),
      ];
      preferred = 'declared';
    } else {
      const template = findTemplate(body.template!);
      if (!template) throw new TemplateNotFoundError('template', body.template!);
      spec = template.spec;
      subject = { kind: 'template', id: template.id, name: template.name };
      candidates = template.sizes;
      preferred = template.default_size;
    }
    if (body.size && !candidates.some((c) => c.name === body.size)) {
      throw new ValidationFailedError('body', [
        {
          path: 'size',
          message: `${subject.kind} ${subject.name} has no size "${body.size}"; it has: ${candidates.map((c) => c.name).join(', ')}`,
        },
      ]);
    }

    const fleet = await this.nodesOf(org);
    const base = requestOf(spec);
    const options = { strategy: body.strategy, rankLimit: body.limit, explainLimit: body.explain };
    const sized = candidates.map((c) => ({
      ...c,
      fitting: place({ ...base, resources: c.resources }, fleet.nodes, { ...options, explainLimit: 0, rankLimit: 1 })
        .fitting,
    }));
    const { chosen, reasons } = chooseSize(sized, body.size ?? preferred, body.size !== undefined, fleet.nodes.length);
    return {
      subject,
      size: chosen.name,
      resources: chosen.resources,
      variables: chosen.variables ?? {},
      reasons,
      sizes: sized.map((s) => ({ name: s.name, resources: s.resources, note: s.note, fitting: s.fitting })),
      placement: present(fleet, { ...base, resources: chosen.resources }, options),
    };
  }
}

export function requestOf(spec: WorkloadSpec): PlacementRequest {
  return {
    driver: spec.driver,
    resources: spec.resources,
    node_labels: spec.constraints.node_labels,
    ports: portSlots(spec).length,
  };
}

function present({ nodes, names }: OrgNodes, request: PlacementRequest, options: PlacementOptions): PlacementResponse {
  const result = place(request, nodes, options);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const nameOf = (id: string) => names.get(id) ?? id;
  const placed = (r: { node_id: string; score: number }) => ({
    node_id: r.node_id,
    name: nameOf(r.node_id),
    score: r.score,
    free: freeAfter(byId.get(r.node_id)!, request.resources),
  });
  return {
    strategy: result.strategy,
    request: {
      driver: request.driver as PlacementResponse['request']['driver'],
      resources: request.resources,
      node_labels: { ...request.node_labels },
      ports: request.ports ?? 0,
    },
    summary: describePlacement(result, nameOf),
    chosen: result.ranked[0] ? placed(result.ranked[0]) : null,
    ranked: result.ranked.map(placed),
    rejected: result.rejected.map((r) => ({ node_id: r.node_id, name: nameOf(r.node_id), reasons: r.reasons })),
    rejected_counts: result.rejected_counts,
    evaluated: result.evaluated,
    fitting: result.fitting,
    rejected_total: result.rejected_total,
  };
}

function freeAfter(node: PlacementNode, need: PlacementResources): PlacementResources {
  const left = (cap: number, used: number, want: number) => Math.max(0, cap - used - want);
  return {
    cpu_cores: Math.round(left(node.capacity.cpu_cores, node.allocated.cpu_cores, need.cpu_cores) * 100) / 100,
    memory_bytes: left(node.capacity.memory_bytes, node.allocated.memory_bytes, need.memory_bytes),
    disk_bytes: left(node.capacity.disk_bytes, node.allocated.disk_bytes, need.disk_bytes),
  };
}

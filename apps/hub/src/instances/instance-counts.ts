import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { NodeOccupancy } from '../nodes/node-capabilities';
import type { NodeAllocations } from '../scheduler/node-capacity';
import type { PlacementResources } from '../scheduler/placement';
import type { WorkloadUsage } from '../workloads/workloads.service';

/**
 * What the instances table says to the domains below it: how many instances stand on a node
 * (nodes: drain, delete), what they reserve (scheduler) and how many use a workload (workloads).
 * Reads only, on the instances domain's own table.
 */
@Injectable()
export class InstanceCounts implements NodeOccupancy, NodeAllocations, WorkloadUsage {
  constructor(@Inject(DataSource) private readonly db: DataSource) {}

  async countOn(nodeId: string): Promise<number> {
    const [row] = (await this.db.query(`SELECT count(*)::int AS n FROM instances WHERE node_id = $1`, [nodeId])) as {
      n: number;
    }[];
    return row?.n ?? 0;
  }

  async countUsing(workloadId: string): Promise<number> {
    const [row] = (await this.db.query(`SELECT count(*)::int AS n FROM instances WHERE workload_id = $1`, [
      workloadId,
    ])) as { n: number }[];
    return row?.n ?? 0;
  }

  /** What instances hold on each node, plus what open migrations reserve on their target until they switch to it. */
  async allocatedOn(orgId: string, nodeIds: readonly string[]): Promise<ReadonlyMap<string, PlacementResources>> {
    const rows = (await this.db.query(
      `SELECT node_id, sum((resources->>'cpu_cores')::float) AS cpu, sum((resources->>'memory_bytes')::float) AS mem, sum((resources->>'disk_bytes')::float) AS disk
         FROM (SELECT node_id, resources FROM instances WHERE org_id = $1 AND node_id = ANY($2::uuid[])
               UNION ALL
               SELECT m.target_node_id, i.resources FROM migrations m JOIN instances i ON i.id = m.instance_id
                WHERE m.org_id = $1 AND m.target_node_id = ANY($2::uuid[]) AND m.status IN ('queued', 'running') AND i.node_id <> m.target_node_id) held
        GROUP BY node_id`,
      [orgId, nodeIds],
    )) as { node_id: string; cpu: number; mem: number; disk: number }[];
    return new Map(
      rows.map((r) => [
        r.node_id,
        { cpu_cores: Number(r.cpu), memory_bytes: Number(r.mem), disk_bytes: Number(r.disk) },
      ]),
    );
  }
}

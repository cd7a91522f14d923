import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ParallelsInventory } from '@hostplane/protocol';
import { inOrg, type Principal } from '../access/principal';
import { DomainError, NotFoundError } from '../http/errors';
import type { OperationEntity } from '../jobs/operation.entity';
import { NodesService } from '../nodes/nodes.service';
import { hostResources, sumResources, type HostResources } from './machine-resources';
import {
  normalizeArch,
  placeMachine,
  type PlacementCandidate,
  type PlacementChoice,
  type PlacementRequest,
} from './machine-placement';
import { MachinesService } from './machines.service';

const MIB = 2 ** 20;

/** A VM asked for by a clone still queued, running, or done but not yet in its node's inventory. */
interface PendingClone {
  node_id: string;
  source: string;
  cpus: number | null;
  memory_mb: number | null;
  disk_mb: number | null;
}

/** A node as the orchestrator reads it: its row with the Parallels part of its inventory only. */
interface HostRow {
  id: string;
  name: string;
  status: string;
  schedulable: boolean;
  labels: Record<string, string>;
  inventoryUpdatedAt: Date | null;
  parallels: ParallelsInventory | null;
}

export interface HostResourcesView extends HostResources {
  node_id: string;
  node_name: string;
  status: string;
  /** false: cordoned (the seed's "disabled" host); placement skips it. */
  schedulable: boolean;
  architecture: string;
  license: ParallelsInventory['license'];
  inventory_updated_at: string | null;
}

/**
 * The orchestrator views of the seed, with the hub as the orchestrator: resources of every
 * Parallels host from the node inventories (no agent is asked), and a VM created "somewhere":
 * placed on the best host, then cloned there by the ordinary `machines.clone` operation.
 */
@Injectable()
export class MachineOrchestrator {
  constructor(
    private readonly nodes: NodesService,
    private readonly machines: MachinesService,
    private readonly db: DataSource,
  ) {}

  /** The organization's nodes with only the Parallels part of each inventory (not its processes). */
  private async orgNodes(p: Principal): Promise<HostRow[]> {
    const rows = (await this.db.query(
      `SELECT id, name, status, schedulable, labels, inventory_updated_at, inventory->'parallels' AS parallels
         FROM nodes WHERE org_id = $1 ORDER BY name LIMIT 500`,
      [inOrg(p, {}).orgId],
    )) as {
      id: string;
      name: string;
      status: string;
      schedulable: boolean;
      labels: Record<string, string> | null;
      inventory_updated_at: Date | null;
      parallels: ParallelsInventory | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      status: r.status,
      schedulable: r.schedulable,
      labels: r.labels ?? {},
      inventoryUpdatedAt: r.inventory_updated_at,
      parallels: r.parallels,
    }));
  }

  /** Clones the inventory does not show yet, per node (so two quick creates do not both take the last slot). */
  private async pendingClones(orgId: string): Promise<Map<string, PendingClone[]>> {
    const rows = (await this.db.query(
      `SELECT o.node_id,
              o.payload->'params'->>'vm' AS source,
              (o.payload->'params'->>'cpus')::int AS cpus,
              (o.payload->'params'->>'memory_mb')::int AS memory_mb,
              (o.payload->'params'->>'disk_mb')::int AS disk_mb
         FROM operations o JOIN nodes n ON n.id = o.node_id
        WHERE o.org_id = $1 AND o.kind = 'host.operation' AND o.payload->>'operation' = 'machines.clone'
          AND (o.status IN ('queued', 'running')
               OR (o.status = 'succeeded' AND o.finished_at > COALESCE(n.inventory_updated_at, 'epoch')))`,
      [orgId],
    )) as PendingClone[];
    const out = new Map<string, PendingClone[]>();
    for (const r of rows) out.set(r.node_id, [...(out.get(r.node_id) ?? []), r]);
    return out;
  }

  /** The node's Parallels inventory with its pending clones counted in, as stopped VMs sized as asked. */
  private withPending(p: ParallelsInventory, pending: readonly PendingClone[]): ParallelsInventory {
    if (pending.length === 0) return p;
    const extra = pending.map((c, i) => {
      const source = p.machines.find((m) => m.id === c.source || m.name === c.source);
      return {
        id: `pending-${i}`,
        name: `pending-${i}`,
        state: 'stopped' as const,
        os: source?.os ?? 'other',
        template: false,
        cpus: c.cpus ?? source?.cpus ?? 0,
        memory_bytes: c.memory_mb !== null ? c.memory_mb * MIB : (source?.memory_bytes ?? 0),
        disk_bytes: c.disk_mb !== null ? c.disk_mb * MIB : (source?.disk_bytes ?? 0),
      };
    });
    return { ...p, machines: [...p.machines, ...extra] };
  }

  private view(n: HostRow, inv: ParallelsInventory): HostResourcesView {
    return {
      node_id: n.id,
      node_name: n.name,
      status: n.status,
      schedulable: n.schedulable,
      architecture: normalizeArch(inv.hardware.arch),
      license: inv.license,
      inventory_updated_at: n.inventoryUpdatedAt?.toISOString() ?? null,
      ...hostResources(inv),
    };
  }

  /** Totals over every Parallels host of the organization, and each host's own figures. */
  async overview(p: Principal) {
    const nodes = await this.orgNodes(p);
    const hosts = nodes.flatMap((n) => (n.parallels ? [this.view(n, n.parallels)] : []));
    return { ...sumResources(hosts), hosts_count: hosts.length, hosts };
  }

  async host(p: Principal, nodeId: string): Promise<HostResourcesView> {
    const node = await this.nodes.get(p, nodeId);
    const inv = node.inventory?.parallels;
    if (!inv) throw new NotFoundError(`Parallels Desktop resources of node ${nodeId} (no parallels inventory)`);
    return this.view({ ...node, labels: node.labels ?? {}, parallels: inv }, inv);
  }

  /** The host a VM would go to, and why every other host would not take it. */
  async place(p: Principal, req: PlacementRequest) {
    const nodes = await this.orgNodes(p);
    const pending = await this.pendingClones(inOrg(p, {}).orgId);
    const candidates: PlacementCandidate[] = nodes.map((n) => ({
      id: n.id,
      name: n.name,
      online: n.status === 'online',
      schedulable: n.schedulable,
      labels: n.labels,
      parallels: n.parallels ? this.withPending(n.parallels, pending.get(n.id) ?? []) : null,
    }));
    return placeMachine(req, candidates);
  }

  /** Places the VM, then queues its clone on the chosen host; 409 `no_node_fits` names every host's reasons. */
  async create(
    p: Principal,
    req: PlacementRequest & { name: string; linked: boolean },
  ): Promise<{ operation: OperationEntity; placement: PlacementChoice }> {
    if (req.source.kind !== 'vm') throw new Error('only VM sources are placed (catalog is refused earlier)');
    // The parameters are checked (400 invalid_argument) before anything is placed.
    const params = {
      vm: req.source.name,
      name: req.name,
      cpus: req.cpus,
      memory_mb: req.memory_mb,
      ...(req.linked ? { linked: true } : {}),
      ...(req.disk_mb !== null ? { disk_mb: req.disk_mb } : {}),
    };
    this.machines.check('machines.clone', params);
    const { chosen, rejected } = await this.place(p, req);
    if (!chosen) {
      const summary = rejected.map((r) => `${r.node_name}: ${r.reasons.join('; ')}`).join(' | ');
      throw new DomainError(
        `no host can take this VM${summary ? `: ${summary.slice(0, 1500)}` : ' (the organization has no nodes)'}`,
        'no_node_fits',
        409,
        { rejected },
      );
    }
    const operation = await this.machines.write(p, chosen.node_id, 'machines.clone', params);
    return { operation, placement: chosen };
  }
}

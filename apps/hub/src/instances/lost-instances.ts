import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { InstanceSpec } from '@hostplane/protocol';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { EventsService } from '../events/events.service';
import { HUB_LOGGER } from '../http/logger';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { PeriodicWork } from '../periodic/periodic-work';
import { AllocationsService, NoFreeAllocationError } from '../allocations/allocations.service';
import { remapPorts } from '../allocations/port-plan';
import { PlannerService } from '../scheduler/planner.service';
import { InstanceEntity } from './instance.entity';

const SYSTEM = { type: 'system' as const, id: null, name: 'lost-node' };
const LOCK_MS = 60_000;

interface LostRow {
  id: string;
  org_id: string;
  node_id: string;
  node_name: string;
  since: Date | null;
}

/**
 * Instances of a node that stays away longer than their workload's `lost_after_seconds` become
 * `unknown` (a hub-side state; the host never reports it). With `replace_when_lost` the instance
 * is placed again on another node: the same instance id moves there and is created fresh (install
 * script included, no data). If its node returns first, the reconciler at `hello` puts the
 * host-reported state back; if it returns after the replacement, the reconciler removes the
 * duplicate from it. One replica at a time runs the pass.
 */
@Injectable()
export class LostInstances implements OnApplicationBootstrap {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly planner: PlannerService,
    private readonly allocations: AllocationsService,
    private readonly jobs: JobDispatcher,
    private readonly events: EventsService,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
    private readonly periodic: PeriodicWork,
  ) {}

  onApplicationBootstrap(): void {
    this.periodic.register({
      kind: 'instances.lost',
      everyMs: this.config.migrations.sweepSeconds * 1000,
      maxRunMs: LOCK_MS,
      run: () => this.sweep(),
    });
  }

  async sweep(): Promise<void> {
    try {
      // PeriodicWork runs this once per period across replicas, under a lock of maxRunMs.
      await this.markLost();
      await this.replaceLost();
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'lost-instance sweep failed');
    }
  }

  async markLost(): Promise<number> {
    const res = (await this.db.query(
      `UPDATE instances i SET state = 'unknown', state_changed_at = now(), updated_at = now(),
              state_reason = 'node ' || n.name || ' unreachable since ' || to_char(COALESCE(n.last_seen_at, n.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
         FROM nodes n, workloads w
        WHERE n.id = i.node_id AND w.id = i.workload_id AND n.status <> 'online' AND i.migration_id IS NULL
          AND i.state NOT IN ('unknown', 'deleting', 'pending')
          AND w.spec ? 'lost_after_seconds'
          AND COALESCE(n.last_seen_at, n.created_at) < now() - make_interval(secs => (w.spec->>'lost_after_seconds')::int)
        RETURNING i.id, i.org_id, i.node_id, n.name AS node_name, COALESCE(n.last_seen_at, n.created_at) AS since`,
    )) as [LostRow[], number];
    for (const r of res[0]) {
      this.log.warn({ instanceId: r.id, nodeId: r.node_id }, 'instance lost with its node');
      void this.events.publish(r.org_id, 'instance.state', {
        instance_id: r.id,
        state: 'unknown',
        reason: `node ${r.node_name} unreachable`,
        exit_code: null,
      });
      void this.events.publish(r.org_id, 'instance.lost', {
        instance_id: r.id,
        node_id: r.node_id,
        since: r.since ? new Date(r.since).toISOString() : null,
      });
    }
    return res[0].length;
  }

  async replaceLost(): Promise<number> {
    const rows = (await this.db.query(
      `SELECT i.id FROM instances i JOIN nodes n ON n.id = i.node_id JOIN workloads w ON w.id = i.workload_id
        WHERE i.state = 'unknown' AND n.status <> 'online' AND i.migration_id IS NULL AND (w.spec->>'replace_when_lost')::boolean
        ORDER BY i.created_at LIMIT 200`,
    )) as { id: string }[];
    let replaced = 0;
    for (const { id } of rows) if (await this.replace(id)) replaced++;
    return replaced;
  }

  /** Moves the instance to a node that fits and creates it there from scratch; false when none fits yet. */
  private async replace(id: string): Promise<boolean> {
    const repo = this.db.getRepository(InstanceEntity);
    const i = await repo.findOneBy({ id });
    if (!i || i.state !== 'unknown') return false;
    const labels = (await this.db.query(
      `SELECT spec->'constraints'->'node_labels' AS labels FROM workloads WHERE id = $1`,
      [i.workloadId],
    )) as { labels: Record<string, string> | null }[];
    const placement = await this.planner.placeInOrg(i.orgId, {
      driver: i.driver,
      resources: {
        cpu_cores: i.resources.cpu_cores ?? 0,
        memory_bytes: i.resources.memory_bytes ?? 0,
        disk_bytes: i.resources.disk_bytes ?? 0,
      },
      node_labels: labels[0]?.labels ?? {},
      require_sandbox: i.spec.sandbox?.allow_unsandboxed !== true,
      ports: (await this.allocations.heldBy(id, i.nodeId)).length,
    });
    const target = placement.chosen?.node_id;
    if (!target || target === i.nodeId) {
      const reason = `node lost; no node can take a replacement yet: ${placement.summary}`;
      if (i.stateReason !== reason) {
        await repo.update({ id, state: 'unknown' }, { stateReason: reason });
        void this.events.publish(i.orgId, 'instance.replace_pending', {
          instance_id: id,
          node_id: i.nodeId,
          reason: placement.summary,
        });
      }
      return false;
    }
    // The node, the ports (taken on the target, given back on the lost node) and the spec move together.
    const targetName = placement.chosen?.name ?? target;
    let spec: InstanceSpec | null;
    try {
      spec = await this.db.transaction(async (tx) => {
        const moved = (await tx.query(
          `UPDATE instances SET node_id = $3, state = 'pending', state_reason = $4, exit_code = NULL, state_observed_at = NULL, state_changed_at = now(), updated_at = now()
            WHERE id = $1 AND node_id = $2 AND state = 'unknown' AND migration_id IS NULL RETURNING id`,
          [id, i.nodeId, target, `replacing the instance lost with node ${i.nodeId}`],
        )) as [unknown[], number];
        if (!moved[0].length) return null;
        const remapped = remapPorts(
          i.spec,
          i.variables,
          await this.allocations.claimMirror(tx, i.orgId, id, i.nodeId, target, targetName),
        );
        await tx.getRepository(InstanceEntity).update({ id }, { spec: remapped.spec, variables: remapped.variables });
        await this.allocations.release(tx, id, i.nodeId);
        return remapped.spec;
      });
    } catch (err) {
      // Another create took the target's last ports since placement: the next pass places again.
      if (err instanceof NoFreeAllocationError) return false;
      throw err;
    }
    if (!spec) return false;
    const resources = [`/v1/instances/${id}`, `/v1/nodes/${target}`];
    const create = await this.jobs.enqueue(
      { orgId: i.orgId, nodeId: target, actor: SYSTEM, resources },
      { kind: 'instance.create', payload: { spec } },
    );
    if (i.desiredState === 'running')
      await this.jobs.enqueue(
        { orgId: i.orgId, nodeId: target, actor: SYSTEM, resources },
        { kind: 'instance.start', payload: { instance_id: id } },
      );
    this.log.warn({ instanceId: id, from: i.nodeId, to: target }, 'replaced a lost instance on another node');
    void this.events.publish(i.orgId, 'instance.replaced', {
      instance_id: id,
      from_node_id: i.nodeId,
      to_node_id: target,
      data: 'fresh',
      create_operation_id: create.id,
    });
    return true;
  }
}

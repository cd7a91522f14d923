import { Inject, Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { EventsService } from '../events/events.service';
import { HUB_LOGGER } from '../http/logger';
import { InstancePlacement } from '../instances/instance-placement';
import { InstanceEntity } from '../instances/instance.entity';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { deadlinePassed, finishDrain, newIssues, normalizeDrain, updateDrain } from '../nodes/drain';
import { type DrainState, NodeEntity } from '../nodes/node.entity';
import type { DrainDriver } from '../nodes/node-capabilities';
import { NodesService } from '../nodes/nodes.service';
import { PeriodicWork } from '../periodic/periodic-work';
import { withClusterLock } from '../redis/cluster-lock';
import { RedisService } from '../redis/redis.service';
import { chooseTarget, reserveOn } from './migration-plan';
import { MigrationRunner } from './migration-runner';
import { MIGRATABLE, MigrationsService } from './migrations.service';

const SYSTEM = { type: 'system' as const, id: null, name: 'drain' };
const PASS_LOCK_MS = 60_000;
const API_WAIT_MS = 5000;
/** Keys of the drain block the loop owns; the rest (deadline, force, max_parallel) belong to the API. */
type LoopKeys = Pick<
  DrainState,
  'status' | 'updated_at' | 'remaining' | 'migrated' | 'unplaceable' | 'failed' | 'stopped' | 'completed_reason'
>;

/**
 * Moves a draining node's instances off, `max_parallel` migrations at a time; an instance that
 * fits nowhere is reported (with the planner's reason) and tried again on every pass; at the
 * deadline (or with force) what has not switched to another node yet is stopped in place. A pass
 * runs when a drain starts or one of its migrations ends, and periodically on every replica (one
 * at a time per node), so a drain carries on across hub restarts: its state is in `nodes.drain`.
 */
@Injectable()
export class DrainEviction implements OnModuleInit, OnApplicationBootstrap {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly placement: InstancePlacement,
    private readonly nodes: NodesService,
    private readonly migrations: MigrationsService,
    private readonly runner: MigrationRunner,
    private readonly jobs: JobDispatcher,
    private readonly events: EventsService,
    private readonly redis: RedisService,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
    private readonly periodic: PeriodicWork,
  ) {}

  onModuleInit(): void {
    this.runner.onFinished((m) => {
      if (m.drainId) void this.advance(m.sourceNodeId);
    });
  }

  onApplicationBootstrap(): void {
    // Passes are also locked per node: a request advances a drain between the periodic passes.
    this.periodic.register({
      kind: 'migrations.drain',
      everyMs: this.config.migrations.sweepSeconds * 1000,
      maxRunMs: PASS_LOCK_MS,
      run: () => this.tick(),
    });
  }

  /** One drain pass; PeriodicWork never starts a pass while the last one runs. */
  async tick(): Promise<void> {
    try {
      const rows = (await this.db.query(`SELECT id FROM nodes WHERE drain->>'status' = 'draining'`)) as {
        id: string;
      }[];
      for (const r of rows) await this.advance(r.id);
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'drain pass failed');
    }
  }

  /** One pass for one node; skipped (after `waitMs`) while another replica, or this one, is in a pass for it. */
  async advance(nodeId: string, waitMs = 0): Promise<void> {
    const until = Date.now() + waitMs;
    try {
      for (;;) {
        const ran = await withClusterLock(
          this.redis,
          `drain:${nodeId}`,
          PASS_LOCK_MS,
          async () => (await this.pass(nodeId), true),
        );
        if (ran || Date.now() >= until) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    } catch (err) {
      this.log.warn({ nodeId, reason: (err as Error).message }, 'drain pass failed; the next one retries');
    }
  }

  private async pass(nodeId: string): Promise<void> {
    const node = await this.nodes.repo.findOneBy({ id: nodeId });
    if (!node?.drain || node.drain.status !== 'draining') return;
    const drain = normalizeDrain(node.drain);
    if (drain.force || deadlinePassed(drain)) return this.stopInPlace(node, drain, drain.force ? 'force' : 'deadline');

    const onNode = await this.instancesOn(nodeId);
    const open = await this.migrations.openOfDrain(drain.id);
    const failed = await this.failedOf(drain.id, onNode);
    const failedIds = new Set(failed.map((f) => f.instance_id));
    const candidates = onNode.filter((i) => !i.migrationId && !failedIds.has(i.id));
    let slots = drain.max_parallel - open.length;
    const unplaceable: { instance_id: string; reason: string }[] = [];
    if (candidates.length) {
      const fleet = await this.migrations.fleet(node.orgId);
      const requests = await this.migrations.placementRequests(node.orgId, candidates);
      for (const i of candidates) {
        if (!MIGRATABLE.includes(i.state)) {
          unplaceable.push({
            instance_id: i.id,
            reason: `the instance is ${i.state}: only ${MIGRATABLE.join(', ')} instances can be migrated`,
          });
          continue;
        }
        const request = requests.get(i.id)!;
        const choice = chooseTarget(request, fleet.nodes, nodeId, fleet.nameOf);
        if (!choice.ok) {
          unplaceable.push({ instance_id: i.id, reason: choice.reason });
          continue;
        }
        if (slots <= 0) continue;
        const m = await this.migrations.createForDrain(i, choice.nodeId, drain);
        if (m) {
          reserveOn(fleet.nodes, choice.nodeId, request.resources);
          slots--;
        }
      }
    }
    const next = updateDrain(drain, {
      remaining: await this.countOn(nodeId),
      migrated: await this.migratedBy(drain.id),
      unplaceable,
      failed,
    });
    for (const issue of newIssues(drain.unplaceable, next.unplaceable)) {
      void this.events.publish(node.orgId, 'node.drain.unplaceable', {
        node_id: nodeId,
        drain_id: drain.id,
        instance_id: issue.instance_id,
        reason: issue.reason,
      });
    }
    await this.save(node, next);
  }

  /**
   * Force, or the deadline: nothing more starts moving, migrations that have not switched are
   * cancelled (their rollback does not restart the instance: it is no longer meant to run), and
   * every instance still on the node is stopped, not deleted. The drain completes once its
   * migrations past the switch have finished.
   */
  private async stopInPlace(node: NodeEntity, drain: DrainState, reason: 'force' | 'deadline'): Promise<void> {
    const onNode = await this.instancesOn(node.id);
    const fresh = onNode.filter((i) => !drain.stopped.includes(i.id));
    if (fresh.length) {
      await this.placement.stopDesired(fresh.map((i) => i.id));
      await this.cancelMigrations(drain);
      for (const i of fresh) {
        await this.jobs.enqueue(
          {
            orgId: node.orgId,
            nodeId: node.id,
            actor: SYSTEM,
            resources: [`/v1/instances/${i.id}`, `/v1/nodes/${node.id}`],
          },
          { kind: 'instance.stop', payload: { instance_id: i.id } },
        );
      }
      this.log.info({ nodeId: node.id, reason, stopped: fresh.length }, 'drain stopped the instances left on the node');
    }
    const stopped = [...drain.stopped, ...fresh.map((i) => i.id)];
    const open = await this.migrations.openOfDrain(drain.id);
    const remaining = await this.countOn(node.id);
    const progress = {
      ...drain,
      stopped,
      remaining,
      migrated: await this.migratedBy(drain.id),
      updated_at: new Date().toISOString(),
    };
    const next: DrainState = open.length ? progress : finishDrain(progress, reason, remaining, stopped);
    await this.save(node, next);
  }

  /** Cancels what a drain started and has not switched yet (drain cancelled, deadline, force). */
  async cancelMigrations(drain: DrainState): Promise<void> {
    const open = await this.migrations.openOfDrain(normalizeDrain(drain).id);
    for (const m of open) await this.migrations.requestCancel(m.id);
  }

  /** Writes the loop's part of the drain block, unless the drain was cancelled or replaced meanwhile. */
  private async save(node: NodeEntity, next: DrainState): Promise<void> {
    const part: LoopKeys = {
      status: next.status,
      updated_at: next.updated_at,
      remaining: next.remaining,
      migrated: next.migrated,
      unplaceable: next.unplaceable,
      failed: next.failed,
      stopped: next.stopped,
      completed_reason: next.completed_reason,
    };
    const res = (await this.db.query(
      `UPDATE nodes SET drain = drain || $2::jsonb || jsonb_build_object('id', $3::text), updated_at = now()
        WHERE id = $1 AND drain->>'status' = 'draining' AND (drain->>'id' IS NULL OR drain->>'id' = $3) RETURNING id`,
      [node.id, JSON.stringify(part), next.id],
    )) as [unknown[], number];
    if (res[0].length && next.status !== 'draining') {
      this.log.info({ nodeId: node.id, reason: next.completed_reason, remaining: next.remaining }, 'drain complete');
      void this.events.publish(node.orgId, 'node.drain', { node_id: node.id, drain: next });
    }
  }

  private instancesOn(nodeId: string): Promise<InstanceEntity[]> {
    return this.db.getRepository(InstanceEntity).find({ where: { nodeId }, order: { createdAt: 'ASC' } });
  }

  private countOn(nodeId: string): Promise<number> {
    return this.db.getRepository(InstanceEntity).countBy({ nodeId });
  }

  private async migratedBy(drainId: string): Promise<number> {
    const [{ n }] = (await this.db.query(
      `SELECT count(*)::int AS n FROM migrations WHERE drain_id = $1 AND status = 'succeeded'`,
      [drainId],
    )) as [{ n: number }];
    return n;
  }

  /** Instances still here whose last migration in this drain failed or was cancelled: not tried again. */
  private async failedOf(
    drainId: string,
    onNode: InstanceEntity[],
  ): Promise<{ instance_id: string; reason: string }[]> {
    if (!onNode.length) return [];
    const rows = (await this.db.query(
      `SELECT DISTINCT ON (instance_id) instance_id, status, error FROM migrations
        WHERE drain_id = $1 AND instance_id = ANY($2::uuid[]) AND status IN ('failed', 'cancelled')
        ORDER BY instance_id, created_at DESC`,
      [drainId, onNode.map((i) => i.id)],
    )) as { instance_id: string; status: string; error: { message?: string } | null }[];
    return rows.map((r) => ({
      instance_id: r.instance_id,
      reason: `migration ${r.status}: ${r.error?.message ?? ''}`.trim(),
    }));
  }
}

/**
 * The nodes domain's `DRAIN_DRIVER`: a request waits for a pass in progress elsewhere, so its answer shows the drain's
 * first moves.
 */
export function drainDriverOf(eviction: DrainEviction): DrainDriver {
  return {
    advance: (nodeId) => eviction.advance(nodeId, API_WAIT_MS),
    cancelled: (_orgId, _nodeId, drain) => eviction.cancelMigrations(drain),
  };
}

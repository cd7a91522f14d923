import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { z } from 'zod';
import type { Principal } from '../access/principal';
import { EventsService } from '../events/events.service';
import { cancelDrain, startDrain } from './drain';
import { DRAIN_DRIVER, type DrainDriver, NODE_OCCUPANCY, type NodeOccupancy } from './node-capabilities';
import type { NodeEntity } from './node.entity';
import type { drainBody } from './nodes.schemas';
import { DrainNotActiveError, NodesService } from './nodes.service';

/**
 * Starting and cancelling a node's drain (the `drain` block of `nodes`); the loop that moves
 * instances off is the migrations domain's `DRAIN_DRIVER`. Apart from `NodesService` so the
 * driver (which uses `NodesService`) does not depend on itself.
 */
@Injectable()
export class NodeDrains {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly nodes: NodesService,
    private readonly events: EventsService,
    @Inject(NODE_OCCUPANCY) private readonly occupancy: NodeOccupancy,
    @Inject(DRAIN_DRIVER) private readonly driver: DrainDriver,
  ) {}

  /** Cordon or uncordon; uncordoning a draining node cancels its drain. */
  async setSchedulable(p: Principal, id: string, schedulable: boolean): Promise<NodeEntity> {
    const node = await this.nodes.get(p, id);
    if (schedulable && node.drain?.status === 'draining') return this.cancelDrain(p, id, { keepCordoned: false });
    await this.nodes.repo.update({ id }, { schedulable });
    void this.events.publish(node.orgId, schedulable ? 'node.uncordoned' : 'node.cordoned', { node_id: id });
    return this.nodes.get(p, id);
  }

  /** Cordons the node and starts (or updates) its drain; the first pass of the drain loop runs before this returns. */
  async drain(p: Principal, id: string, body: z.infer<typeof drainBody>): Promise<NodeEntity> {
    const node = await this.nodes.get(p, id);
    const actor = { type: p.kind, id: p.kind === 'user' ? p.userId : (p.apiTokenId ?? p.userId) };
    const drain = startDrain(
      node.drain,
      { deadlineSeconds: body.deadline_seconds, force: body.force, maxParallel: body.max_parallel, actor },
      await this.occupancy.countOn(id),
    );
    // Column by column: the drain loop may be writing its progress into `drain` at the same moment.
    await this.nodes.repo.update({ id }, { drain, schedulable: false });
    void this.events.publish(node.orgId, 'node.drain', { node_id: id, drain });
    if (drain.status === 'draining') await this.driver.advance(id);
    return this.nodes.get(p, id);
  }

  /** Like `nomad node drain -disable`: the node is schedulable again unless `keepCordoned`. */
  async cancelDrain(
    p: Principal,
    id: string,
    options: { keepCordoned: boolean } = { keepCordoned: false },
  ): Promise<NodeEntity> {
    const node = await this.nodes.get(p, id);
    const cancelled = cancelDrain(node.drain);
    if (!cancelled) throw new DrainNotActiveError();
    const rows = (await this.db.query(
      `UPDATE nodes SET drain = $2, schedulable = $3, updated_at = now() WHERE id = $1 AND drain->>'status' = 'draining' RETURNING id`,
      [id, JSON.stringify(cancelled), !options.keepCordoned],
    )) as [unknown[], number];
    if (!rows[0]?.length) throw new DrainNotActiveError();
    void this.events.publish(node.orgId, 'node.drain', { node_id: id, drain: cancelled });
    if (!options.keepCordoned) void this.events.publish(node.orgId, 'node.uncordoned', { node_id: id });
    await this.driver.cancelled(node.orgId, id, cancelled);
    return this.nodes.get(p, id);
  }
}

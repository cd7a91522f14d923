import { Inject, Injectable } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { TOKEN_PREFIXES } from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { inOrg } from '../access/principal';
import { issueOpaqueToken, sha256Hex, tokenHint } from '../crypto/opaque-token';
import { EventsService } from '../events/events.service';
import { ConflictError, DomainError, NotFoundError } from '../http/errors';
import { TunnelServer } from '../tunnel/tunnel.server';
import { cancelDrain, startDrain } from './drain';
import { type DrainState, NodeEntity } from './node.entity';
import { RevokedAgentTokenEntity } from './registration-token.entity';
import type { z } from 'zod';
import type { drainBody, listNodesQuery, updateNodeBody } from './nodes.schemas';

export class DrainNotActiveError extends DomainError {
  constructor() {
    super('the node is not draining', 'not_draining', 409);
  }
}

/** What stands on a node: instances arrive with the instances domain and register here. */
export interface NodeOccupancy {
  countOn(nodeId: string): Promise<number>;
}

/**
 * Moves drains forward: the migrations domain registers it. `advance` runs one pass of the
 * drain loop for the node at once (it also runs periodically); `cancelled` stops the migrations
 * of a cancelled drain that can still be stopped.
 */
export interface DrainDriver {
  advance(nodeId: string): Promise<void>;
  cancelled(orgId: string, nodeId: string, drain: DrainState): Promise<void>;
}


@Injectable()
export class NodesService {
  readonly repo: Repository<NodeEntity>;
  private occupancy: NodeOccupancy = { countOn: async () => 0 };
  private drainDriver: DrainDriver = { advance: async () => undefined, cancelled: async () => undefined };

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly tunnel: TunnelServer,
    private readonly events: EventsService,
  ) {
    this.repo = db.getRepository(NodeEntity);
  }

  /** The instances domain tells drain how many instances are still on a node. */
  setOccupancy(o: NodeOccupancy): void {
    this.occupancy = o;
  }

  setDrainDriver(d: DrainDriver): void {
    this.drainDriver = d;
  }

  async list(p: Principal, q: z.infer<typeof listNodesQuery>): Promise<{ data: NodeEntity[]; total: number }> {
    const qb = this.repo.createQueryBuilder('n').where('n.org_id = :org', { org: inOrg(p, {}).orgId });
    if (q.status) qb.andWhere('n.status = :status', { status: q.status });
    if (q.label) {
      const [k, v] = q.label.split('=') as [string, string];
      qb.andWhere('n.labels @> :label', { label: JSON.stringify({ [k]: v }) });
    }
    const [data, total] = await qb.orderBy('n.name', 'ASC').skip(q.offset).take(q.limit).getManyAndCount();
    return { data, total };
  }

  async get(p: Principal, id: string): Promise<NodeEntity> {
    const node = await this.repo.findOneBy(inOrg(p, { id }));
    if (!node) throw new NotFoundError(`node ${id}`);
    return node;
  }

  async update(p: Principal, id: string, body: z.infer<typeof updateNodeBody>): Promise<NodeEntity> {
    const node = await this.get(p, id);
    if (body.name !== undefined) node.name = body.name;
    if (body.labels !== undefined) node.labels = body.labels;
    if (body.capacity !== undefined) node.capacity = body.capacity;
    if (body.job_concurrency !== undefined) node.jobConcurrency = body.job_concurrency;
    try {
      return await this.repo.save(node);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new ConflictError(`a node named "${body.name}" already exists in this organization`, 'name_taken');
      throw err;
    }
  }

  async setSchedulable(p: Principal, id: string, schedulable: boolean): Promise<NodeEntity> {
    const node = await this.get(p, id);
    if (schedulable && node.drain?.status === 'draining') return this.cancelDrain(p, id, { keepCordoned: false });
    await this.repo.update({ id }, { schedulable });
    void this.events.publish(node.orgId, schedulable ? 'node.uncordoned' : 'node.cordoned', { node_id: id });
    return this.get(p, id);
  }

  /** Cordons the node and starts (or updates) its drain; the first pass of the drain loop runs before this returns. */
  async drain(p: Principal, id: string, body: z.infer<typeof drainBody>): Promise<NodeEntity> {
    const node = await this.get(p, id);
    const actor = { type: p.kind, id: p.kind === 'user' ? p.userId : (p.apiTokenId ?? p.userId) };
    const drain = startDrain(node.drain, { deadlineSeconds: body.deadline_seconds, force: body.force, maxParallel: body.max_parallel, actor }, await this.occupancy.countOn(id));
    // Column by column: the drain loop may be writing its progress into `drain` at the same moment.
    await this.repo.update({ id }, { drain, schedulable: false });
    void this.events.publish(node.orgId, 'node.drain', { node_id: id, drain });
    if (drain.status === 'draining') await this.drainDriver.advance(id);
    return this.get(p, id);
  }

  /** Like `nomad node drain -disable`: the node is schedulable again unless `keepCordoned`. */
  async cancelDrain(p: Principal, id: string, options: { keepCordoned: boolean } = { keepCordoned: false }): Promise<NodeEntity> {
    const node = await this.get(p, id);
    const cancelled = cancelDrain(node.drain);
    if (!cancelled) throw new DrainNotActiveError();
    const rows = (await this.db.query(`UPDATE nodes SET drain = $2, schedulable = $3, updated_at = now() WHERE id = $1 AND drain->>'status' = 'draining' RETURNING id`, [
      id,
      JSON.stringify(cancelled),
      !options.keepCordoned,
    ])) as [unknown[], number];
    if (!rows[0]?.length) throw new DrainNotActiveError();
    void this.events.publish(node.orgId, 'node.drain', { node_id: id, drain: cancelled });
    if (!options.keepCordoned) void this.events.publish(node.orgId, 'node.uncordoned', { node_id: id });
    await this.drainDriver.cancelled(node.orgId, id, cancelled);
    return this.get(p, id);
  }

  /** A new agent token; the old one stops working at once and its socket is dropped. */
  async rotateToken(p: Principal, id: string): Promise<{ node: NodeEntity; token: string }> {
    const node = await this.get(p, id);
    const token = issueOpaqueToken(TOKEN_PREFIXES.agent);
    const issued = { token, hash: sha256Hex(token), hint: tokenHint(token, TOKEN_PREFIXES.agent) };
    await this.db.transaction(async (tx) => {
      await tx.getRepository(RevokedAgentTokenEntity).insert({ tokenHash: node.agentTokenHash, nodeId: id, reason: 'rotated' });
      await tx.getRepository(NodeEntity).update({ id }, { agentTokenHash: issued.hash, agentTokenHint: issued.hint });
    });
    await this.tunnel.disconnectNode(id, { code: 'token_revoked', message: 'the agent token was rotated: install the new token and restart the agent' });
    return { node: await this.get(p, id), token: issued.token };
  }

  async delete(p: Principal, id: string): Promise<void> {
    const node = await this.get(p, id);
    const left = await this.occupancy.countOn(id);
    if (left > 0) throw new ConflictError(`the node still has ${left} instance(s): drain it or delete them first`, 'node_not_empty');
    await this.db.transaction(async (tx) => {
      await tx.getRepository(RevokedAgentTokenEntity).upsert({ tokenHash: node.agentTokenHash, nodeId: id, reason: 'node_deleted' }, ['tokenHash']);
      await tx.getRepository(NodeEntity).delete({ id });
    });
    await this.tunnel.disconnectNode(id, { code: 'node_deleted', message: 'this node was deleted from the hub' });
    void this.events.publish(node.orgId, 'node.deleted', { node_id: id });
  }
}

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
import { NodeEntity } from './node.entity';
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


@Injectable()
export class NodesService {
  readonly repo: Repository<NodeEntity>;
  private occupancy: NodeOccupancy = { countOn: async () => 0 };

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
    node.schedulable = schedulable;
    if (schedulable && node.drain?.status === 'draining') node.drain = cancelDrain(node.drain);
    const saved = await this.repo.save(node);
    void this.events.publish(node.orgId, schedulable ? 'node.uncordoned' : 'node.cordoned', { node_id: id });
    return saved;
  }

  async drain(p: Principal, id: string, body: z.infer<typeof drainBody>): Promise<NodeEntity> {
    const node = await this.get(p, id);
    const actor = { type: p.kind, id: p.kind === 'user' ? p.userId : (p.apiTokenId ?? p.userId) };
    node.drain = startDrain(node.drain, { deadlineSeconds: body.deadline_seconds, force: body.force, actor }, await this.occupancy.countOn(id));
    node.schedulable = false;
    const saved = await this.repo.save(node);
    void this.events.publish(node.orgId, 'node.drain', { node_id: id, drain: node.drain });
    return saved;
  }

  async cancelDrain(p: Principal, id: string): Promise<NodeEntity> {
    const node = await this.get(p, id);
    const cancelled = cancelDrain(node.drain);
    if (!cancelled) throw new DrainNotActiveError();
    node.drain = cancelled;
    node.schedulable = true;
    const saved = await this.repo.save(node);
    void this.events.publish(node.orgId, 'node.drain', { node_id: id, drain: cancelled });
    return saved;
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

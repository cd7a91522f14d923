import { Inject, Injectable } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { TOKEN_PREFIXES } from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { inOrg } from '../access/principal';
import { issueOpaqueToken, sha256Hex, tokenHint } from '../crypto/opaque-token';
import { EventsService } from '../events/events.service';
import { ConflictError, DomainError, NotFoundError } from '../http/errors';
import { TunnelServer } from '../tunnel/tunnel.server';
import { NODE_OCCUPANCY, type NodeOccupancy } from './node-capabilities';
import { NodeEntity } from './node.entity';
import { RevokedAgentTokenEntity } from './registration-token.entity';
import type { z } from 'zod';
import type { listNodesQuery, updateNodeBody } from './nodes.schemas';
import { withUniqueName } from '../http/unique-names';

export class DrainNotActiveError extends DomainError {
  constructor() {
    super('the node is not draining', 'not_draining', 409);
  }
}

@Injectable()
export class NodesService {
  readonly repo: Repository<NodeEntity>;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly tunnel: TunnelServer,
    private readonly events: EventsService,
    @Inject(NODE_OCCUPANCY) private readonly occupancy: NodeOccupancy,
  ) {
    this.repo = db.getRepository(NodeEntity);
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
    return withUniqueName(
      () => this.repo.save(node),
      `a node named "${body.name}" already exists in this organization`,
    );
  }

  /** A new agent token; the old one stops working at once and its socket is dropped. */
  async rotateToken(p: Principal, id: string): Promise<{ node: NodeEntity; token: string }> {
    const node = await this.get(p, id);
    const token = issueOpaqueToken(TOKEN_PREFIXES.agent);
    const issued = { token, hash: sha256Hex(token), hint: tokenHint(token, TOKEN_PREFIXES.agent) };
    await this.db.transaction(async (tx) => {
      await tx
        .getRepository(RevokedAgentTokenEntity)
        .insert({ tokenHash: node.agentTokenHash, nodeId: id, reason: 'rotated' });
      await tx.getRepository(NodeEntity).update({ id }, { agentTokenHash: issued.hash, agentTokenHint: issued.hint });
    });
    await this.tunnel.disconnectNode(id, {
      code: 'token_revoked',
      message: 'the agent token was rotated: install the new token and restart the agent',
    });
    return { node: await this.get(p, id), token: issued.token };
  }

  async delete(p: Principal, id: string): Promise<void> {
    const node = await this.get(p, id);
    const left = await this.occupancy.countOn(id);
    if (left > 0)
      throw new ConflictError(
        `the node still has ${left} instance(s): drain it or delete them first`,
        'node_not_empty',
      );
    await this.db.transaction(async (tx) => {
      await tx
        .getRepository(RevokedAgentTokenEntity)
        .upsert({ tokenHash: node.agentTokenHash, nodeId: id, reason: 'node_deleted' }, ['tokenHash']);
      await tx.getRepository(NodeEntity).delete({ id });
    });
    await this.tunnel.disconnectNode(id, { code: 'node_deleted', message: 'this node was deleted from the hub' });
    void this.events.publish(node.orgId, 'node.deleted', { node_id: id });
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, Repository } from 'typeorm';
import type { z } from 'zod';
import { requireOrg, type Principal } from '../access/principal';
import { ConflictError, DomainError, NotFoundError, ValidationFailedError } from '../http/errors';
import { AllocationEntity } from './allocation.entity';
import {
  type addAllocationsBody,
  type listAllocationsQuery,
  MAX_PORTS_PER_REQUEST,
  portOrRange,
  portsOf,
} from './allocations.schemas';
import type { HeldAllocation, PortMove, PortSlot } from './port-plan';

export class AllocationInUseError extends DomainError {
  constructor(ports: { ip: string; port: number; instance_id: string }[]) {
    const shown = ports
      .slice(0, 5)
      .map((p) => `${p.ip}:${p.port} (instance ${p.instance_id})`)
      .join(', ');
    super(
      `${ports.length} of these allocations are held by instances: ${shown}${ports.length > 5 ? ', …' : ''}; delete the instances or remove their extra ports first`,
      'allocation_in_use',
      409,
      {
        in_use: ports,
      },
    );
  }
}

export class NoFreeAllocationError extends DomainError {
  constructor(nodeName: string, nodeId: string, needed: number, got: number) {
    super(
      `node ${nodeName} has ${got} free allocation${got === 1 ? '' : 's'}, this instance needs ${needed}: add ports with POST /v1/nodes/${nodeId}/allocations or pick another node`,
      'no_free_allocation',
      409,
      { node_id: nodeId, needed, free: got },
    );
  }
}

/**
 * What a create asks for: explicit allocations first (the primary, then the rest), the others picked from the free
 * ones.
 */
export interface ClaimRequest {
  orgId: string;
  nodeId: string;
  instanceId: string;
  slots: readonly PortSlot[];
  primaryId?: string;
  additionalIds?: readonly string[];
}

const HELD_COLUMNS = `id, ip, port, port_name AS "portName", is_primary AS "isPrimary"`;

/** Node allocation pools (ip:port) and the instances holding them. */
@Injectable()
export class AllocationsService {
  readonly repo: Repository<AllocationEntity>;

  constructor(@Inject(DataSource) private readonly db: DataSource) {
    this.repo = db.getRepository(AllocationEntity);
  }

  async listForNode(p: Principal, nodeId: string, q: z.infer<typeof listAllocationsQuery>) {
    const orgId = await this.nodeOrg(p, nodeId);
    const qb = this.repo.createQueryBuilder('a').where('a.node_id = :nodeId AND a.org_id = :orgId', { nodeId, orgId });
    if (q.ip) qb.andWhere('a.ip = :ip', { ip: q.ip });
    if (q.assigned) qb.andWhere(q.assigned === 'true' ? 'a.instance_id IS NOT NULL' : 'a.instance_id IS NULL');
    const [data, total] = await qb.orderBy('a.ip').addOrderBy('a.port').skip(q.offset).take(q.limit).getManyAndCount();
    return { data, total };
  }

  /** Adds ports to a node's pool; ones already there are left alone (the unique ip:port constraint decides). */
  async addToNode(p: Principal, nodeId: string, body: z.infer<typeof addAllocationsBody>) {
    const orgId = await this.nodeOrg(p, nodeId);
    const ports = [...new Set(body.ports.flatMap(portsOf))].sort((a, b) => a - b);
    const created = (await this.db.query(
      `INSERT INTO allocations (org_id, node_id, ip, port, alias) SELECT $1, $2, $3, p, $4 FROM unnest($5::int[]) p
       ON CONFLICT (node_id, ip, port) DO NOTHING RETURNING id`,
      [orgId, nodeId, body.ip, body.alias ?? null, ports],
    )) as { id: string }[];
    const rows = created.length
      ? await this.repo
          .createQueryBuilder('a')
          .where('a.id = ANY(:ids)', { ids: created.map((r) => r.id) })
          .orderBy('a.port')
          .getMany()
      : [];
    return { created: rows.length, existing: ports.length - rows.length, data: rows };
  }

  /** Removes free ports of a node's pool; refused (nothing removed) when any of them is held. */
  async removeFromNode(p: Principal, nodeId: string, ip: string, portsText: string): Promise<{ removed: number }> {
    const orgId = await this.nodeOrg(p, nodeId);
    const entries = portsText.split(',').map((s) => s.trim());
    const ports: number[] = [];
    for (const e of entries) {
      const parsed = portOrRange.safeParse(e);
      if (!parsed.success)
        throw new ValidationFailedError('query', [
          { path: 'ports', message: `"${e}": ${parsed.error.issues[0]!.message}` },
        ]);
      ports.push(...portsOf(parsed.data));
    }
    if (ports.length > MAX_PORTS_PER_REQUEST)
      throw new ValidationFailedError('query', [
        { path: 'ports', message: `at most ${MAX_PORTS_PER_REQUEST} ports per request` },
      ]);
    return this.db.transaction(async (tx) => {
      const rows = (await tx.query(
        `SELECT id, port, instance_id FROM allocations WHERE node_id = $1 AND org_id = $2 AND ip = $3 AND port = ANY($4::int[]) FOR UPDATE`,
        [nodeId, orgId, ip, ports],
      )) as {
        id: string;
        port: number;
        instance_id: string | null;
      }[];
      const held = rows.filter((r) => r.instance_id !== null);
      if (held.length)
        throw new AllocationInUseError(held.map((r) => ({ ip, port: r.port, instance_id: r.instance_id! })));
      if (rows.length) await tx.query(`DELETE FROM allocations WHERE id = ANY($1::uuid[])`, [rows.map((r) => r.id)]);
      return { removed: rows.length };
    });
  }

  async removeOne(p: Principal, nodeId: string, allocationId: string): Promise<void> {
    const orgId = await this.nodeOrg(p, nodeId);
    const a = await this.repo.findOneBy({ id: allocationId, nodeId, orgId });
    if (!a) throw new NotFoundError(`allocation ${allocationId} of node ${nodeId}`);
    const res = (await this.db.query(`DELETE FROM allocations WHERE id = $1 AND instance_id IS NULL`, [
      allocationId,
    ])) as [unknown, number];
    if (res[1] === 0)
      throw new AllocationInUseError([{ ip: a.ip, port: a.port, instance_id: a.instanceId ?? 'unknown' }]);
  }

  /** Free allocations per node, what the planner weighs against an instance's port needs. */
  async freeOn(orgId: string, nodeIds: readonly string[]): Promise<Map<string, number>> {
    const rows = (await this.db.query(
      `SELECT node_id, count(*)::int AS free FROM allocations WHERE org_id = $1 AND node_id = ANY($2::uuid[]) AND instance_id IS NULL GROUP BY node_id`,
      [orgId, nodeIds],
    )) as { node_id: string; free: number }[];
    return new Map(rows.map((r) => [r.node_id, r.free]));
  }

  /**
   * Takes an allocation for each slot (and each extra explicit one) inside the caller's
   * transaction. Each take is a conditional UPDATE of a free row, so concurrent creates never get
   * the same port; too few free rows throws and the caller's transaction rolls back.
   */
  async claim(tx: EntityManager, r: ClaimRequest, nodeName: string): Promise<HeldAllocation[]> {
    const explicit = [...(r.primaryId ? [r.primaryId] : []), ...(r.additionalIds ?? [])];
    const names = r.slots.map((s) => s.name);
    const wanted = Math.max(names.length, explicit.length);
    const held: HeldAllocation[] = [];
    for (let i = 0; i < wanted; i++) {
      const portName = names[i] ?? null;
      const params = [r.instanceId, r.nodeId, r.orgId, i === 0, portName];
      const id = explicit[i];
      const rows = (
        id
          ? await tx.query(
              `UPDATE allocations SET instance_id = $1, is_primary = $4, port_name = $5, assigned_at = now()
                WHERE id = $6 AND node_id = $2 AND org_id = $3 AND instance_id IS NULL RETURNING ${HELD_COLUMNS}`,
              [...params, id],
            )
          : await tx.query(
              `UPDATE allocations SET instance_id = $1, is_primary = $4, port_name = $5, assigned_at = now()
                WHERE id = (SELECT id FROM allocations WHERE node_id = $2 AND org_id = $3 AND instance_id IS NULL ORDER BY port, ip LIMIT 1 FOR UPDATE SKIP LOCKED)
                  AND instance_id IS NULL
                RETURNING ${HELD_COLUMNS}`,
              params,
            )
      ) as [HeldAllocation[], number];
      const got = rows[0][0];
      if (!got) {
        if (id)
          throw new ConflictError(
            `allocation ${id} is not a free allocation of node ${nodeName}: pick a free one from GET /v1/nodes/${r.nodeId}/allocations?assigned=false`,
            'allocation_unavailable',
          );
        throw new NoFreeAllocationError(nodeName, r.nodeId, wanted, held.length);
      }
      held.push(got);
    }
    return held;
  }

  /** One more port for an instance (explicit or the lowest free), named `port-<n>` and published tcp and udp. */
  async claimExtra(
    tx: EntityManager,
    orgId: string,
    nodeId: string,
    instanceId: string,
    allocationId: string | undefined,
    nodeName: string,
  ): Promise<HeldAllocation> {
    const rows = (await tx.query(
      allocationId
        ? `UPDATE allocations SET instance_id = $1, is_primary = false, port_name = 'port-' || port, assigned_at = now()
            WHERE id = $4 AND node_id = $2 AND org_id = $3 AND instance_id IS NULL RETURNING ${HELD_COLUMNS}`
        : `UPDATE allocations SET instance_id = $1, is_primary = false, port_name = 'port-' || port, assigned_at = now()
            WHERE id = (SELECT id FROM allocations WHERE node_id = $2 AND org_id = $3 AND instance_id IS NULL ORDER BY port, ip LIMIT 1 FOR UPDATE SKIP LOCKED)
              AND instance_id IS NULL RETURNING ${HELD_COLUMNS}`,
      [instanceId, nodeId, orgId, ...(allocationId ? [allocationId] : [])],
    )) as [HeldAllocation[], number];
    const got = rows[0][0];
    if (got) return got;
    if (allocationId)
      throw new ConflictError(
        `allocation ${allocationId} is not a free allocation of node ${nodeName}`,
        'allocation_unavailable',
      );
    throw new NoFreeAllocationError(nodeName, nodeId, 1, 0);
  }

  async heldBy(instanceId: string, nodeId: string, tx: EntityManager = this.db.manager): Promise<HeldAllocation[]> {
    return (await tx.query(
      `SELECT ${HELD_COLUMNS} FROM allocations WHERE instance_id = $1 AND node_id = $2 ORDER BY is_primary DESC, port`,
      [instanceId, nodeId],
    )) as HeldAllocation[];
  }

  async listHeld(instanceId: string, nodeId: string): Promise<AllocationEntity[]> {
    return this.repo.find({ where: { instanceId, nodeId }, order: { isPrimary: 'DESC', port: 'ASC' } });
  }

  /** Gives back what an instance holds on one node (after a migration left it, or an extra port removed). */
  async release(tx: EntityManager, instanceId: string, nodeId: string, allocationId?: string): Promise<number> {
    const res = (await tx.query(
      `UPDATE allocations SET instance_id = NULL, is_primary = false, port_name = NULL, assigned_at = NULL WHERE instance_id = $1 AND node_id = $2 ${allocationId ? 'AND id = $3' : ''}`,
      [instanceId, nodeId, ...(allocationId ? [allocationId] : [])],
    )) as [unknown, number];
    return res[1];
  }

  /**
   * For a migration: the same ports on the target as the instance holds on the source (the same
   * port number when it is free there, else the lowest free one). Idempotent: what the instance
   * already holds on the target is reused, so a retried step takes nothing twice.
   */
  async claimMirror(
    tx: EntityManager,
    orgId: string,
    instanceId: string,
    sourceNodeId: string,
    targetNodeId: string,
    targetName: string,
  ): Promise<PortMove[]> {
    const source = await this.heldBy(instanceId, sourceNodeId, tx);
    const target = await this.heldBy(instanceId, targetNodeId, tx);
    const moves: PortMove[] = [];
    for (const from of source) {
      let to = target.find(
        (t) => t.portName === from.portName && t.isPrimary === from.isPrimary && !moves.some((m) => m.to.id === t.id),
      );
      if (!to) {
        const rows = (await tx.query(
          `UPDATE allocations SET instance_id = $1, is_primary = $4, port_name = $5, assigned_at = now()
            WHERE id = (SELECT id FROM allocations WHERE node_id = $2 AND org_id = $3 AND instance_id IS NULL ORDER BY (port = $6) DESC, port, ip LIMIT 1 FOR UPDATE SKIP LOCKED)
              AND instance_id IS NULL RETURNING ${HELD_COLUMNS}`,
          [instanceId, targetNodeId, orgId, from.isPrimary, from.portName, from.port],
        )) as [HeldAllocation[], number];
        to = rows[0][0];
        if (!to) throw new NoFreeAllocationError(targetName, targetNodeId, source.length, moves.length);
      }
      moves.push({ from, to });
    }
    return moves;
  }

  /** Everything an instance holds, on every node (it is being deleted). */
  async releaseAll(tx: EntityManager, instanceId: string): Promise<void> {
    await tx.query(
      `UPDATE allocations SET instance_id = NULL, is_primary = false, port_name = NULL, assigned_at = NULL WHERE instance_id = $1`,
      [instanceId],
    );
  }

  /**
   * The node of an allocation picked by hand; refused at once when an instance holds it (the claim re-checks under the
   * race).
   */
  async nodeOfFree(orgId: string, allocationId: string): Promise<string> {
    const a = await this.repo.findOneBy({ id: allocationId, orgId });
    if (!a) throw new NotFoundError(`allocation ${allocationId}`);
    if (a.instanceId)
      throw new ConflictError(
        `allocation ${a.ip}:${a.port} is held by instance ${a.instanceId}: pick a free one from GET /v1/nodes/${a.nodeId}/allocations?assigned=false`,
        'allocation_unavailable',
      );
    return a.nodeId;
  }

  private async nodeOrg(p: Principal, nodeId: string): Promise<string> {
    const orgId = requireOrg(p).id;
    const rows = (await this.db.query(`SELECT 1 FROM nodes WHERE id = $1 AND org_id = $2`, [
      nodeId,
      orgId,
    ])) as unknown[];
    if (!rows.length) throw new NotFoundError(`node ${nodeId}`);
    return orgId;
  }
}

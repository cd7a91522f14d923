import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { type z } from 'zod';
import { inOrg, type Principal } from '../access/principal';
import { NotFoundError } from '../http/errors';
import { actorOf } from '../jobs/operation-actor';
import type { OperationEntity } from '../jobs/operation.entity';
import { OperationsService } from '../jobs/operations.service';
import { EphemeralMachineEntity } from './ephemeral-machine.entity';
import { EphemeralJobs } from './ephemeral-jobs';
import { EphemeralLifecycle } from './ephemeral-lifecycle';
import { EPHEMERAL_MACHINE_ERRORS } from './ephemeral-machines.errors';
import type { CreateEphemeralBody, listEphemeralQuery } from './ephemeral-machines.schemas';
import { EphemeralNodePicker } from './ephemeral-node-picker';

/** Ephemeral clones for CI: create (an operation), list, get, delete (an operation), extend. */
@Injectable()
export class EphemeralMachinesService {
  constructor(
    private readonly lifecycle: EphemeralLifecycle,
    private readonly jobs: EphemeralJobs,
    private readonly picker: EphemeralNodePicker,
    private readonly operations: OperationsService,
  ) {}

  private get repo() {
    return this.lifecycle.repo;
  }

  private openClones = (nodeId: string): Promise<number> =>
    this.repo.createQueryBuilder('e').where(`e.node_id = :nodeId AND e.status <> 'deleted'`, { nodeId }).getCount();

  /**
   * The row first, then the operation under an id the row already names: a hub that stops in
   * between leaves a row the reaper cleans up, never a clone nobody knows of.
   */
  async create(p: Principal, body: CreateEphemeralBody): Promise<{ row: EphemeralMachineEntity; op: OperationEntity }> {
    const { node } = await this.picker.pick(p, body.template, body.node_id, this.openClones);
    const row = this.repo.create({
      id: randomUUID(),
      orgId: inOrg(p, {}).orgId,
      nodeId: node.id,
      template: body.template,
      name: `${body.name_prefix}-${randomBytes(4).toString('hex')}`,
      vmId: null,
      ip: null,
      status: 'creating',
      ttlSeconds: body.ttl_seconds,
      expiresAt: new Date(Date.now() + body.ttl_seconds * 1000),
      createOperationId: randomUUID(),
      deleteOperationId: null,
      deleteAttempts: 0,
      deleteReason: null,
      error: null,
      createdBy: actorOf(p),
      deletedAt: null,
    });
    await this.repo.insert(row);
    const op = await this.jobs.create(row, body.start, body.wait_for_ip_seconds);
    return { row, op };
  }

  async list(p: Principal, q: z.infer<typeof listEphemeralQuery>) {
    const qb = this.repo.createQueryBuilder('e').where('e.org_id = :org', { org: inOrg(p, {}).orgId });
    if (q.include_deleted !== 'true') qb.andWhere(`e.status <> 'deleted'`);
    const [data, total] = await qb.orderBy('e.created_at', 'DESC').skip(q.offset).take(q.limit).getManyAndCount();
    return { data, total };
  }

  async get(p: Principal, id: string): Promise<EphemeralMachineEntity> {
    const row = await this.repo.findOneBy(inOrg(p, { id }));
    if (!row) throw new NotFoundError(`ephemeral clone ${id}`);
    return row;
  }

  /** Marks the clone deleting and answers its delete operation (the same one again when asked twice). */
  async delete(p: Principal, id: string): Promise<OperationEntity> {
    const row = await this.lifecycle.markDeleting(await this.get(p, id), 'deleted', actorOf(p));
    const op = row.deleteOperationId ? await this.operations.get(row.deleteOperationId) : null;
    if (!op) throw new NotFoundError(`ephemeral clone ${id}`);
    return op;
  }

  async extend(p: Principal, id: string, ttlSeconds: number): Promise<EphemeralMachineEntity> {
    const row = await this.get(p, id);
    const updated = await this.repo
      .createQueryBuilder()
      .update()
      .set({ expiresAt: () => 'now() + make_interval(secs => :ttl)', ttlSeconds })
      .where(`id = :id AND status IN ('creating', 'running')`, { id: row.id, ttl: ttlSeconds })
      .execute();
    if (!updated.affected)
      throw EPHEMERAL_MACHINE_ERRORS.ephemeral_not_extendable.error(`the clone ${row.name} is ${row.status}`);
    return this.get(p, id);
  }
}

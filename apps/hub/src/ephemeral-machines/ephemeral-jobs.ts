import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { checkParams, HOST_OPERATION_SPECS } from '@hostplane/protocol';
import { JobDispatcher } from '../jobs/job-dispatcher';
import type { OperationActor, OperationEntity } from '../jobs/operation.entity';
import type { EphemeralMachineEntity } from './ephemeral-machine.entity';

/** A create waits this long for its node to take it; then it expires and the row is cleaned up. */
const CREATE_DEADLINE_S = 600;
/** A delete waits this long for an offline node; the reaper then queues the next attempt. */
const DELETE_DEADLINE_S = 3600;
const REAPER = { type: 'system' as const, id: null, name: 'ephemeral-reaper' };

/**
 * The id of delete attempt `n` of a clone: derived, so every replica (and a restarted hub) that
 * drives the same attempt finds the same operation instead of queueing a second one.
 */
export function deleteOperationId(ephemeralId: string, attempt: number): string {
  const h = createHash('sha256').update(`ephemeral-delete:${ephemeralId}:${attempt}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The two host operations of an ephemeral clone, queued on its node through the one job dispatcher. */
@Injectable()
export class EphemeralJobs {
  constructor(private readonly jobs: JobDispatcher) {}

  create(row: EphemeralMachineEntity, start: boolean, waitIpSeconds: number): Promise<OperationEntity> {
    const params = checkParams(HOST_OPERATION_SPECS['machines.ephemeral.create'].params, {
      vm: row.name,
      template: row.template,
      start,
      wait_ip_seconds: start ? waitIpSeconds : 0,
      record: { ephemeral_id: row.id, node_id: row.nodeId, expires_at: row.expiresAt.toISOString() },
    });
    return this.jobs.enqueue(
      {
        id: row.createOperationId,
        orgId: row.orgId,
        nodeId: row.nodeId,
        actor: row.createdBy,
        resources: [`/v1/machines/ephemeral/${row.id}`, `/v1/nodes/${row.nodeId}`],
        deadlineSeconds: CREATE_DEADLINE_S,
      },
      { kind: 'host.operation', payload: { operation: 'machines.ephemeral.create', params } },
    );
  }

  /** Queues (or finds, when it exists) the delete operation `row.deleteOperationId`. */
  delete(
    row: EphemeralMachineEntity & { deleteOperationId: string },
    actor: OperationActor = REAPER,
  ): Promise<OperationEntity> {
    const params = checkParams(HOST_OPERATION_SPECS['machines.ephemeral.delete'].params, {
      vm: row.name,
      ...(row.vmId ? { id: row.vmId } : {}),
    });
    return this.jobs.enqueue(
      {
        id: row.deleteOperationId,
        orgId: row.orgId,
        nodeId: row.nodeId,
        actor,
        resources: [`/v1/machines/ephemeral/${row.id}`, `/v1/nodes/${row.nodeId}`],
        deadlineSeconds: DELETE_DEADLINE_S,
      },
      { kind: 'host.operation', payload: { operation: 'machines.ephemeral.delete', params } },
    );
  }
}

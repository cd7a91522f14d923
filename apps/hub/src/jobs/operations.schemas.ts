import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { paginationQuery } from '../http/pagination';
import type { OperationEntity } from './operation.entity';
import { isoDateTime } from '../http/fields';

export const operationStatus = z.enum([
  'queued',
  'running',
  'cancelling',
  'succeeded',
  'failed',
  'cancelled',
  'expired',
]);

export const operationResponse = z.object({
  id: z.uuid(),
  kind: z.string(),
  status: operationStatus,
  progress: z.object({ percent: z.number(), message: z.string().nullable() }),
  resources: z.array(z.string()).describe('API paths of what the operation touches'),
  may_cancel: z.boolean(),
  node_id: z.uuid().nullable(),
  actor: z.object({
    type: z.enum(['user', 'api_token', 'system']),
    id: z.string().nullable(),
    name: z.string().optional(),
  }),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  result: z.unknown(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  deadline_at: z.string().nullable(),
});
export type OperationResponse = z.infer<typeof operationResponse>;

export const operationIdParams = z.object({ id: z.uuid({ message: 'operation id must be a UUID' }) });

export const listOperationsQuery = paginationQuery.extend({
  status: operationStatus.optional(),
  // Node job kinds and the hub's own (backup.create, backup.restore, …).
  kind: z
    .string()
    .regex(/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/, {
      message: 'must be an operation kind such as instance.start or backup.create',
    })
    .max(64)
    .optional(),
  node_id: z.uuid().optional(),
  resource: z.string().max(300).optional().describe('Only operations touching this API path, e.g. /v1/nodes/<id>'),
  from: isoDateTime().optional().describe('Created at or after'),
  to: isoDateTime().optional().describe('Created before'),
});

export const waitQuery = z.object({
  timeout: z.coerce.number().int().min(0).max(300).default(60).describe('Seconds to wait at most'),
});

export function presentOperation(op: OperationEntity): OperationResponse {
  const final = ['succeeded', 'failed', 'cancelled', 'expired'].includes(op.status);
  return {
    id: op.id,
    kind: op.kind,
    status: op.status,
    progress: { percent: op.progressPercent, message: op.progressMessage },
    resources: op.resources,
    may_cancel: op.mayCancel && !final && op.status !== 'cancelling',
    node_id: op.nodeId,
    actor: op.actor,
    error: op.error,
    result: op.result ?? null,
    created_at: op.createdAt.toISOString(),
    started_at: op.startedAt?.toISOString() ?? null,
    finished_at: op.finishedAt?.toISOString() ?? null,
    deadline_at: op.deadlineAt?.toISOString() ?? null,
  };
}

/** The async contract: 202 Accepted, `Location` of the operation, and the operation itself. */
export function acceptedOperation(reply: FastifyReply, op: OperationEntity): OperationResponse {
  void reply.status(202).header('location', `/v1/operations/${op.id}`);
  return presentOperation(op);
}

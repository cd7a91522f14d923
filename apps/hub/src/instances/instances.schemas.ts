import { z } from 'zod';
import { instanceSpec } from '@hostplane/protocol';
import { paginationQuery } from '../http/pagination';
import { operationResponse } from '../jobs/operations.schemas';
import { INSTANCE_ROW_STATES, type InstanceEntity } from './instance.entity';

export const instanceName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
  message: "instance names are 1-63 characters: letters, digits, '-', '_', '.', starting with a letter or digit",
});

const resourceOverrides = z
  .object({
    cpu_cores: z.number().positive().max(1024).optional(),
    memory_bytes: z
      .number()
      .int()
      .min(4 * 1024 * 1024)
      .optional(),
    disk_bytes: z.number().int().min(0).optional(),
  })
  .strict();

export const createInstanceBody = z
  .object({
    name: instanceName,
    workload_id: z.uuid(),
    variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
    node_id: z.uuid().optional().describe('Place on this node; otherwise the scheduler picks one'),
    strategy: z.enum(['binpack', 'spread']).default('binpack'),
    image: z.string().max(255).optional().describe("One of the workload's images (docker)"),
    resources: resourceOverrides.optional(),
    allocation_id: z
      .uuid()
      .optional()
      .describe(
        "Primary allocation (SERVER_IP:SERVER_PORT): a free one of the node's pool; otherwise the lowest free port is picked",
      ),
    additional_allocation_ids: z
      .array(z.uuid())
      .max(63)
      .optional()
      .describe(
        "More free allocations of the same node: they fill the workload's other ports first, the rest are published as extra ports",
      ),
    start: z.boolean().default(true).describe('Start once created'),
  })
  .strict()
  .refine((b) => !b.additional_allocation_ids?.length || b.allocation_id, {
    message: 'give allocation_id (the primary) with additional_allocation_ids',
    path: ['allocation_id'],
  });

export const updateInstanceBody = z
  .object({
    variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
    resources: resourceOverrides.optional(),
  })
  .strict()
  .refine((b) => b.variables !== undefined || b.resources !== undefined, {
    message: 'nothing to update: give variables or resources',
  });

export const instanceIdParams = z.object({ id: z.uuid({ message: 'instance id must be a UUID' }) });

export const listInstancesQuery = paginationQuery.extend({
  node_id: z.uuid().optional(),
  state: z.enum(INSTANCE_ROW_STATES).optional(),
  workload_id: z.uuid().optional(),
});

export const killBody = z
  .object({
    signal: z.enum(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']).default('SIGKILL'),
  })
  .strict();

export const instanceResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  org_id: z.uuid(),
  workload_id: z.uuid().nullable(),
  workload_revision: z.number().int(),
  node_id: z.uuid(),
  driver: z.enum(['process', 'docker', 'zone', 'parallels']),
  state: z
    .enum(INSTANCE_ROW_STATES)
    .describe(
      'The host-reported state; `pending` until created, `unknown` while its node is lost, `deleting` once a delete is queued',
    ),
  desired_state: z.enum(['running', 'stopped']),
  state_reason: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  state_changed_at: z.string(),
  variables: z.record(z.string(), z.string()),
  resources: z.object({ cpu_cores: z.number(), memory_bytes: z.number(), disk_bytes: z.number() }),
  ports: instanceSpec.shape.ports,
  migrating: z
    .boolean()
    .describe('A migration is moving the instance to another node (GET /v1/migrations/{migration_id})'),
  migration_id: z.uuid().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const instanceAccepted = operationResponse.extend({ instance: instanceResponse });

export function presentInstance(i: InstanceEntity): z.infer<typeof instanceResponse> {
  return {
    id: i.id,
    name: i.name,
    org_id: i.orgId,
    workload_id: i.workloadId,
    workload_revision: i.workloadRevision,
    node_id: i.nodeId,
    driver: i.driver,
    state: i.state,
    desired_state: i.desiredState,
    state_reason: i.stateReason,
    exit_code: i.exitCode,
    state_changed_at: i.stateChangedAt.toISOString(),
    variables: i.variables,
    resources: i.resources,
    ports: i.spec.ports,
    migrating: i.migrationId !== null,
    migration_id: i.migrationId,
    created_at: i.createdAt.toISOString(),
    updated_at: i.updatedAt.toISOString(),
  };
}

import { z } from 'zod';
import { paginationQuery } from '../http/pagination';
import { beforeSwitch, MIGRATION_STEPS } from './migration-plan';
import type { MigrationEntity } from './migration.entity';

export const MIGRATION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

export const migrateNodeBody = z
  .object({
    instance_ids: z
      .array(z.uuid())
      .min(1)
      .max(500)
      .optional()
      .describe('Instances of this node to move; default all of them'),
    target_node_id: z
      .uuid()
      .optional()
      .describe('Move them there; otherwise the planner picks a node for each (never the source)'),
    max_parallel: z.number().int().min(1).max(64).default(1).describe('How many of them move at once'),
  })
  .strict()
  .refine((b) => !b.instance_ids || new Set(b.instance_ids).size === b.instance_ids.length, {
    message: 'instance_ids lists an instance twice',
    path: ['instance_ids'],
  });

export const migrationIdParams = z.object({ id: z.uuid({ message: 'migration id must be a UUID' }) });

export const listMigrationsQuery = paginationQuery.extend({
  status: z.enum(MIGRATION_STATUSES).optional(),
  instance_id: z.uuid().optional(),
  node_id: z.uuid().optional().describe('Migrations from or to this node'),
  drain_id: z.uuid().optional(),
});

export const migrationResponse = z.object({
  id: z.uuid(),
  org_id: z.uuid(),
  instance_id: z.uuid(),
  source_node_id: z.uuid(),
  target_node_id: z.uuid(),
  status: z.enum(MIGRATION_STATUSES),
  step: z
    .enum(MIGRATION_STEPS)
    .describe(
      'stop → backup → transfer → create → restore → switch → start → cleanup; rollback after a failure or cancel before switch',
    ),
  progress: z.object({ percent: z.number(), message: z.string().nullable() }),
  bytes: z.object({ total: z.number().nullable(), transferred: z.number() }),
  was_running: z.boolean().nullable(),
  cancel_requested: z.boolean(),
  cancellable: z.boolean().describe('Until the instance switches to the target node'),
  error: z
    .object({ code: z.string(), message: z.string(), step: z.string().optional().describe('The step that failed') })
    .nullable(),
  drain_id: z.uuid().nullable(),
  batch_id: z.uuid(),
  max_parallel: z.number().int(),
  actor: z.object({ type: z.string(), id: z.string().nullable(), name: z.string().optional() }),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  updated_at: z.string(),
});
export type MigrationResponse = z.infer<typeof migrationResponse>;

export const migrationsAccepted = z.object({ data: z.array(migrationResponse), total: z.number().int() });

export function isCancellable(m: Pick<MigrationEntity, 'status' | 'step'>): boolean {
  // A rollback is before the switch too: cancelling it lets it finish and end `cancelled`.
  return (m.status === 'queued' || m.status === 'running') && (beforeSwitch(m.step) || m.step === 'rollback');
}

export function presentMigration(m: MigrationEntity): MigrationResponse {
  return {
    id: m.id,
    org_id: m.orgId,
    instance_id: m.instanceId,
    source_node_id: m.sourceNodeId,
    target_node_id: m.targetNodeId,
    status: m.status,
    step: m.step,
    progress: { percent: m.progressPercent, message: m.progressMessage },
    bytes: { total: m.bytesTotal === null ? null : Number(m.bytesTotal), transferred: Number(m.bytesTransferred) },
    was_running: m.wasRunning,
    cancel_requested: m.cancelRequested,
    cancellable: isCancellable(m) && !m.cancelRequested,
    error: m.error,
    drain_id: m.drainId,
    batch_id: m.batchId,
    max_parallel: m.maxParallel,
    actor: m.actor,
    created_at: m.createdAt.toISOString(),
    started_at: m.startedAt?.toISOString() ?? null,
    finished_at: m.finishedAt?.toISOString() ?? null,
    updated_at: m.updatedAt.toISOString(),
  };
}

import { z } from 'zod';
import { paginationQuery } from '../http/pagination';
import { operationResponse } from '../jobs/operations.schemas';
import type { BackupEntity } from './backup.entity';
import { displayName } from '../http/fields';

export const BACKUP_STATUSES = ['creating', 'uploading', 'ready', 'failed', 'deleting'] as const;

export const backupParams = z.object({
  id: z.uuid({ message: 'instance id must be a UUID' }),
  bid: z.uuid({ message: 'backup id must be a UUID' }),
});
export type BackupParams = z.infer<typeof backupParams>;

const ignorePattern = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => ![...p].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), {
    message: 'must not contain control characters',
  });

export const createBackupBody = z
  .object({
    name: displayName(200).optional().describe('Defaults to "Backup <UTC time>"'),
    ignore: z
      .array(ignorePattern)
      .max(100)
      .default([])
      .describe('Paths or glob patterns (relative to the instance root) left out of the archive, as in .gitignore'),
    locked: z.boolean().default(false).describe('A locked backup cannot be deleted until it is unlocked'),
  })
  .strict();
export type CreateBackupBody = z.infer<typeof createBackupBody>;

export const updateBackupBody = z
  .object({ name: displayName(200).optional(), locked: z.boolean().optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.locked !== undefined, { message: 'nothing to update: give name or locked' });
export type UpdateBackupBody = z.infer<typeof updateBackupBody>;

export const restoreBackupBody = z
  .object({
    truncate: z
      .boolean()
      .default(true)
      .describe('Empty the instance root first (true), or extract over what is there (false)'),
  })
  .strict();
export type RestoreBackupBody = z.infer<typeof restoreBackupBody>;

export const listBackupsQuery = paginationQuery.extend({ status: z.enum(BACKUP_STATUSES).optional() });
export type ListBackupsQuery = z.infer<typeof listBackupsQuery>;

export const backupResponse = z.object({
  id: z.uuid(),
  instance_id: z.uuid(),
  node_id: z.uuid().describe('The node that made the archive (and keeps it when storage is agent)'),
  name: z.string(),
  status: z.enum(BACKUP_STATUSES),
  storage: z.enum(['agent', 's3']),
  storage_config_id: z.uuid().nullable(),
  object_key: z.string().nullable().describe('Key of the object in the bucket (storage s3)'),
  size_bytes: z.number().int().nullable(),
  sha256: z.string().nullable().describe('Hex SHA-256 of the .tar.gz archive'),
  file_count: z.number().int().nullable(),
  ignore: z.array(z.string()),
  locked: z.boolean(),
  operation_id: z.uuid().nullable().describe('The operation that created it'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  created_by: z.uuid().nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
});
export type BackupResponse = z.infer<typeof backupResponse>;

export const backupAccepted = operationResponse.extend({ backup: backupResponse });

export function presentBackup(b: BackupEntity): BackupResponse {
  return {
    id: b.id,
    instance_id: b.instanceId,
    node_id: b.nodeId,
    name: b.name,
    status: b.status,
    storage: b.storage,
    storage_config_id: b.storageConfigId,
    object_key: b.storage === 's3' ? b.objectKey : null,
    size_bytes: b.sizeBytes,
    sha256: b.sha256,
    file_count: b.fileCount,
    ignore: b.ignore,
    locked: b.locked,
    operation_id: b.operationId,
    error: b.error,
    created_by: b.createdBy,
    created_at: b.createdAt.toISOString(),
    completed_at: b.completedAt?.toISOString() ?? null,
  };
}

import { z } from 'zod';

/**
 * A path inside an instance root, relative to it: `config/server.properties`. The root itself is
 * `.`. Absolute paths, `..`, empty or `.` segments, NUL and control characters are refused here,
 * on both sides; the agent also refuses anything that resolves outside the root through a link.
 */
export const instanceFilePath = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => ![...p].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), {
    message: 'must not contain control characters',
  })
  .refine((p) => !p.startsWith('/'), { message: "must be relative to the instance root (no leading '/')" })
  .refine((p) => p === '.' || !p.split('/').some((part) => part === '..' || part === '.' || part === ''), {
    message: "must not contain '..', '.' or empty segments",
  });
export type InstanceFilePath = z.infer<typeof instanceFilePath>;

/** Upload, backup and similar ids that name a file on the host. */
export const transferId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, { message: 'must be 8-64 characters: letters, digits, - and _' });

/** Docker container id or name, as `docker ps` shows it. */
export const containerRef = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, {
  message: "must be a container id or name: letters, digits, '_', '.', '-'",
});

export const FILE_TYPES = ['file', 'directory', 'symlink', 'other'] as const;

export const fileEntry = z.object({
  name: z.string(),
  /** Relative to the instance root. */
  path: z.string(),
  type: z.enum(FILE_TYPES),
  size_bytes: z.number().int().min(0),
  /** Permission bits as an octal string, e.g. "0644". */
  mode: z.string(),
  modified_at: z.iso.datetime(),
  /** For a symlink: its target as stored (never followed outside the root). */
  link_target: z.string().nullable(),
});
export type FileEntry = z.infer<typeof fileEntry>;

export const backupInfo = z.object({
  backup_id: transferId,
  instance_id: z.uuid(),
  size_bytes: z.number().int().min(0),
  /** Hex SHA-256 of the .tar.gz archive. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  file_count: z.number().int().min(0),
  created_at: z.iso.datetime(),
});
export type BackupInfo = z.infer<typeof backupInfo>;

export const CONTAINER_ACTIONS = ['start', 'stop', 'restart', 'kill'] as const;
export type ContainerAction = (typeof CONTAINER_ACTIONS)[number];

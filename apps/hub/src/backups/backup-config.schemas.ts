import { z } from 'zod';
import type { BackupStorageConfigEntity } from './backup.entity';
import { displayName } from '../http/fields';

export const configIdParams = z.object({ id: z.uuid({ message: 'backup config id must be a UUID' }) });

/** S3's own bucket naming rules (the strict, DNS-compatible set). */
export const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
    message:
      "bucket names are 3-63 characters: lower-case letters, digits, '.', '-', starting and ending with a letter or digit",
  })
  .refine((b) => !b.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(b), {
    message: "bucket names must not contain '..' or look like an IP address",
  });

const endpoint = z
  .string()
  .max(500)
  .refine(
    (v) => {
      try {
        const u = new URL(v);
        return (
          (u.protocol === 'http:' || u.protocol === 'https:') &&
          !u.username &&
          !u.password &&
          (u.pathname === '/' || u.pathname === '') &&
          !u.search
        );
      } catch {
        return false;
      }
    },
    {
      message:
        'must be an http:// or https:// URL of the S3 service, without credentials, path or query (e.g. https://s3.eu-central-1.amazonaws.com)',
    },
  );

const region = z
  .string()
  .regex(/^[a-z0-9-]{2,50}$/, { message: "regions are letters, digits and '-', e.g. us-east-1" });
const prefix = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9!_.*'()/-]*$/, { message: "prefixes use letters, digits and !_.*'()/-" })
  .refine((p) => !p.split('/').some((s) => s === '..'), { message: "must not contain '..'" });

export const createStorageConfigBody = z
  .object({
    name: displayName(100),
    endpoint: endpoint.nullable().default(null).describe('S3-compatible endpoint; null = AWS S3 in `region`'),
    region: region.default('us-east-1'),
    bucket: bucketName,
    access_key_id: z.string().min(1).max(256),
    secret_access_key: z.string().min(1).max(512).describe('Stored encrypted; never returned'),
    force_path_style: z
      .boolean()
      .default(false)
      .describe('Path-style URLs (MinIO, Ceph and most self-hosted stores need this)'),
    prefix: prefix.default('').describe('Key prefix for every object of this organization'),
    active: z.boolean().default(false).describe('Make it the active config at once (the bucket must be reachable)'),
  })
  .strict();
export type CreateStorageConfigBody = z.infer<typeof createStorageConfigBody>;

export const updateStorageConfigBody = z
  .object({
    name: displayName(100).optional(),
    endpoint: endpoint.nullable().optional(),
    region: region.optional(),
    bucket: bucketName.optional(),
    access_key_id: z.string().min(1).max(256).optional(),
    secret_access_key: z.string().min(1).max(512).optional().describe('Leave out to keep the stored one'),
    force_path_style: z.boolean().optional(),
    prefix: prefix.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to update' });
export type UpdateStorageConfigBody = z.infer<typeof updateStorageConfigBody>;

export const bucketsQuery = z.object({ config_id: z.uuid({ message: 'config_id must be a UUID' }) });
export const createBucketBody = z
  .object({ config_id: z.uuid({ message: 'config_id must be a UUID' }), bucket: bucketName })
  .strict();

export const storageConfigResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  endpoint: z.string().nullable(),
  region: z.string(),
  bucket: z.string(),
  prefix: z.string(),
  access_key_id: z.string(),
  secret_access_key_set: z.literal(true).describe('The secret is stored (encrypted) and never shown'),
  force_path_style: z.boolean(),
  active: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const bucketListResponse = z.object({
  data: z.array(z.object({ name: z.string(), created_at: z.string().nullable() })),
  total: z.number().int(),
});

export function presentStorageConfig(c: BackupStorageConfigEntity): z.infer<typeof storageConfigResponse> {
  return {
    id: c.id,
    name: c.name,
    endpoint: c.endpoint,
    region: c.region,
    bucket: c.bucket,
    prefix: c.prefix,
    access_key_id: c.accessKeyId,
    secret_access_key_set: true,
    force_path_style: c.forcePathStyle,
    active: c.active,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

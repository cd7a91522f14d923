import { z } from 'zod';
import { displayName } from '../http/fields';
import type { RegistryCredentialEntity } from './registry.entity';

export const registryIdParams = z.object({ id: z.uuid({ message: 'registry id must be a UUID' }) });

/** host[:port] as the first component of an image reference names it; no scheme, path or credentials. */
const registryServer = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/, {
    message:
      'is a registry host with an optional port, as image names carry it (ghcr.io, registry.example.com:5000, 127.0.0.1:5000), without https:// or a path',
  })
  .max(255)
  // Docker reads a first component without a dot, a port or `localhost` as a Docker Hub path:
  // such a server would send these credentials to Docker Hub.
  .refine((v) => v.includes('.') || v.includes(':') || v === 'localhost', {
    message:
      'must name a host Docker recognises as a registry: with a dot or a port, or localhost (e.g. registry.local:5000)',
  });

export const createRegistryBody = z
  .object({
    name: displayName(100),
    server: registryServer,
    username: z.string().min(1).max(255),
    password: z.string().min(1).max(4096).describe('A password or access token; stored encrypted, never returned'),
  })
  .strict();
export type CreateRegistryBody = z.infer<typeof createRegistryBody>;

export const updateRegistryBody = z
  .object({
    name: displayName(100).optional(),
    server: registryServer.optional(),
    username: z.string().min(1).max(255).optional(),
    password: z.string().min(1).max(4096).optional().describe('Leave out to keep the stored one'),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to update' });
export type UpdateRegistryBody = z.infer<typeof updateRegistryBody>;

export const registryResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  server: z.string(),
  username: z.string(),
  password_set: z.literal(true).describe('The password is stored (encrypted) and never shown'),
  created_at: z.string(),
  updated_at: z.string(),
});

export function presentRegistry(r: RegistryCredentialEntity): z.infer<typeof registryResponse> {
  return {
    id: r.id,
    name: r.name,
    server: r.server,
    username: r.username,
    password_set: true,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

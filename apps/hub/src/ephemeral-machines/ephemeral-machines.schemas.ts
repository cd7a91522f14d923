import { z } from 'zod';
import { machineRef } from '@hostplane/protocol';

export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 7 * 86_400;
export const DEFAULT_TTL_SECONDS = 3600;

const ttl = z
  .number()
  .int()
  .min(MIN_TTL_SECONDS)
  .max(MAX_TTL_SECONDS)
  .describe(`Seconds until the clone is deleted, ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}`);

export const createEphemeralBody = z
  .object({
    template: machineRef.describe('The VM or template to clone (linked): its UUID or name'),
    node_id: z
      .uuid()
      .optional()
      .describe('The node to clone on; else an online, uncordoned node that has the template'),
    name_prefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,30}$/, { message: 'lower-case letters, digits and "-", at most 31' })
      .default('ci')
      .describe('The clone is named `<prefix>-<8 hex digits>`'),
    ttl_seconds: ttl.default(DEFAULT_TTL_SECONDS),
    start: z.boolean().default(true).describe('Start the clone (and wait for its address)'),
    wait_for_ip_seconds: z
      .number()
      .int()
      .min(0)
      .max(1800)
      .default(120)
      .describe('How long the operation waits for a guest address; 0: do not wait'),
  })
  .strict();
export type CreateEphemeralBody = z.infer<typeof createEphemeralBody>;

export const extendEphemeralBody = z.object({ ttl_seconds: ttl }).strict();
export const ephemeralParams = z.object({ id: z.uuid({ message: 'an ephemeral clone id is a UUID' }) });
export const listEphemeralQuery = z.object({
  include_deleted: z.enum(['true', 'false']).optional().describe('Also list clones already deleted (kept 7 days)'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

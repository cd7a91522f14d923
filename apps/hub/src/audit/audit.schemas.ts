import { z } from 'zod';
import { pageOf, paginationQuery } from '../http/pagination';
import { isoDateTime } from '../http/fields';

const filters = {
  actor_id: z
    .uuid({ message: 'must be a user id (UUID)' })
    .optional()
    .describe('Only entries by this user (directly or through their API tokens)'),
  org_id: z
    .uuid({ message: 'must be an organization id (UUID)' })
    .optional()
    .describe('Only entries in this organization'),
  action: z
    .string()
    .regex(/^[a-z0-9_.:/ -]+\*?$/i, { message: 'must be an action name, optionally ending in * for a prefix' })
    .max(200)
    .optional()
    .describe('Exact action (auth.login) or prefix ending in * (auth.*)'),
  outcome: z.enum(['success', 'failure', 'denied']).optional(),
  from: isoDateTime().optional().describe('Entries at or after this time'),
  to: isoDateTime().optional().describe('Entries before this time'),
};

export const auditListQuery = paginationQuery.extend(filters).strict();
export type AuditListQuery = z.infer<typeof auditListQuery>;

export const auditExportQuery = z
  .object({
    ...filters,
    format: z.enum(['csv', 'ndjson']).default('ndjson').describe('csv or ndjson (one JSON object per line)'),
  })
  .strict();
export type AuditExportQuery = z.infer<typeof auditExportQuery>;

export const auditRecord = z.object({
  id: z.string(),
  occurred_at: z.string(),
  actor_type: z.enum(['user', 'api_token', 'anonymous', 'system']),
  actor_id: z.string().nullable(),
  actor_email: z.string().nullable(),
  api_token_id: z.string().nullable(),
  org_id: z.string().nullable(),
  action: z.string(),
  target_type: z.string().nullable(),
  target_id: z.string().nullable(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  outcome: z.enum(['success', 'failure', 'denied']),
  status_code: z.number().nullable(),
  request_id: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});
export const auditPage = pageOf(auditRecord);

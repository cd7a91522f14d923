import { z } from 'zod';
import { pageOf } from '../http/pagination';
import { permissionKeyField } from '../organizations/organizations.schemas';
import { displayName } from '../http/fields';

const FIVE_YEARS = 5 * 365 * 24 * 3600;

export const createApiTokenBody = z
  .object({
    name: displayName(100),
    expires_in: z
      .number({ message: 'must be a number of seconds, or null for a token that never expires' })
      .int()
      .min(60, { message: 'must be at least 60 seconds' })
      .max(FIVE_YEARS, { message: 'must be at most 5 years' })
      .nullable()
      .describe('Lifetime in seconds; null = never expires'),
    scopes: z
      .array(permissionKeyField)
      .min(1, { message: 'must list at least one permission key, or be left out for all of yours' })
      .max(50)
      .refine((s) => new Set(s).size === s.length, { message: 'must not repeat a key' })
      .optional()
      .describe(
        'Permission keys the token is limited to (see GET /v1/permissions); absent = everything you may do in the organization',
      ),
  })
  .strict();
export type CreateApiTokenBody = z.infer<typeof createApiTokenBody>;

export const apiTokenView = z.object({
  id: z.uuid(),
  name: z.string(),
  org_id: z.uuid(),
  token_hint: z.string().describe('The start of the token, to recognise it'),
  scopes: z.array(z.string()).nullable(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable().describe('Updated at most once a minute'),
  created_at: z.string(),
});
export type ApiTokenView = z.infer<typeof apiTokenView>;

export const createdApiTokenView = apiTokenView.extend({
  token: z.string().describe('The token itself: shown only this once'),
});
export type CreatedApiTokenView = z.infer<typeof createdApiTokenView>;

export const apiTokenPage = pageOf(apiTokenView);

export const apiTokenParams = z.object({ id: z.uuid({ message: 'must be an API token id (UUID)' }) });
export type ApiTokenParams = z.infer<typeof apiTokenParams>;

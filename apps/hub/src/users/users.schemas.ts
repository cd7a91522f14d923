import { z } from 'zod';
import { pageOf, paginationQuery } from '../http/pagination';
import { displayName, emailField } from '../http/fields';

/** Length and quality are checked by the password policy, which explains what is wrong. */
export const passwordField = z
  .string()
  .min(1, { message: 'is required' })
  .max(1024, { message: 'must be at most 1024 characters' });

export const nameField = displayName(100, { allowEmpty: true });

export const userView = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  is_platform_admin: z.boolean(),
  status: z.enum(['active', 'suspended']),
  mfa_enabled: z.boolean(),
  github_login: z.string().nullable(),
  created_at: z.string(),
  last_login_at: z.string().nullable(),
  suspended_at: z.string().nullable(),
});
export type UserView = z.infer<typeof userView>;

export const meView = userView.extend({
  organizations: z.array(
    z.object({
      id: z.uuid(),
      name: z.string(),
      role: z.enum(['owner', 'admin', 'member', 'viewer']),
      personal: z.boolean(),
    }),
  ),
});
export type MeView = z.infer<typeof meView>;

export const adminUserView = userView.extend({
  organization_count: z.number().int(),
  active_sessions: z.number().int(),
});
export type AdminUserView = z.infer<typeof adminUserView>;

export const userPage = pageOf(userView);
export const adminUserPage = pageOf(adminUserView);

export const createUserBody = z
  .object({
    email: emailField,
    password: passwordField,
    name: nameField.default(''),
    is_platform_admin: z.boolean().default(false),
  })
  .strict();
export type CreateUserBody = z.infer<typeof createUserBody>;

export const changePasswordBody = z
  .object({
    current_password: passwordField.optional().describe('Required when the account has a password'),
    new_password: passwordField,
  })
  .strict();
export type ChangePasswordBody = z.infer<typeof changePasswordBody>;

export const userListQuery = paginationQuery
  .extend({
    email: z.string().trim().max(254).optional().describe('Only users whose email contains this'),
    status: z.enum(['active', 'suspended']).optional(),
  })
  .strict();
export type UserListQuery = z.infer<typeof userListQuery>;

export const userIdParams = z.object({ id: z.uuid({ message: 'must be a user id (UUID)' }) });
export type UserIdParams = z.infer<typeof userIdParams>;

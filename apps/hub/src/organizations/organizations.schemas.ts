import { z } from 'zod';
import { PERMISSION_KEYS, PermissionKey, ROLES } from '../access/permissions';
import { pageOf } from '../http/pagination';
import { emailField } from '../http/fields';
import { displayName } from '../http/fields';

const uuid = (what: string) => z.uuid({ message: `must be ${what} id (UUID)` });
export const roleField = z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` });
const orgName = displayName(100);
export const permissionKeyField = z.enum(PERMISSION_KEYS as [PermissionKey, ...PermissionKey[]], {
  message: 'is not a permission key: GET /v1/permissions lists them',
});

export const orgParams = z.object({ orgId: uuid('an organization') });
export type OrgParams = z.infer<typeof orgParams>;
export const memberParams = orgParams.extend({ userId: uuid('a user') });
export type MemberParams = z.infer<typeof memberParams>;
export const grantParams = memberParams.extend({ key: permissionKeyField });
export type GrantParams = z.infer<typeof grantParams>;
export const inviteParams = orgParams.extend({ inviteId: uuid('an invite') });
export type InviteParams = z.infer<typeof inviteParams>;
export const inviteTokenParams = z.object({ token: z.string().min(1).max(200) });
export type InviteTokenParams = z.infer<typeof inviteTokenParams>;

export const orgView = z.object({
  id: z.uuid(),
  name: z.string(),
  personal: z.boolean(),
  created_at: z.string(),
  role: roleField.nullable().describe("The caller's role; null for a platform admin who is not a member"),
});
export type OrgView = z.infer<typeof orgView>;
export const orgList = z.object({ data: z.array(orgView), total: z.number().int() });

export const createOrgBody = z.object({ name: orgName }).strict();
export type CreateOrgBody = z.infer<typeof createOrgBody>;
export const updateOrgBody = z.object({ name: orgName }).strict();
export type UpdateOrgBody = z.infer<typeof updateOrgBody>;

export const memberView = z.object({
  user_id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: roleField,
  granted_permissions: z.array(z.string()),
  joined_at: z.string(),
});
export type MemberView = z.infer<typeof memberView>;
export const memberPage = pageOf(memberView);

export const roleBody = z.object({ role: roleField }).strict();
export type RoleBody = z.infer<typeof roleBody>;

export const grantBody = z.object({ key: permissionKeyField }).strict();
export type GrantBody = z.infer<typeof grantBody>;

export const memberPermissionsView = z.object({
  user_id: z.uuid(),
  role: roleField,
  role_permissions: z.array(z.string()),
  granted_permissions: z.array(z.string()),
  effective_permissions: z.array(z.string()),
});
export type MemberPermissionsView = z.infer<typeof memberPermissionsView>;

export const inviteBody = z.object({ email: emailField, role: roleField.default('member') }).strict();
export type InviteBody = z.infer<typeof inviteBody>;

export const inviteView = z.object({
  id: z.uuid(),
  org_id: z.uuid(),
  email: z.string(),
  role: roleField,
  invited_by: z.uuid().nullable(),
  expires_at: z.string(),
  expired: z.boolean(),
  created_at: z.string(),
});
export type InviteView = z.infer<typeof inviteView>;
export const invitePage = pageOf(inviteView);
export const createdInviteView = inviteView.extend({
  delivery: z
    .enum(['email', 'manual'])
    .describe('manual: no SMTP server is configured, so pass `token` to the invitee yourself'),
  token: z.string().optional().describe('Only with delivery=manual'),
});
export type CreatedInviteView = z.infer<typeof createdInviteView>;

export const acceptedInviteView = z.object({ org_id: z.uuid(), org_name: z.string(), role: roleField });
export type AcceptedInviteView = z.infer<typeof acceptedInviteView>;

export const permissionList = z.object({
  data: z.array(
    z.object({ key: z.string(), description: z.string(), roles: z.array(roleField), grantable: z.boolean() }),
  ),
  roles: z.array(roleField),
});

import type { EntityManager } from 'typeorm';
import type { Role } from '../access/permissions';
import { Organization, OrganizationMember } from './organization.entity';

/**
 * Writes shared by the organization service and account creation (sign-up makes a personal
 * organization in the same transaction as the user). Plain functions over an EntityManager.
 */
export async function insertOrganization(
  m: EntityManager,
  input: { name: string; personal: boolean; ownerId: string },
): Promise<Organization> {
  const org = await m
    .getRepository(Organization)
    .save(
      m.getRepository(Organization).create({ name: input.name, personal: input.personal, createdBy: input.ownerId }),
    );
  await insertMember(m, org.id, input.ownerId, 'owner');
  return org;
}

export async function insertMember(m: EntityManager, orgId: string, userId: string, role: Role): Promise<void> {
  await m.getRepository(OrganizationMember).insert({ orgId, userId, role });
}

/** Serializes membership changes of one organization (the last-owner rule needs it). */
export async function lockOrganization(m: EntityManager, orgId: string): Promise<boolean> {
  const rows = (await m.query(`SELECT id FROM organizations WHERE id = $1 FOR UPDATE`, [orgId])) as unknown[];
  return rows.length > 0;
}

export async function countOwners(m: EntityManager, orgId: string): Promise<number> {
  const rows = (await m.query(
    `SELECT count(*)::int AS n FROM organization_members WHERE org_id = $1 AND role = 'owner'`,
    [orgId],
  )) as { n: number }[];
  return rows[0]?.n ?? 0;
}

export function personalOrgName(user: { name: string; email: string }): string {
  const who = user.name.trim() || user.email.split('@')[0]!;
  return `${who}'s organization`;
}

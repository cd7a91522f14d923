import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AccessCache, accessKeys } from '../access/access-cache';
import { PermissionDeniedError } from '../access/access.errors';
import { effectivePermissions, isGrantable, PermissionKey, ROLE_PERMISSIONS, Role } from '../access/permissions';
import { Principal, requireOrg } from '../access/principal';
import { NotFoundError } from '../http/errors';
import type { Page, Pagination } from '../http/pagination';
import { MembershipProblem, removalProblem, roleChangeProblem } from './membership-rules';
import { countOwners, insertOrganization, lockOrganization } from './organization-store';
import { MemberPermission, Organization, OrganizationMember } from './organization.entity';
import { LastOwnerError, RoleEscalationError } from './organizations.errors';
import type { MemberPermissionsView, MemberView, OrgView } from './organizations.schemas';

function toOrgView(o: Organization, role: Role | null): OrgView {
  return { id: o.id, name: o.name, personal: o.personal, created_at: o.createdAt.toISOString(), role };
}

function raise(problem: MembershipProblem, orgName: string): void {
  if (!problem) return;
  if (problem.kind === 'last_owner') throw new LastOwnerError(orgName);
  throw new RoleEscalationError(problem.message);
}

/**
 * Organizations, their members, roles and individually granted permissions. Every method takes
 * the principal whose active organization the access guard has already resolved, and touches
 * that organization only.
 */
@Injectable()
export class OrganizationsService {
  constructor(
    private readonly db: DataSource,
    private readonly cache: AccessCache,
  ) {}

  async list(p: Principal): Promise<Page<OrgView>> {
    const rows = (await this.db.query(
      `SELECT o.id, o.name, o.personal, o.created_at, m.role FROM organization_members m JOIN organizations o ON o.id = m.org_id
        WHERE m.user_id = $1 AND ($2::uuid IS NULL OR o.id = $2::uuid) ORDER BY o.personal DESC, o.name, o.id`,
      [p.userId, p.kind === 'api_token' ? requireOrg(p).id : null],
    )) as { id: string; name: string; personal: boolean; created_at: Date; role: Role }[];
    return {
      data: rows.map((r) => ({
        id: r.id,
        name: r.name,
        personal: r.personal,
        created_at: r.created_at.toISOString(),
        role: r.role,
      })),
      total: rows.length,
    };
  }

  async create(p: Principal, name: string): Promise<OrgView> {
    const org = await this.db.transaction((m) => insertOrganization(m, { name, personal: false, ownerId: p.userId }));
    await this.cache.invalidate(accessKeys.user(p.userId));
    return toOrgView(org, 'owner');
  }

  async get(p: Principal): Promise<OrgView> {
    const org = requireOrg(p);
    return toOrgView(await this.load(this.db.manager, org.id), org.role);
  }

  async rename(p: Principal, name: string): Promise<OrgView> {
    const org = requireOrg(p);
    await this.db.getRepository(Organization).update({ id: org.id }, { name });
    return this.get(p);
  }

  async delete(p: Principal): Promise<void> {
    const orgId = requireOrg(p).id;
    const members = await this.db.transaction(async (m) => {
      if (!(await lockOrganization(m, orgId))) throw new NotFoundError(`organization ${orgId}`);
      const rows = (await m.query(`SELECT user_id FROM organization_members WHERE org_id = $1`, [orgId])) as {
        user_id: string;
      }[];
      await m.getRepository(Organization).delete({ id: orgId });
      return rows.map((r) => r.user_id);
    });
    await this.cache.invalidate(accessKeys.org(orgId), ...members.map(accessKeys.user));
  }

  async members(p: Principal, page: Pagination): Promise<Page<MemberView>> {
    const orgId = requireOrg(p).id;
    const [rows, count] = await Promise.all([
      this.db.query(
        `SELECT m.user_id, u.email, u.name, m.role, m.created_at,
                COALESCE((SELECT array_agg(g.permission_key ORDER BY g.permission_key) FROM member_permissions g
                           WHERE g.org_id = m.org_id AND g.user_id = m.user_id), '{}') AS granted
           FROM organization_members m JOIN users u ON u.id = m.user_id
          WHERE m.org_id = $1
          ORDER BY m.created_at, m.user_id LIMIT $2 OFFSET $3`,
        [orgId, page.limit, page.offset],
      ) as Promise<{ user_id: string; email: string; name: string; role: Role; created_at: Date; granted: string[] }[]>,
      this.db.query(`SELECT count(*)::int AS n FROM organization_members WHERE org_id = $1`, [orgId]) as Promise<
        { n: number }[]
      >,
    ]);
    return {
      data: rows.map((r) => ({
        user_id: r.user_id,
        email: r.email,
        name: r.name,
        role: r.role,
        granted_permissions: r.granted,
        joined_at: r.created_at.toISOString(),
      })),
      total: count[0]?.n ?? 0,
    };
  }

  async changeRole(p: Principal, userId: string, role: Role): Promise<MemberView> {
    const org = requireOrg(p);
    await this.db.transaction(async (m) => {
      const { target, orgName } = await this.lockMember(m, org.id, userId);
      raise(roleChangeProblem(org.role, target.role, role, await countOwners(m, org.id)), orgName);
      await m.getRepository(OrganizationMember).update({ orgId: org.id, userId }, { role });
    });
    await this.cache.invalidate(accessKeys.user(userId));
    return this.member(org.id, userId);
  }

  async removeMember(p: Principal, userId: string): Promise<void> {
    const org = requireOrg(p);
    await this.db.transaction(async (m) => {
      const { target, orgName } = await this.lockMember(m, org.id, userId);
      raise(removalProblem(org.role, target.role, await countOwners(m, org.id)), orgName);
      await m.getRepository(OrganizationMember).delete({ orgId: org.id, userId });
    });
    await this.cache.invalidate(accessKeys.user(userId));
  }

  async permissions(p: Principal, userId: string): Promise<MemberPermissionsView> {
    const orgId = requireOrg(p).id;
    const target = await this.db.getRepository(OrganizationMember).findOneBy({ orgId, userId });
    if (!target) throw new NotFoundError(`member ${userId}`);
    const granted = (
      await this.db.getRepository(MemberPermission).find({ where: { orgId, userId }, order: { permissionKey: 'ASC' } })
    ).map((g) => g.permissionKey);
    return {
      user_id: userId,
      role: target.role,
      role_permissions: [...ROLE_PERMISSIONS[target.role]].sort(),
      granted_permissions: granted,
      effective_permissions: [...effectivePermissions(target.role, granted, null)].sort(),
    };
  }

  /** Grants a key on top of the member's role; only keys the granter holds in this organization. */
  async grant(p: Principal, userId: string, key: PermissionKey): Promise<MemberPermissionsView> {
    const org = requireOrg(p);
    if (!isGrantable(key)) throw new RoleEscalationError(`'${key}' cannot be granted to a member`);
    if (!org.permissions.has(key)) throw new PermissionDeniedError(key);
    await this.db.transaction(async (m) => {
      await this.lockMember(m, org.id, userId);
      await m.query(
        `INSERT INTO member_permissions (org_id, user_id, permission_key, granted_by) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [org.id, userId, key, p.userId],
      );
    });
    await this.cache.invalidate(accessKeys.user(userId));
    return this.permissions(p, userId);
  }

  async revokeGrant(p: Principal, userId: string, key: string): Promise<void> {
    const orgId = requireOrg(p).id;
    const result = await this.db.getRepository(MemberPermission).delete({ orgId, userId, permissionKey: key });
    if (!result.affected) throw new NotFoundError(`permission '${key}' granted to member ${userId}`);
    await this.cache.invalidate(accessKeys.user(userId));
  }

  async member(orgId: string, userId: string): Promise<MemberView> {
    const rows = (await this.db.query(
      `SELECT m.user_id, u.email, u.name, m.role, m.created_at,
              COALESCE((SELECT array_agg(g.permission_key ORDER BY g.permission_key) FROM member_permissions g
                         WHERE g.org_id = m.org_id AND g.user_id = m.user_id), '{}') AS granted
         FROM organization_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.user_id = $2`,
      [orgId, userId],
    )) as { user_id: string; email: string; name: string; role: Role; created_at: Date; granted: string[] }[];
    const r = rows[0];
    if (!r) throw new NotFoundError(`member ${userId}`);
    return {
      user_id: r.user_id,
      email: r.email,
      name: r.name,
      role: r.role,
      granted_permissions: r.granted,
      joined_at: r.created_at.toISOString(),
    };
  }

  private async load(m: EntityManager, orgId: string): Promise<Organization> {
    const org = await m.getRepository(Organization).findOneBy({ id: orgId });
    if (!org) throw new NotFoundError(`organization ${orgId}`);
    return org;
  }

  /** Locks the organization (membership changes of one org are serialized) and finds the member. */
  private async lockMember(
    m: EntityManager,
    orgId: string,
    userId: string,
  ): Promise<{ target: OrganizationMember; orgName: string }> {
    if (!(await lockOrganization(m, orgId))) throw new NotFoundError(`organization ${orgId}`);
    const target = await m.getRepository(OrganizationMember).findOneBy({ orgId, userId });
    if (!target) throw new NotFoundError(`member ${userId}`);
    return { target, orgName: (await this.load(m, orgId)).name };
  }
}

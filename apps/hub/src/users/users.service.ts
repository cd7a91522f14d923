import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AccessCache, accessKeys } from '../access/access-cache';
import type { Principal } from '../access/principal';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { NotFoundError } from '../http/errors';
import type { Page, Pagination } from '../http/pagination';
import { LastOwnerError } from '../organizations/organizations.errors';
import { insertOrganization, personalOrgName } from '../organizations/organization-store';
import type { Organization } from '../organizations/organization.entity';
import { passwordProblem } from './password-policy';
import { hashPassword, verifyPassword } from './passwords';
import { USER_SESSIONS, type UserSessions } from './user-sessions.port';
import { User } from './user.entity';
import { EmailTakenError, SelfTargetError, WeakPasswordError, WrongPasswordError } from './users.errors';
import type { AdminUserView, MeView, UserView } from './users.schemas';
import { isUniqueViolation } from '../http/unique-names';

export interface NewAccount {
  email: string;
  /** Absent for accounts that sign in with GitHub only. */
  password?: string;
  name?: string;
  platformAdmin?: boolean;
  githubId?: string;
  githubLogin?: string;
  /** The first organization: by default a personal one named after the user. */
  orgName?: string;
  personalOrg?: boolean;
}

export function toUserView(u: User): UserView {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    is_platform_admin: u.isPlatformAdmin,
    status: u.status,
    mfa_enabled: u.mfaEnabled,
    github_login: u.githubLogin,
    created_at: u.createdAt.toISOString(),
    last_login_at: u.lastLoginAt?.toISOString() ?? null,
    suspended_at: u.suspendedAt?.toISOString() ?? null,
  };
}

@Injectable()
export class UsersService {
  constructor(
    private readonly db: DataSource,
    private readonly cache: AccessCache,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(USER_SESSIONS) private readonly sessions: UserSessions,
  ) {}

  /** Refuses a weak password with the reason, phrased for the user. */
  checkPassword(password: string, personal: { email: string; name?: string }): void {
    const problem = passwordProblem(password, {
      minLength: this.config.auth.passwordMinLength,
      personal: [personal.email, personal.email.split('@')[0]!, ...(personal.name ? [personal.name] : [])],
    });
    if (problem) throw new WeakPasswordError(problem);
  }

  /** A user and their first organization (they own it), in one transaction. */
  async createAccount(input: NewAccount, manager?: EntityManager): Promise<{ user: User; org: Organization }> {
    if (input.password !== undefined) this.checkPassword(input.password, input);
    const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
    const run = async (m: EntityManager) => {
      const repo = m.getRepository(User);
      const user = repo.create({
        email: input.email,
        name: input.name ?? '',
        passwordHash,
        isPlatformAdmin: input.platformAdmin ?? false,
        githubId: input.githubId ?? null,
        githubLogin: input.githubLogin ?? null,
        passwordChangedAt: passwordHash ? new Date() : null,
      });
      try {
        await m.query('SAVEPOINT create_account');
        await repo.insert(user);
        await m.query('RELEASE SAVEPOINT create_account');
      } catch (err) {
        await m.query('ROLLBACK TO SAVEPOINT create_account');
        if (isUniqueViolation(err)) throw new EmailTakenError(input.email);
        throw err;
      }
      const org = await insertOrganization(m, {
        name: input.orgName ?? personalOrgName(user),
        personal: input.personalOrg ?? true,
        ownerId: user.id,
      });
      return { user: await repo.findOneByOrFail({ id: user.id }), org };
    };
    return manager ? run(manager) : this.db.transaction(run);
  }

  findByEmail(email: string): Promise<User | null> {
    return this.db.getRepository(User).findOneBy({ email: email.trim().toLowerCase() });
  }

  findById(id: string): Promise<User | null> {
    return this.db.getRepository(User).findOneBy({ id });
  }

  async get(id: string): Promise<User> {
    const user = await this.findById(id);
    if (!user) throw new NotFoundError(`user ${id}`);
    return user;
  }

  /** The user and their organizations (only `onlyOrgId` for an API token, which sees no other). */
  async me(userId: string, onlyOrgId?: string): Promise<MeView> {
    const [user, orgs] = await Promise.all([
      this.get(userId),
      this.db.query(
        `SELECT o.id, o.name, m.role, o.personal FROM organization_members m JOIN organizations o ON o.id = m.org_id
          WHERE m.user_id = $1 AND ($2::uuid IS NULL OR o.id = $2::uuid) ORDER BY o.personal DESC, o.name`,
        [userId, onlyOrgId ?? null],
      ) as Promise<MeView['organizations']>,
    ]);
    return { ...toUserView(user), organizations: orgs };
  }

  async list(q: Pagination & { email?: string; status?: 'active' | 'suspended' }): Promise<Page<UserView>> {
    const qb = this.db
      .getRepository(User)
      .createQueryBuilder('u')
      .orderBy('u.createdAt', 'ASC')
      .addOrderBy('u.id', 'ASC')
      .skip(q.offset)
      .take(q.limit);
    if (q.email)
      qb.andWhere(`u.email LIKE :email ESCAPE '\\'`, {
        email: `%${q.email.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
      });
    if (q.status) qb.andWhere('u.status = :status', { status: q.status });
    const [users, total] = await qb.getManyAndCount();
    return { data: users.map(toUserView), total };
  }

  async adminList(q: Pagination & { email?: string; status?: 'active' | 'suspended' }): Promise<Page<AdminUserView>> {
    const page = await this.list(q);
    if (!page.data.length) return { data: [], total: page.total };
    const counts = (await this.db.query(
      `SELECT u.id,
              (SELECT count(*)::int FROM organization_members m WHERE m.user_id = u.id) AS orgs,
              (SELECT count(*)::int FROM sessions s WHERE s.user_id = u.id AND s.revoked_at IS NULL AND s.expires_at > now()) AS sessions
         FROM users u WHERE u.id = ANY($1::uuid[])`,
      [page.data.map((u) => u.id)],
    )) as { id: string; orgs: number; sessions: number }[];
    const byId = new Map(counts.map((c) => [c.id, c]));
    return {
      data: page.data.map((u) => ({
        ...u,
        organization_count: byId.get(u.id)?.orgs ?? 0,
        active_sessions: byId.get(u.id)?.sessions ?? 0,
      })),
      total: page.total,
    };
  }

  async changePassword(principal: Principal, current: string | undefined, next: string): Promise<void> {
    const user = await this.get(principal.userId);
    if (user.passwordHash && (current === undefined || !(await verifyPassword(user.passwordHash, current))))
      throw new WrongPasswordError();
    await this.setPassword(user, next, principal.sessionId ?? undefined);
  }

  /**
   * Sets a new password and ends every other session of the user. Inside a caller's transaction
   * it returns the ended sessions for the caller to invalidate after commit.
   */
  async setPassword(user: User, next: string, keepSessionId?: string, manager?: EntityManager): Promise<string[]> {
    this.checkPassword(next, user);
    const hash = await hashPassword(next);
    const run = async (m: EntityManager) => {
      await m.getRepository(User).update({ id: user.id }, { passwordHash: hash, passwordChangedAt: new Date() });
      return this.sessions.revokeAll(m, user.id, 'password changed', keepSessionId);
    };
    if (manager) return run(manager);
    const revoked = await this.db.transaction(run);
    await this.cache.invalidate(...revoked.map(accessKeys.session));
    return revoked;
  }

  /** Deletes a user; their organizations with no other member go too. */
  async delete(actor: Principal, id: string): Promise<void> {
    if (actor.userId === id) throw new SelfTargetError('delete');
    const removedOrgs = await this.db.transaction(async (m) => {
      const user = await m.getRepository(User).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new NotFoundError(`user ${id}`);
      const owned = (await m.query(
        `SELECT o.id, o.name,
                (SELECT count(*)::int FROM organization_members x WHERE x.org_id = o.id AND x.user_id <> $1) AS others,
                (SELECT count(*)::int FROM organization_members x WHERE x.org_id = o.id AND x.user_id <> $1 AND x.role = 'owner') AS other_owners
           FROM organizations o JOIN organization_members m ON m.org_id = o.id AND m.user_id = $1 AND m.role = 'owner'
          FOR UPDATE OF o`,
        [id],
      )) as { id: string; name: string; others: number; other_owners: number }[];
      const orphaned = owned.find((o) => o.others > 0 && o.other_owners === 0);
      if (orphaned) throw new LastOwnerError(orphaned.name);
      const alone = owned.filter((o) => o.others === 0).map((o) => o.id);
      if (alone.length) await m.query(`DELETE FROM organizations WHERE id = ANY($1::uuid[])`, [alone]);
      await m.getRepository(User).delete({ id });
      return alone;
    });
    await this.cache.invalidate(accessKeys.user(id), ...removedOrgs.map(accessKeys.org));
  }

  async suspend(actor: Principal, id: string): Promise<User> {
    if (actor.userId === id) throw new SelfTargetError('suspend');
    const revoked = await this.db.transaction(async (m) => {
      const result = await m.getRepository(User).update({ id }, { status: 'suspended', suspendedAt: new Date() });
      if (!result.affected) throw new NotFoundError(`user ${id}`);
      return this.sessions.revokeAll(m, id, 'user suspended');
    });
    await this.cache.invalidate(accessKeys.user(id), ...revoked.map(accessKeys.session));
    return this.get(id);
  }

  async unsuspend(id: string): Promise<User> {
    const result = await this.db.getRepository(User).update({ id }, { status: 'active', suspendedAt: null });
    if (!result.affected) throw new NotFoundError(`user ${id}`);
    await this.cache.invalidate(accessKeys.user(id));
    return this.get(id);
  }

  async recordLogin(userId: string): Promise<void> {
    await this.db.getRepository(User).update({ id: userId }, { lastLoginAt: new Date() });
  }
}

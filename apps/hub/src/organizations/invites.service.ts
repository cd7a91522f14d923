import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { AccessCache, accessKeys } from '../access/access-cache';
import type { Role } from '../access/permissions';
import { Principal, requireOrg } from '../access/principal';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { checkOpaqueToken, issueOpaqueToken, sha256Hex } from '../crypto/opaque-token';
import { NotFoundError } from '../http/errors';
import type { Page, Pagination } from '../http/pagination';
import { MailService } from '../mail/mail.service';
import { inviteMail } from '../mail/mail.templates';
import { inviteProblem } from './membership-rules';
import { insertMember } from './organization-store';
import { Organization, OrganizationInvite, OrganizationMember } from './organization.entity';
import { AlreadyMemberError, InviteProblemError, MailFailedError, RoleEscalationError } from './organizations.errors';
import type { AcceptedInviteView, CreatedInviteView, InviteView } from './organizations.schemas';

export const INVITE_PREFIX = 'hp_inv_';

function toInviteView(i: OrganizationInvite): InviteView {
  return {
    id: i.id,
    org_id: i.orgId,
    email: i.email,
    role: i.role,
    invited_by: i.invitedBy,
    expires_at: i.expiresAt.toISOString(),
    expired: i.expiresAt.getTime() <= Date.now(),
    created_at: i.createdAt.toISOString(),
  };
}

/**
 * Invites to an organization: a single-use `hp_inv_` token bound to one email address, mailed
 * through the SMTP transport and stored as SHA-256. Accepting needs a signed-in user with that
 * address, or a registration with it (see auth/registration.service.ts).
 */
@Injectable()
export class InvitesService {
  constructor(
    private readonly db: DataSource,
    private readonly mail: MailService,
    private readonly cache: AccessCache,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  async create(p: Principal, email: string, role: Role): Promise<CreatedInviteView> {
    const org = requireOrg(p);
    const problem = inviteProblem(org.role, role);
    if (problem?.kind === 'escalation') throw new RoleEscalationError(problem.message);
    const token = issueOpaqueToken(INVITE_PREFIX);
    const { invite, orgName } = await this.db.transaction(async (m) => {
      const member = (await m.query(
        `SELECT 1 FROM organization_members om JOIN users u ON u.id = om.user_id WHERE om.org_id = $1 AND u.email = $2`,
        [org.id, email],
      )) as unknown[];
      if (member.length) throw new AlreadyMemberError(email);
      // A new invite to the same address replaces a pending one (a resend).
      await m.getRepository(OrganizationInvite).delete({ orgId: org.id, email, acceptedAt: IsNull() });
      const repo = m.getRepository(OrganizationInvite);
      const saved = await repo.save(
        repo.create({
          orgId: org.id,
          email,
          role,
          tokenHash: sha256Hex(token),
          invitedBy: p.userId,
          expiresAt: new Date(Date.now() + this.config.auth.inviteTtlHours * 3600_000),
        }),
      );
      const orgRow = await m.getRepository(Organization).findOneByOrFail({ id: org.id });
      return { invite: saved, orgName: orgRow.name };
    });
    if (!this.mail.enabled) return { ...toInviteView(invite), delivery: 'manual', token };
    try {
      await this.mail.send(
        inviteMail(email, this.config.http.publicUrl, orgName, p.email, role, token, this.config.auth.inviteTtlHours),
      );
    } catch {
      await this.db.getRepository(OrganizationInvite).delete({ id: invite.id });
      throw new MailFailedError(`the invite to ${email} was not created`);
    }
    return { ...toInviteView(invite), delivery: 'email' };
  }

  async list(p: Principal, page: Pagination): Promise<Page<InviteView>> {
    const [rows, total] = await this.db.getRepository(OrganizationInvite).findAndCount({
      where: { orgId: requireOrg(p).id, acceptedAt: IsNull() },
      order: { createdAt: 'DESC', id: 'ASC' },
      skip: page.offset,
      take: page.limit,
    });
    return { data: rows.map(toInviteView), total };
  }

  async delete(p: Principal, inviteId: string): Promise<void> {
    const result = await this.db
      .getRepository(OrganizationInvite)
      .delete({ id: inviteId, orgId: requireOrg(p).id, acceptedAt: IsNull() });
    if (!result.affected) throw new NotFoundError(`invite ${inviteId}`);
  }

  async accept(p: Principal, token: string): Promise<AcceptedInviteView> {
    const accepted = await this.db.transaction((m) => this.consume(m, token, { id: p.userId, email: p.email }));
    await this.cache.invalidate(accessKeys.user(p.userId));
    return accepted;
  }

  /** Checks an invite before an account is created for it (registration). */
  async checkForRegistration(token: string, email: string): Promise<void> {
    const invite = await this.findUsable(this.db.manager, token);
    if (invite.email !== email) throw mismatch();
  }

  /**
   * Marks the invite used and adds the user to its organization, inside the caller's
   * transaction. A token is consumed once even when two requests race for it.
   */
  async consume(m: EntityManager, token: string, user: { id: string; email: string }): Promise<AcceptedInviteView> {
    const invite = await this.findUsable(m, token);
    if (invite.email !== user.email) throw mismatch();
    const claimed = (await m.query(
      `UPDATE organization_invites SET accepted_at = now(), accepted_by = $2 WHERE id = $1 AND accepted_at IS NULL RETURNING id`,
      [invite.id, user.id],
    )) as [unknown[], number];
    if (!claimed[0].length) throw new InviteProblemError('invite_used', 'this invite was already accepted', 409);
    if (await m.getRepository(OrganizationMember).findOneBy({ orgId: invite.orgId, userId: user.id }))
      throw new AlreadyMemberError(user.email);
    await insertMember(m, invite.orgId, user.id, invite.role);
    const org = await m.getRepository(Organization).findOneByOrFail({ id: invite.orgId });
    return { org_id: org.id, org_name: org.name, role: invite.role };
  }

  private async findUsable(m: EntityManager, token: string): Promise<OrganizationInvite> {
    if (checkOpaqueToken(token, INVITE_PREFIX))
      throw new InviteProblemError('invalid_invite', 'this is not a valid invite token (mistyped or truncated?)', 404);
    const invite = await m.getRepository(OrganizationInvite).findOneBy({ tokenHash: sha256Hex(token) });
    if (!invite)
      throw new InviteProblemError(
        'invalid_invite',
        'unknown invite: it may have been withdrawn or replaced by a newer one',
        404,
      );
    if (invite.acceptedAt) throw new InviteProblemError('invite_used', 'this invite was already accepted', 409);
    if (invite.expiresAt.getTime() <= Date.now())
      throw new InviteProblemError('invite_expired', 'this invite has expired: ask for a new one', 400);
    return invite;
  }
}

function mismatch(): InviteProblemError {
  return new InviteProblemError(
    'invite_email_mismatch',
    'this invite was sent to another email address: sign in with that address to accept it',
    403,
  );
}

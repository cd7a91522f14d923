import { Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { Authenticated, CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, AuditNote, Audited } from '../audit/audit-note';
import { Page, paginationQuery, Pagination } from '../http/pagination';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import {
  acceptedInviteView,
  AcceptedInviteView,
  createdInviteView,
  CreatedInviteView,
  InviteBody,
  inviteBody,
  invitePage,
  InviteParams,
  inviteParams,
  InviteTokenParams,
  inviteTokenParams,
  InviteView,
  OrgParams,
  orgParams,
} from './organizations.schemas';
import { InvitesService } from './invites.service';

@Controller('v1/organizations/:orgId')
export class OrgInvitesController {
  constructor(private readonly invites: InvitesService) {}

  @Post('members/invite')
  @RequirePermission('orgs.members.manage')
  @Audited('org.member.invite', { target: 'invite' })
  @ApiDoc({
    summary: 'Invite someone by email (a pending invite to the same address is replaced)',
    tags: ['organizations', 'invites'],
    errors: ['already_member', 'mail_failed'],
    responses: {
      201: { description: 'Invite created and mailed', schema: createdInviteView },
    },
  })
  async invite(
    @CurrentPrincipal() p: Principal,
    @ValidParams(orgParams) _params: OrgParams,
    @ValidBody(inviteBody) body: InviteBody,
    @Audit() note: AuditNote,
  ): Promise<CreatedInviteView> {
    const invite = await this.invites.create(p, body.email, body.role);
    note.targetId = invite.id;
    note.details = { email: body.email, role: body.role };
    return invite;
  }

  @Get('invites')
  @RequirePermission('orgs.members.manage')
  @ApiDoc({
    summary: 'Pending invites',
    tags: ['organizations', 'invites'],
    responses: { 200: { description: 'A page of invites', schema: invitePage } },
  })
  list(
    @CurrentPrincipal() p: Principal,
    @ValidParams(orgParams) _params: OrgParams,
    @ValidQuery(paginationQuery) page: Pagination,
  ): Promise<Page<InviteView>> {
    return this.invites.list(p, page);
  }

  @Delete('invites/:inviteId')
  @HttpCode(204)
  @RequirePermission('orgs.members.manage')
  @Audited('org.invite.delete', { target: 'invite', param: 'inviteId' })
  @ApiDoc({
    summary: 'Withdraw a pending invite',
    tags: ['organizations', 'invites'],
    responses: { 204: { description: 'Withdrawn' } },
  })
  async delete(@CurrentPrincipal() p: Principal, @ValidParams(inviteParams) params: InviteParams): Promise<void> {
    await this.invites.delete(p, params.inviteId);
  }
}

@Controller('v1/invites')
export class InvitesController {
  constructor(private readonly invites: InvitesService) {}

  @Post(':token/accept')
  @HttpCode(200)
  @Authenticated({ sessionOnly: true })
  @Audited('org.invite.accept', { target: 'organization' })
  @ApiDoc({
    summary: 'Accept an invite sent to your email address',
    tags: ['invites'],
    errors: ['invite_email_mismatch', 'invalid_invite'],
    responses: {
      200: { description: 'You are a member now', schema: acceptedInviteView },
    },
  })
  async accept(
    @CurrentPrincipal() p: Principal,
    @ValidParams(inviteTokenParams) params: InviteTokenParams,
    @Audit() note: AuditNote,
  ): Promise<AcceptedInviteView> {
    const accepted = await this.invites.accept(p, params.token);
    note.orgId = accepted.org_id;
    note.targetId = accepted.org_id;
    return accepted;
  }
}

import { Controller, Delete, Get, HttpCode, Post, Put } from '@nestjs/common';
import { Authenticated, CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import { GRANTABLE_KEYS, PERMISSIONS, PERMISSION_KEYS, ROLES, rolesHolding } from '../access/permissions';
import type { Principal } from '../access/principal';
import { Audit, AuditNote, Audited } from '../audit/audit-note';
import { Page, paginationQuery, Pagination } from '../http/pagination';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import {
  CreateOrgBody,
  createOrgBody,
  GrantBody,
  grantBody,
  GrantParams,
  grantParams,
  MemberParams,
  memberParams,
  memberPage,
  memberPermissionsView,
  MemberPermissionsView,
  memberView,
  MemberView,
  orgList,
  OrgParams,
  orgParams,
  orgView,
  OrgView,
  permissionList,
  RoleBody,
  roleBody,
  UpdateOrgBody,
  updateOrgBody,
} from './organizations.schemas';
import { OrganizationsService } from './organizations.service';

@Controller('v1/organizations')
export class OrganizationsController {
  constructor(private readonly orgs: OrganizationsService) {}

  @Get()
  @Authenticated()
  @ApiDoc({
    summary: 'Organizations you belong to (an API token: its own)',
    tags: ['organizations'],
    responses: { 200: { description: 'Organizations', schema: orgList } },
  })
  list(@CurrentPrincipal() p: Principal): Promise<Page<OrgView>> {
    return this.orgs.list(p);
  }

  @Post()
  @Authenticated({ sessionOnly: true })
  @Audited('org.create', { target: 'organization' })
  @ApiDoc({
    summary: 'Create an organization; you become its owner',
    tags: ['organizations'],
    responses: { 201: { description: 'Created', schema: orgView } },
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidBody(createOrgBody) body: CreateOrgBody,
    @Audit() note: AuditNote,
  ): Promise<OrgView> {
    const org = await this.orgs.create(p, body.name);
    note.targetId = org.id;
    note.orgId = org.id;
    return org;
  }

  @Get(':orgId')
  @RequirePermission('orgs.view')
  @ApiDoc({
    summary: 'Get an organization',
    tags: ['organizations'],
    responses: { 200: { description: 'The organization', schema: orgView } },
  })
  get(@CurrentPrincipal() p: Principal, @ValidParams(orgParams) _params: OrgParams): Promise<OrgView> {
    return this.orgs.get(p);
  }

  @Put(':orgId')
  @RequirePermission('orgs.manage')
  @Audited('org.update', { target: 'organization', param: 'orgId' })
  @ApiDoc({
    summary: 'Rename an organization',
    tags: ['organizations'],
    responses: { 200: { description: 'Updated', schema: orgView } },
  })
  update(
    @CurrentPrincipal() p: Principal,
    @ValidParams(orgParams) _params: OrgParams,
    @ValidBody(updateOrgBody) body: UpdateOrgBody,
  ): Promise<OrgView> {
    return this.orgs.rename(p, body.name);
  }

  @Delete(':orgId')
  @HttpCode(204)
  @RequirePermission('orgs.delete')
  @Audited('org.delete', { target: 'organization', param: 'orgId' })
  @ApiDoc({
    summary: 'Delete an organization with its members, invites and API tokens',
    tags: ['organizations'],
    responses: { 204: { description: 'Deleted' } },
  })
  async delete(@CurrentPrincipal() p: Principal, @ValidParams(orgParams) _params: OrgParams): Promise<void> {
    await this.orgs.delete(p);
  }

  @Get(':orgId/members')
  @RequirePermission('orgs.view')
  @ApiDoc({
    summary: 'Members, their roles and granted permissions',
    tags: ['organizations'],
    responses: { 200: { description: 'A page of members', schema: memberPage } },
  })
  members(
    @CurrentPrincipal() p: Principal,
    @ValidParams(orgParams) _params: OrgParams,
    @ValidQuery(paginationQuery) page: Pagination,
  ): Promise<Page<MemberView>> {
    return this.orgs.members(p, page);
  }

  @Delete(':orgId/members/:userId')
  @HttpCode(204)
  @RequirePermission('orgs.members.manage')
  @Audited('org.member.remove', { target: 'user', param: 'userId' })
  @ApiDoc({
    summary: 'Remove a member',
    tags: ['organizations'],
    errors: ['last_owner'],
    responses: { 204: { description: 'Removed' } },
  })
  async removeMember(@CurrentPrincipal() p: Principal, @ValidParams(memberParams) params: MemberParams): Promise<void> {
    await this.orgs.removeMember(p, params.userId);
  }

  @Put(':orgId/members/:userId/role')
  @RequirePermission('orgs.members.manage')
  @Audited('org.member.role', { target: 'user', param: 'userId' })
  @ApiDoc({
    summary: "Change a member's role",
    tags: ['organizations'],
    errors: ['last_owner'],
    responses: { 200: { description: 'The member', schema: memberView } },
  })
  changeRole(
    @CurrentPrincipal() p: Principal,
    @ValidParams(memberParams) params: MemberParams,
    @ValidBody(roleBody) body: RoleBody,
    @Audit() note: AuditNote,
  ): Promise<MemberView> {
    note.details = { role: body.role };
    return this.orgs.changeRole(p, params.userId, body.role);
  }

  @Get(':orgId/members/:userId/permissions')
  @RequirePermission('orgs.view')
  @ApiDoc({
    summary: "A member's permissions: from the role, granted individually, and in effect",
    tags: ['organizations', 'permissions'],
    responses: { 200: { description: 'Permissions', schema: memberPermissionsView } },
  })
  permissions(
    @CurrentPrincipal() p: Principal,
    @ValidParams(memberParams) params: MemberParams,
  ): Promise<MemberPermissionsView> {
    return this.orgs.permissions(p, params.userId);
  }

  @Post(':orgId/members/:userId/permissions')
  @RequirePermission('orgs.permissions.manage')
  @Audited('org.member.permission.grant', { target: 'user', param: 'userId' })
  @ApiDoc({
    summary: 'Grant a permission to a member on top of their role (only one you hold)',
    tags: ['organizations', 'permissions'],
    responses: { 201: { description: 'Permissions after the grant', schema: memberPermissionsView } },
  })
  grant(
    @CurrentPrincipal() p: Principal,
    @ValidParams(memberParams) params: MemberParams,
    @ValidBody(grantBody) body: GrantBody,
    @Audit() note: AuditNote,
  ): Promise<MemberPermissionsView> {
    note.details = { permission: body.key };
    return this.orgs.grant(p, params.userId, body.key);
  }

  @Delete(':orgId/members/:userId/permissions/:key')
  @HttpCode(204)
  @RequirePermission('orgs.permissions.manage')
  @Audited('org.member.permission.revoke', { target: 'user', param: 'userId' })
  @ApiDoc({
    summary: 'Revoke an individually granted permission',
    tags: ['organizations', 'permissions'],
    responses: { 204: { description: 'Revoked' } },
  })
  async revokeGrant(
    @CurrentPrincipal() p: Principal,
    @ValidParams(grantParams) params: GrantParams,
    @Audit() note: AuditNote,
  ): Promise<void> {
    note.details = { permission: params.key };
    await this.orgs.revokeGrant(p, params.userId, params.key);
  }
}

@Controller('v1/permissions')
export class PermissionsController {
  @Get()
  @Authenticated()
  @ApiDoc({
    summary: 'Every permission key, what it allows, and the roles that hold it by default',
    tags: ['permissions'],
    responses: { 200: { description: 'The registry', schema: permissionList } },
  })
  list() {
    return {
      data: PERMISSION_KEYS.map((key) => ({
        key,
        description: PERMISSIONS[key],
        roles: rolesHolding(key),
        grantable: GRANTABLE_KEYS.includes(key),
      })),
      roles: [...ROLES],
    };
  }
}

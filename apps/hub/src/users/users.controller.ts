import { Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { Authenticated, CurrentPrincipal, PlatformAdmin } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, AuditNote, Audited } from '../audit/audit-note';
import type { Page } from '../http/pagination';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import {
  adminUserPage,
  AdminUserView,
  ChangePasswordBody,
  changePasswordBody,
  CreateUserBody,
  createUserBody,
  MeView,
  meView,
  UserIdParams,
  userIdParams,
  UserListQuery,
  userListQuery,
  userPage,
  userView,
  UserView,
} from './users.schemas';
import { toUserView, UsersService } from './users.service';

@Controller('v1/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @Authenticated()
  @ApiDoc({
    summary: 'The signed-in user and their organizations',
    tags: ['users'],
    responses: { 200: { description: 'The user', schema: meView } },
  })
  me(@CurrentPrincipal() p: Principal): Promise<MeView> {
    return this.users.me(p.userId, p.kind === 'api_token' ? p.org?.id : undefined);
  }

  @Post('me/password')
  @HttpCode(204)
  @Authenticated({ sessionOnly: true })
  @Audited('user.password.change', { target: 'user' })
  @ApiDoc({
    summary: 'Change your password (ends your other sessions)',
    tags: ['users'],
    errors: ['wrong_password', 'weak_password'],
    responses: { 204: { description: 'Changed' } },
  })
  async changePassword(
    @CurrentPrincipal() p: Principal,
    @ValidBody(changePasswordBody) body: ChangePasswordBody,
    @Audit() note: AuditNote,
  ): Promise<void> {
    note.targetId = p.userId;
    await this.users.changePassword(p, body.current_password, body.new_password);
  }

  @Get()
  @PlatformAdmin()
  @ApiDoc({
    summary: 'List users',
    tags: ['users', 'admin'],
    responses: { 200: { description: 'A page of users', schema: userPage } },
  })
  list(@ValidQuery(userListQuery) q: UserListQuery): Promise<Page<UserView>> {
    return this.users.list(q);
  }

  @Post()
  @PlatformAdmin()
  @Audited('user.create', { target: 'user' })
  @ApiDoc({
    summary: 'Create a user (with a personal organization)',
    tags: ['users', 'admin'],
    errors: ['email_taken', 'weak_password'],
    responses: { 201: { description: 'Created', schema: userView } },
  })
  async create(@ValidBody(createUserBody) body: CreateUserBody, @Audit() note: AuditNote): Promise<UserView> {
    const { user } = await this.users.createAccount({
      email: body.email,
      password: body.password,
      name: body.name,
      platformAdmin: body.is_platform_admin,
    });
    note.targetId = user.id;
    return toUserView(user);
  }

  @Get(':id')
  @PlatformAdmin()
  @ApiDoc({
    summary: 'Get a user',
    tags: ['users', 'admin'],
    responses: { 200: { description: 'The user', schema: userView } },
  })
  async get(@ValidParams(userIdParams) params: UserIdParams): Promise<UserView> {
    return toUserView(await this.users.get(params.id));
  }

  @Delete(':id')
  @HttpCode(204)
  @PlatformAdmin()
  @Audited('user.delete', { target: 'user', param: 'id' })
  @ApiDoc({
    summary: 'Delete a user (and organizations nobody else is in)',
    tags: ['users', 'admin'],
    errors: ['last_owner'],
    responses: { 204: { description: 'Deleted' } },
  })
  async delete(@CurrentPrincipal() p: Principal, @ValidParams(userIdParams) params: UserIdParams): Promise<void> {
    await this.users.delete(p, params.id);
  }
}

@Controller('v1/admin/users')
export class AdminUsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @PlatformAdmin()
  @ApiDoc({
    summary: 'List users with their organization and session counts',
    tags: ['admin'],
    responses: { 200: { description: 'A page of users', schema: adminUserPage } },
  })
  list(@ValidQuery(userListQuery) q: UserListQuery): Promise<Page<AdminUserView>> {
    return this.users.adminList(q);
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @PlatformAdmin()
  @Audited('user.suspend', { target: 'user', param: 'id' })
  @ApiDoc({
    summary: 'Suspend a user: their sessions and API tokens stop working at once',
    tags: ['admin'],
    responses: { 200: { description: 'Suspended', schema: userView } },
  })
  async suspend(@CurrentPrincipal() p: Principal, @ValidParams(userIdParams) params: UserIdParams): Promise<UserView> {
    return toUserView(await this.users.suspend(p, params.id));
  }

  @Post(':id/unsuspend')
  @HttpCode(200)
  @PlatformAdmin()
  @Audited('user.unsuspend', { target: 'user', param: 'id' })
  @ApiDoc({
    summary: 'Lift a suspension (API tokens work again; sessions ended by the suspension stay ended)',
    tags: ['admin'],
    responses: { 200: { description: 'Active again', schema: userView } },
  })
  async unsuspend(@ValidParams(userIdParams) params: UserIdParams): Promise<UserView> {
    return toUserView(await this.users.unsuspend(params.id));
  }
}

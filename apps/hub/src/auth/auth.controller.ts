import { Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { Authenticated, CurrentPrincipal, Public } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, AuditNote, Audited } from '../audit/audit-note';
import { userAgentOf } from '../audit/audit.service';
import { ValidBody } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { RATE_LIMIT_AUTH } from '../rate-limit/rate-limit.hook';
import {
  accountCreated,
  AccountCreated,
  BootstrapBody,
  bootstrapBody,
  bootstrapStatus,
  ForgotPasswordBody,
  forgotPasswordBody,
  forgotPasswordResponse,
  LoginBody,
  loginBody,
  loginResponse,
  LoginResponse,
  RefreshBody,
  refreshBody,
  RegisterBody,
  registerBody,
  ResetPasswordBody,
  resetPasswordBody,
  tokenPair,
  TokenPair,
} from './auth.schemas';
import { BootstrapService } from './bootstrap.service';
import { LoginService } from './login.service';
import { FORGOT_PASSWORD_ANSWER, PasswordResetService } from './password-reset.service';
import { RegistrationService } from './registration.service';
import { ClientInfo, SessionsService } from './sessions.service';

export function clientOf(req: FastifyRequest): ClientInfo {
  return { ip: req.ip, userAgent: userAgentOf(req) };
}

@Controller('v1/auth')
export class AuthController {
  constructor(
    private readonly bootstrapper: BootstrapService,
    private readonly logins: LoginService,
    private readonly registration: RegistrationService,
    private readonly sessions: SessionsService,
    private readonly resets: PasswordResetService,
  ) {}

  @Get('bootstrap/status')
  @Public()
  @ApiDoc({
    summary: 'Whether the platform still needs its first admin',
    tags: ['auth'],
    public: true,
    responses: { 200: { description: 'Status', schema: bootstrapStatus } },
  })
  async bootstrapStatus(): Promise<{ needed: boolean }> {
    return { needed: await this.bootstrapper.needed() };
  }

  @Post('bootstrap')
  @Public()
  @RouteConfig(RATE_LIMIT_AUTH)
  @Audited('auth.bootstrap', { target: 'user' })
  @ApiDoc({
    summary: 'Create the first platform admin and their organization (only while no user exists)',
    tags: ['auth'],
    public: true,
    errors: ['bootstrap_disabled'],
    responses: { 201: { description: 'Created and signed in', schema: accountCreated } },
  })
  async bootstrap(
    @ValidBody(bootstrapBody) body: BootstrapBody,
    @Req() req: FastifyRequest,
    @Audit() note: AuditNote,
  ): Promise<AccountCreated> {
    note.details = { email: body.email };
    const created = await this.bootstrapper.bootstrap(body, clientOf(req));
    note.actorId = note.targetId = created.user.id;
    note.actorEmail = created.user.email;
    note.orgId = created.organization.id;
    return created;
  }

  @Post('login')
  @HttpCode(200)
  @Public()
  @RouteConfig(RATE_LIMIT_AUTH)
  @Audited('auth.login')
  @ApiDoc({
    summary: 'Log in with email and password',
    description:
      'Returns tokens, or `mfa_required` with a challenge token when the account has MFA. Repeated failures lock the account and the address for a while (429 with Retry-After).',
    tags: ['auth'],
    public: true,
    errors: ['invalid_credentials', 'account_locked', 'ip_locked'],
    responses: { 200: { description: 'Tokens or an MFA challenge', schema: loginResponse } },
  })
  login(
    @ValidBody(loginBody) body: LoginBody,
    @Req() req: FastifyRequest,
    @Audit() note: AuditNote,
  ): Promise<LoginResponse> {
    return this.logins.login(body.email, body.password, clientOf(req), note);
  }

  @Post('register')
  @Public()
  @RouteConfig(RATE_LIMIT_AUTH)
  @Audited('auth.register', { target: 'user' })
  @ApiDoc({
    summary: 'Create an account (policy: open, invite-only or closed) with a personal organization',
    tags: ['auth'],
    public: true,
    errors: ['registration_closed', 'invite_required', 'email_taken'],
    responses: { 201: { description: 'Created and signed in', schema: accountCreated } },
  })
  register(
    @ValidBody(registerBody) body: RegisterBody,
    @Req() req: FastifyRequest,
    @Audit() note: AuditNote,
  ): Promise<AccountCreated> {
    return this.registration.register(body, clientOf(req), note);
  }

  @Post('refresh')
  @HttpCode(200)
  @Public()
  @RouteConfig(RATE_LIMIT_AUTH)
  @Audited('auth.refresh')
  @ApiDoc({
    summary: 'Exchange a refresh token for new tokens (the old refresh token stops working)',
    description: 'Presenting a refresh token that was already exchanged revokes its whole session (theft detection).',
    tags: ['auth'],
    public: true,
    errors: ['invalid_refresh_token', 'refresh_token_reused', 'session_revoked', 'session_expired'],
    responses: { 200: { description: 'New tokens', schema: tokenPair } },
  })
  refresh(@ValidBody(refreshBody) body: RefreshBody, @Audit() note: AuditNote): Promise<TokenPair> {
    return this.sessions.refresh(body.refresh_token, note);
  }

  @Post('logout')
  @HttpCode(204)
  @Authenticated({ sessionOnly: true })
  @Audited('auth.logout', { target: 'session' })
  @ApiDoc({
    summary: 'End the current session (its access and refresh tokens)',
    tags: ['auth'],
    responses: { 204: { description: 'Logged out' } },
  })
  async logout(@CurrentPrincipal() p: Principal, @Audit() note: AuditNote): Promise<void> {
    note.targetId = p.sessionId!;
    await this.sessions.revoke(p.sessionId!, 'logout');
  }

  @Post('revoke')
  @HttpCode(204)
  @Public()
  @RouteConfig(RATE_LIMIT_AUTH)
  @Audited('auth.revoke')
  @ApiDoc({
    summary: 'Revoke the session a refresh token belongs to (answers 204 for unknown tokens too)',
    tags: ['auth'],
    public: true,
    responses: { 204: { description: 'Revoked' } },
  })
  async revoke(@ValidBody(refreshBody) body: RefreshBody, @Audit() note: AuditNote): Promise<void> {
    await this.sessions.revokeByRefreshToken(body.refresh_token, note);
  }

  @Post('forgot-password')
  @HttpCode(202)
  @Public()
  @RouteConfig(RATE_LIMIT_AUTH)
  @Audited('auth.password.forgot')
  @ApiDoc({
    summary: 'Mail a password reset token (the same answer whether or not the address has an account)',
    tags: ['auth'],
    public: true,
    responses: { 202: { description: 'Accepted', schema: forgotPasswordResponse } },
  })
  async forgotPassword(
    @ValidBody(forgotPasswordBody) body: ForgotPasswordBody,
    @Audit() note: AuditNote,
  ): Promise<{ message: string }> {
    await this.resets.request(body.email, note);
    return { message: FORGOT_PASSWORD_ANSWER };
  }

  @Post('reset-password')
  @HttpCode(204)
  @Public()
  @RouteConfig(RATE_LIMIT_AUTH)
  @Audited('auth.password.reset', { target: 'user' })
  @ApiDoc({
    summary: 'Set a new password with a reset token (single use; ends every session)',
    tags: ['auth'],
    public: true,
    errors: ['invalid_reset_token', 'reset_token_used', 'reset_token_expired', 'weak_password'],
    responses: { 204: { description: 'Password set' } },
  })
  async resetPassword(@ValidBody(resetPasswordBody) body: ResetPasswordBody, @Audit() note: AuditNote): Promise<void> {
    await this.resets.reset(body.token, body.new_password, note);
    note.targetId = note.actorId;
  }
}

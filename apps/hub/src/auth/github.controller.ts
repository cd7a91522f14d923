import { Controller, Get, Req, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../access/access.decorators';
import { auditNoteOf } from '../audit/audit-note';
import { outcomeOf } from '../audit/audit.hook';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../http/errors';
import { ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { RATE_LIMIT_AUTH } from '../rate-limit/rate-limit.hook';
import { clientOf } from './auth.controller';
import { GithubCallbackQuery, githubCallbackQuery, loginResponse, LoginResponse } from './auth.schemas';
import { GithubOAuthService, OAUTH_STATE_COOKIE } from './github-oauth.service';

function cookieValue(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

@Controller('v1/auth/github')
export class GithubController {
  constructor(
    private readonly github: GithubOAuthService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @Public()
  @RouteConfig(RATE_LIMIT_AUTH)
  @ApiDoc({
    summary: 'Start signing in with GitHub: redirects to GitHub with a CSRF state (also set as a cookie)',
    tags: ['auth'],
    public: true,
    errors: ['github_oauth_disabled'],
    responses: { 302: { description: 'Redirect to GitHub' } },
  })
  async start(@Res() reply: FastifyReply): Promise<void> {
    const { url, state } = await this.github.start();
    const cookie = [
      `${OAUTH_STATE_COOKIE}=${encodeURIComponent(state)}`,
      'Path=/v1/auth/github',
      'HttpOnly',
      'SameSite=Lax',
      'Max-Age=600',
    ];
    if (this.github.secureCookie) cookie.push('Secure');
    void reply.header('set-cookie', cookie.join('; ')).redirect(url, 302);
  }

  @Get('callback')
  @Public()
  @RouteConfig(RATE_LIMIT_AUTH)
  @ApiDoc({
    summary: 'GitHub redirects here with code and state; answers with tokens (or an MFA challenge)',
    tags: ['auth'],
    public: true,
    errors: ['invalid_oauth_state', 'registration_closed'],
    responses: { 200: { description: 'Tokens or mfa_required', schema: loginResponse } },
  })
  async callback(
    @ValidQuery(githubCallbackQuery) q: GithubCallbackQuery,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LoginResponse> {
    const note = auditNoteOf(req);
    void reply.header('set-cookie', `${OAUTH_STATE_COOKIE}=; Path=/v1/auth/github; HttpOnly; SameSite=Lax; Max-Age=0`);
    const record = (status: number) =>
      this.audit.record(
        this.audit.fromRequest(req, {
          actorType: note.actorId ? 'user' : 'anonymous',
          actorId: note.actorId ?? null,
          actorEmail: note.actorEmail ?? null,
          action: 'auth.github.login',
          outcome: outcomeOf(status),
          statusCode: status,
          details: note.details ?? null,
        }),
      );
    try {
      const result = await this.github.callback(q, cookieValue(req, OAUTH_STATE_COOKIE), clientOf(req), note);
      void record(200);
      return result;
    } catch (err) {
      void record(err instanceof DomainError ? err.status : 500);
      throw err;
    }
  }
}

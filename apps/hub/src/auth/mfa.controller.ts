import { Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { Authenticated, CurrentPrincipal, Public } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, AuditNote, Audited } from '../audit/audit-note';
import { ValidBody } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { RATE_LIMIT_AUTH } from '../rate-limit/rate-limit.hook';
import { clientOf } from './auth.controller';
import {
  MfaChallengeBody,
  mfaChallengeBody,
  MfaCodeBody,
  mfaCodeBody,
  mfaEnabled,
  mfaEnrollment,
  mfaStatus,
  tokenPair,
  TokenPair,
} from './auth.schemas';
import { MfaService } from './mfa.service';

@Controller('v1/auth/mfa')
export class MfaController {
  constructor(private readonly mfa: MfaService) {}

  @Get('status')
  @Authenticated({ sessionOnly: true })
  @ApiDoc({
    summary: 'Whether MFA is on, and how many recovery codes are left',
    tags: ['mfa'],
    responses: { 200: { description: 'Status', schema: mfaStatus } },
  })
  status(@CurrentPrincipal() p: Principal) {
    return this.mfa.status(p.userId);
  }

  @Post('enroll')
  @HttpCode(200)
  @Authenticated({ sessionOnly: true })
  @Audited('auth.mfa.enroll', { target: 'user' })
  @ApiDoc({
    summary: 'Start MFA enrollment: a TOTP secret and its otpauth:// URI (for a QR code)',
    tags: ['mfa'],
    errors: ['mfa_already_enabled'],
    responses: { 200: { description: 'Secret', schema: mfaEnrollment } },
  })
  enroll(@CurrentPrincipal() p: Principal, @Audit() note: AuditNote) {
    note.targetId = p.userId;
    return this.mfa.enroll(p.userId);
  }

  @Post('verify')
  @HttpCode(200)
  @Authenticated({ sessionOnly: true })
  @RouteConfig(RATE_LIMIT_AUTH)
  @Audited('auth.mfa.verify', { target: 'user' })
  @ApiDoc({
    summary: 'Confirm enrollment with a code: MFA is on, and ten recovery codes are shown once',
    tags: ['mfa'],
    errors: ['invalid_mfa_code', 'mfa_rate_limited'],
    responses: { 200: { description: 'Enabled', schema: mfaEnabled } },
  })
  verify(@CurrentPrincipal() p: Principal, @ValidBody(mfaCodeBody) body: MfaCodeBody, @Audit() note: AuditNote) {
    note.targetId = p.userId;
    return this.mfa.confirm(p.userId, body.code);
  }

  @Post('disable')
  @HttpCode(204)
  @Authenticated({ sessionOnly: true })
  @RouteConfig(RATE_LIMIT_AUTH)
  @Audited('auth.mfa.disable', { target: 'user' })
  @ApiDoc({
    summary: 'Turn MFA off (needs a current TOTP code or a recovery code)',
    tags: ['mfa'],
    errors: ['invalid_mfa_code', 'mfa_code_reused', 'mfa_rate_limited'],
    responses: { 204: { description: 'Disabled' } },
  })
  async disable(
    @CurrentPrincipal() p: Principal,
    @ValidBody(mfaCodeBody) body: MfaCodeBody,
    @Audit() note: AuditNote,
  ): Promise<void> {
    note.targetId = p.userId;
    await this.mfa.disable(p.userId, body.code);
  }

  @Post('challenge')
  @HttpCode(200)
  @Public()
  @RouteConfig(RATE_LIMIT_AUTH)
  @Audited('auth.mfa.challenge')
  @ApiDoc({
    summary: 'Finish a login that answered mfa_required: the challenge token and a TOTP or recovery code',
    tags: ['mfa', 'auth'],
    public: true,
    errors: ['invalid_mfa_code', 'mfa_code_reused', 'invalid_challenge', 'mfa_rate_limited'],
    responses: { 200: { description: 'Tokens', schema: tokenPair } },
  })
  challenge(
    @ValidBody(mfaChallengeBody) body: MfaChallengeBody,
    @Req() req: FastifyRequest,
    @Audit() note: AuditNote,
  ): Promise<TokenPair> {
    return this.mfa.completeChallenge(body.challenge_token, body.code, clientOf(req), note);
  }
}

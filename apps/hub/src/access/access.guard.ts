import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../http/errors';
import { markDenied } from './access-denial';
import { ACCESS_RULE, AccessRule } from './access.decorators';
import {
  MissingCredentialsError,
  OrgMismatchError,
  OrgRequiredError,
  PermissionDeniedError,
  PlatformAdminRequiredError,
  SessionRequiredError,
} from './access.errors';
import { Authenticator } from './authenticator';
import type { OrgContext, Principal } from './principal';

/**
 * The one place that decides who may call a route: authenticates the request, picks the
 * organization it acts in and checks the route's declared `AccessRule`. Installed globally;
 * a route without a declaration is refused at boot (see access-declarations.ts).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    // WebSocket gateways authenticate their own way (agent tokens), before the upgrade.
    if (ctx.getType() !== 'http') return true;
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (!rule) throw new Error(`route ${ctx.getClass().name}.${ctx.getHandler().name} declares no access rule`);
    if (rule.kind === 'public') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    try {
      await this.authorizeRequest(req, rule);
      return true;
    } catch (err) {
      if (err instanceof DomainError) markDenied(req);
      throw err;
    }
  }

  /**
   * The same decision for requests that never reach a Nest route (WebSocket upgrades): returns
   * the principal (also set as `req.principal`) or throws the DomainError the route would have
   * answered with.
   */
  async authorizeRequest(req: FastifyRequest, rule: Exclude<AccessRule, { kind: 'public' }>): Promise<Principal> {
    const principal = await this.authenticator.authenticate(req);
    if (!principal) throw new MissingCredentialsError();
    return this.decide(req, principal, rule);
  }

  /**
   * The decision again for a connection `req` opened earlier (a WebSocket, an event stream), on
   * today's facts: throws the DomainError a new request would get once access has ended.
   */
  async reauthorize(
    req: FastifyRequest,
    opened: Principal,
    apiTokenHash: string | null,
    rule: Exclude<AccessRule, { kind: 'public' }>,
  ): Promise<Principal> {
    return this.decide(req, await this.authenticator.reauthenticate(opened, apiTokenHash), rule);
  }

  private async decide(
    req: FastifyRequest,
    principal: Principal,
    rule: Exclude<AccessRule, { kind: 'public' }>,
  ): Promise<Principal> {
    req.principal = principal;
    if (rule.sessionOnly && principal.kind === 'api_token') throw new SessionRequiredError();
    switch (rule.kind) {
      case 'authenticated':
        if (rule.org) principal.org = await this.activeOrg(req, principal);
        return principal;
      case 'platform_admin':
        if (!principal.platformAdmin) throw new PlatformAdminRequiredError(principal.kind === 'api_token');
        return principal;
      case 'permission': {
        const org = await this.activeOrg(req, principal);
        principal.org = org;
        if (!org.permissions.has(rule.permission)) throw new PermissionDeniedError(rule.permission);
        return principal;
      }
    }
  }

  /** The `:orgId` path parameter, else X-Org-Id, else the API token's organization. */
  private async activeOrg(req: FastifyRequest, principal: Principal): Promise<OrgContext> {
    const fromPath = (req.params as Record<string, unknown> | undefined)?.orgId;
    const header = req.headers['x-org-id'];
    const fromHeader = typeof header === 'string' && header.trim() ? header.trim() : undefined;
    if (typeof fromPath === 'string' && fromHeader && fromHeader.toLowerCase() !== fromPath.toLowerCase())
      throw new OrgMismatchError(fromHeader, fromPath);
    const orgId = typeof fromPath === 'string' ? fromPath : (fromHeader ?? principal.org?.id);
    if (!orgId) throw new OrgRequiredError();
    return this.authenticator.orgContext(principal, orgId);
  }
}

import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AccessRule } from '../access/access.decorators';
import { AccessGuard } from '../access/access.guard';
import type { Principal } from '../access/principal';
import { DomainError } from '../http/errors';
import type { WsUpgrade } from './ws-router';

export class UpgradeRequiredError extends DomainError {
  constructor() {
    super('this endpoint is a WebSocket: connect with an HTTP Upgrade request (e.g. websocat, xterm.js)', 'upgrade_required', 426, undefined, { upgrade: 'websocket' });
  }
}

/**
 * WebSocket upgrades are decided by the same access guard as every route. Browsers cannot set
 * headers on a WebSocket, so `?access_token=` is accepted as a bearer token here (and only here).
 */
@Injectable()
export class WsAccess {
  constructor(private readonly guard: AccessGuard) {}

  async authorize(up: WsUpgrade, rule: Exclude<AccessRule, { kind: 'public' }>): Promise<{ principal: Principal; request: FastifyRequest }> {
    const headers = { ...up.req.headers };
    const queryToken = up.query.get('access_token');
    if (queryToken && !headers.authorization && !headers['x-api-key']) headers.authorization = `Bearer ${queryToken}`;
    const request = {
      id: up.requestId,
      method: 'GET',
      url: new URL(up.req.url ?? '/', 'http://hub.invalid').pathname,
      headers,
      params: up.params,
      query: Object.fromEntries(up.query),
      ip: up.req.socket.remoteAddress ?? '',
      raw: up.req,
    } as unknown as FastifyRequest;
    const principal = await this.guard.authorizeRequest(request, rule);
    return { principal, request };
  }
}

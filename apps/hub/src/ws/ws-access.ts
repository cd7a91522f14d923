import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { AccessRule } from '../access/access.decorators';
import { AccessGuard } from '../access/access.guard';
import { LiveConnections, wsClose, type WatchOptions } from '../access/live-connections';
import type { Principal } from '../access/principal';
import { DomainError } from '../http/errors';
import { WsRouter, type WsUpgrade } from './ws-router';

/** A client that ignores our close frame is cut off after this. */
const CLOSE_GRACE_MS = 1000;

export class UpgradeRequiredError extends DomainError {
  constructor() {
    super(
      'this endpoint is a WebSocket: connect with an HTTP Upgrade request (e.g. websocat, xterm.js)',
      'upgrade_required',
      426,
      undefined,
      { upgrade: 'websocket' },
    );
  }
}

type Grant = Omit<WatchOptions, 'end' | 'kind'>;

/**
 * WebSocket upgrades are decided by the same access guard as every route. Browsers cannot set
 * headers on a WebSocket, so `?access_token=` is accepted as a bearer token here (and only here),
 * and `?org_id=` as X-Org-Id (a user's JWT names no organization; an hp_pat_ token does).
 * Every socket it admits is followed by `LiveConnections` and closed with 4401/4403 and a reason
 * as soon as its access ends.
 */
@Injectable()
export class WsAccess {
  private readonly grants = new WeakMap<WsUpgrade, Grant>();

  constructor(
    private readonly guard: AccessGuard,
    private readonly live: LiveConnections,
    router: WsRouter,
  ) {
    router.onOpen((ws, up) => this.follow(ws, up));
  }

  /** `recheck`: what else must still hold for the socket to stay open (throw a DomainError when not). */
  async authorize(
    up: WsUpgrade,
    rule: Exclude<AccessRule, { kind: 'public' }>,
    options: { recheck?: (principal: Principal) => Promise<void> } = {},
  ): Promise<{ principal: Principal; request: FastifyRequest }> {
    const headers = { ...up.req.headers };
    const queryToken = up.query.get('access_token');
    if (queryToken && !headers.authorization && !headers['x-api-key']) headers.authorization = `Bearer ${queryToken}`;
    const queryOrg = up.query.get('org_id');
    if (queryOrg && !headers['x-org-id']) headers['x-org-id'] = queryOrg;
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
    this.grants.set(up, { request, principal, rule, recheck: options.recheck });
    return { principal, request };
  }

  private follow(ws: WebSocket, up: WsUpgrade): void {
    const grant = this.grants.get(up);
    if (!grant) return;
    const unwatch = this.live.watch({
      ...grant,
      kind: 'websocket',
      end: (ended) => {
        const { code, reason } = wsClose(ended);
        ws.close(code, reason);
        setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
      },
    });
    ws.once('close', unwatch);
  }
}

import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { HUB_LOGGER } from '../http/logger';
import { mapError } from '../http/exception.filter';
import { requestIdFor } from '../http/request-id';
import { RateLimits } from '../rate-limit/rate-limits';

export interface WsUpgrade {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  requestId: string;
}

/** Authenticates and prepares a connection; throw a DomainError to refuse it with that status. */
export type WsRouteHandler = (upgrade: WsUpgrade) => Promise<(ws: WebSocket) => void>;

/** Runs for every accepted connection, before the route's own open handler. */
export type WsOpenHook = (ws: WebSocket, upgrade: WsUpgrade) => void;

interface Route {
  path: string;
  pattern: RegExp;
  keys: string[];
  handler: WsRouteHandler;
}

/**
 * The user-facing WebSockets (terminal, console, logs, events) are plain `ws` endpoints, so
 * xterm.js, noVNC and websocat connect as they are. Nest takes one WebSocket adapter per app and
 * socket.io owns `/socket.io`, so this routes the HTTP server's `upgrade` event by path and
 * authenticates before accepting the upgrade: a refused client gets a real HTTP error answer.
 */
@Injectable()
export class WsRouter implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly routes: Route[] = [];
  private readonly openHooks: WsOpenHook[] = [];
  readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 1024 * 1024,
    // Every endpoint sends binary frames: websockify's `binary` wins when a client (noVNC) offers it.
    handleProtocols: (offered: Set<string>) =>
      offered.has('binary') ? 'binary' : (offered.values().next().value ?? false),
  });

  constructor(
    private readonly httpAdapterHost: HttpAdapterHost,
    private readonly rateLimits: RateLimits,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {}

  route(path: string, handler: WsRouteHandler): void {
    const keys: string[] = [];
    const pattern = new RegExp(
      '^' +
        path.replace(/\/:([A-Za-z0-9_]+)/g, (_m, k: string) => {
          keys.push(k);
          return '/([^/]+)';
        }) +
        '$',
    );
    this.routes.push({ path, pattern, keys, handler });
  }

  onOpen(hook: WsOpenHook): void {
    this.openHooks.push(hook);
  }

  get connections(): number {
    return this.wss.clients.size;
  }

  onApplicationBootstrap(): void {
    const server = this.httpAdapterHost.httpAdapter.getHttpServer() as HttpServer;
    server.on(
      'upgrade',
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.onUpgrade(req, socket, head),
    );
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    if (url.pathname.startsWith('/socket.io/')) return; // the agent tunnel (engine.io) answers these
    const requestId = requestIdFor(req);
    socket.on('error', () => socket.destroy());
    // Every upgrade counts against the client's rate-limit window before any route runs.
    const limited = await this.rateLimits.admitUpgrade(req);
    if (limited) {
      const mapped = mapError(limited);
      return refuseUpgrade(socket, mapped.status, mapped.body, mapped.headers);
    }
    for (const route of this.routes) {
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      const params = Object.fromEntries(route.keys.map((k, i) => [k, decodeURIComponent(m[i + 1]!)]));
      try {
        const upgrade: WsUpgrade = { req, params, query: url.searchParams, requestId };
        const onOpen = await route.handler(upgrade);
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('error', (err) => this.log.debug({ reqId: requestId, reason: err.message }, 'websocket error'));
          for (const hook of this.openHooks) hook(ws, upgrade);
          onOpen(ws);
        });
        this.log.info({ reqId: requestId, route: route.path, url: url.pathname }, 'websocket opened');
      } catch (err) {
        const mapped = mapError(err);
        if (mapped.status >= 500) this.log.error({ err, reqId: requestId }, 'websocket upgrade failed');
        refuseUpgrade(socket, mapped.status, mapped.body, mapped.headers);
      }
      return;
    }
    refuseUpgrade(socket, 404, { error: `no WebSocket endpoint at ${url.pathname}`, code: 'not_found' });
  }

  beforeApplicationShutdown(): void {
    for (const ws of this.wss.clients) ws.close(1001, 'hub shutting down');
    this.wss.close();
  }
}

function refuseUpgrade(socket: Duplex, status: number, body: object, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(json)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${json}`);
}

import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import type { CorsSettings, HttpRoute, ProxyHost } from '@hostplane/protocol';
import { listenOn } from './listen';
import type { VmAddressBook } from './vm-addresses';

interface CompiledRoute {
  route: HttpRoute;
  pattern: RegExp;
}

interface RequestState {
  route: HttpRoute;
  timedOut: boolean;
}

/** Connecting to a VM that is gone should fail fast; a slow answer is the route's timeout. */
const CONNECT_TIMEOUT_MS = 5000;

function errorBody(res: http.ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: message, code });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function targetUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * One reverse-proxy host: a listener (TLS when it has a certificate) whose requests go to the
 * first route whose path pattern matches, through http-proxy-3. Routes, CORS and the timeout
 * are swapped in place by `update`; only a new address, certificate or generation needs a new
 * listener. A VM target is looked up in the address book on each request, so a VM that changed
 * address is reached at the new one from the next request on.
 */
export class HttpProxyHost {
  private server: http.Server | https.Server | null = null;
  private readonly proxy: ProxyServer;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 1000 });
  private readonly state = new WeakMap<http.IncomingMessage, RequestState>();
  private readonly sockets = new Set<Socket>();
  private routes: CompiledRoute[] = [];
  private cors: CorsSettings | null = null;
  private timeoutMs = 30_000;

  constructor(
    private spec: ProxyHost,
    private readonly book: VmAddressBook,
  ) {
    this.proxy = createProxyServer({ agent: this.agent, ws: true });
    this.proxy.on('proxyReq', (proxyReq, req) => {
      const s = this.state.get(req);
      if (!s) return;
      for (const name of s.route.request_headers.remove) proxyReq.removeHeader(name);
      for (const [name, value] of Object.entries(s.route.request_headers.add)) proxyReq.setHeader(name, value);
      proxyReq.on('timeout', () => (s.timedOut = true));
      // A target that never accepts the connection is unreachable (502), not slow (504).
      const bound = (socket: Socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () =>
            proxyReq.destroy(
              Object.assign(new Error('no connection within the connect timeout'), { code: 'ETIMEDOUT' }),
            ),
          Math.min(CONNECT_TIMEOUT_MS, this.timeoutMs),
        );
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      };
      // The socket is often assigned before this event.
      if (proxyReq.socket) bound(proxyReq.socket as Socket);
      else proxyReq.once('socket', bound);
    });
    this.proxy.on('proxyRes', (proxyRes, req) => {
      const s = this.state.get(req);
      if (!s) return;
      for (const name of s.route.response_headers.remove) delete proxyRes.headers[name.toLowerCase()];
      for (const [name, value] of Object.entries(s.route.response_headers.add))
        proxyRes.headers[name.toLowerCase()] = value;
    });
    // A client that goes away mid-answer is not an error of ours.
    this.proxy.on('econnreset', () => undefined);
    this.update(spec);
  }

  /** The key of what the listener itself depends on: a change there needs a new one. */
  static listenerKey(h: ProxyHost): string {
    return JSON.stringify([h.listen_host, h.listen_port, h.tls_fingerprint, h.tls ? 1 : 0, h.generation]);
  }

  get address(): string {
    return `${this.spec.listen_host.includes(':') ? `[${this.spec.listen_host}]` : this.spec.listen_host}:${this.spec.listen_port}`;
  }

  /** Takes new routes, CORS and timeout for the next requests; the listener stays. */
  update(spec: ProxyHost): void {
    this.spec = spec;
    this.routes = spec.routes.map((route) => ({ route, pattern: new RegExp(route.path_pattern) }));
    this.cors = spec.cors;
    this.timeoutMs = spec.timeout_ms;
  }

  async listen(): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res);
    const server = this.spec.tls
      ? https.createServer({ cert: this.spec.tls.cert_pem, key: this.spec.tls.key_pem }, handler)
      : http.createServer(handler);
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('clientError', (_err, socket: Duplex) => socket.destroy());
    await listenOn(server, this.spec.listen_host, this.spec.listen_port);
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await closed;
  }

  private match(
    req: http.IncomingMessage,
  ): { route: HttpRoute; target: string } | { status: number; code: string; message: string } {
    const path = req.url ?? '/';
    const found = this.routes.find((r) => r.pattern.test(path));
    if (!found)
      return { status: 404, code: 'route_not_found', message: `no route of ${this.spec.name} matches this path` };
    const { route } = found;
    if (route.target_vm_id !== null) {
      const address = this.book.address(route.target_vm_id);
      if (address === null) {
        this.book.changed(route.target_vm_id);
        return {
          status: 502,
          code: 'vm_unreachable',
          message: `VM ${route.target_vm_id} has no address: it is not running or has no network`,
        };
      }
      return { route, target: targetUrl(address, route.target_port) };
    }
    return { route, target: targetUrl(route.target_host!, route.target_port) };
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.applyCors(req, res)) return;
    const m = this.match(req);
    if (!('route' in m)) return errorBody(res, m.status, m.code, m.message);
    const state: RequestState = { route: m.route, timedOut: false };
    this.state.set(req, state);
    this.proxy.web(
      req,
      res,
      {
        target: m.target,
        xfwd: m.route.forwarded_headers,
        proxyTimeout: this.timeoutMs,
      },
      (err: Error & { code?: string }) => {
        if (state.timedOut)
          return errorBody(res, 504, 'upstream_timeout', `the target did not answer within ${this.timeoutMs} ms`);
        if (m.route.target_vm_id !== null) this.book.changed(m.route.target_vm_id);
        errorBody(res, 502, 'upstream_unreachable', `the target could not be reached (${err.code ?? err.message})`);
      },
    );
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const m = this.match(req);
    const refuse = (status: number, text: string) => {
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      else socket.destroy();
    };
    if (!('route' in m)) return refuse(m.status, m.status === 404 ? 'Not Found' : 'Bad Gateway');
    this.proxy.ws(req, socket, head, { target: m.target, xfwd: m.route.forwarded_headers }, () => {
      if (m.route.target_vm_id !== null) this.book.changed(m.route.target_vm_id);
      refuse(502, 'Bad Gateway');
    });
  }

  /** Adds CORS headers for an allowed origin; answers a preflight itself (true when it did). */
  private applyCors(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const cors = this.cors;
    const origin = req.headers.origin;
    if (!cors || typeof origin !== 'string') return false;
    const any = cors.allowed_origins.includes('*');
    const allowed = any || cors.allowed_origins.includes(origin);
    const preflight = req.method === 'OPTIONS' && typeof req.headers['access-control-request-method'] === 'string';
    if (allowed) {
      // With credentials the origin is echoed: browsers refuse "*" there.
      res.setHeader('access-control-allow-origin', any && !cors.allow_credentials ? '*' : origin);
      if (!any || cors.allow_credentials) res.setHeader('vary', 'Origin');
      if (cors.allow_credentials) res.setHeader('access-control-allow-credentials', 'true');
    }
    if (!preflight) return false;
    if (allowed) {
      res.setHeader('access-control-allow-methods', cors.allowed_methods.join(', '));
      if (cors.allowed_headers.length > 0)
        res.setHeader('access-control-allow-headers', cors.allowed_headers.join(', '));
      res.setHeader('access-control-max-age', String(cors.max_age_seconds));
    }
    res.writeHead(204);
    res.end();
    return true;
  }
}

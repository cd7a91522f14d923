import type { HostplaneClient } from './client';
import { HostplaneError } from './errors';

/** The part of the standard WebSocket API the helpers use: browsers' `WebSocket` and Node's `ws` both have it. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | ArrayBufferLike | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

/**
 * Opens a WebSocket to a hub URL. A browser cannot set headers on a WebSocket, so the default
 * factory passes the token as `?access_token=` (the hub accepts it on WebSocket routes only);
 * in Node use `nodeWebSocket` from `@hostplane/sdk/node`, which sends the headers.
 */
export type WebSocketFactory = (url: string, headers: Record<string, string>) => WebSocketLike;

export const browserWebSocket: WebSocketFactory = (url, headers) => {
  const u = new URL(url);
  const bearer = headers.authorization?.replace(/^Bearer /, '');
  if (bearer) u.searchParams.set('access_token', bearer);
  const Ctor = (globalThis as unknown as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Ctor) throw new Error('this runtime has no WebSocket: pass nodeWebSocket from @hostplane/sdk/node');
  return new Ctor(u.toString());
};

export interface StreamOptions {
  webSocket?: WebSocketFactory;
}

export interface ConsoleOptions extends StreamOptions {
  /** Lines of history sent first (0–1000; default the hub's). */
  scrollback?: number;
}

export interface StreamClose {
  code: number;
  reason: string;
}

/** An instance's console or log stream: output as bytes, input and resize for a console. */
export class InstanceStream {
  /** Whether the console is a tty (docker) or not (process); known after `ready`. */
  tty = false;
  readonly ready: Promise<{ scrollback: string[]; tty: boolean }>;
  readonly closed: Promise<StreamClose>;
  private outputListeners: ((chunk: Uint8Array) => void)[] = [];

  constructor(
    private readonly socket: WebSocketLike,
    console: boolean,
  ) {
    socket.binaryType = 'arraybuffer';
    let resolveReady!: (v: { scrollback: string[]; tty: boolean }) => void;
    let rejectReady!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    this.ready.catch(() => undefined);
    let scrollback: string[] = [];
    if (!console) socket.addEventListener('open', () => resolveReady({ scrollback, tty: false }));
    socket.addEventListener('message', (event) => {
      const data = event.data;
      if (typeof data === 'string') {
        if (!console) return this.emit(new TextEncoder().encode(data));
        const message = JSON.parse(data) as { type?: string; lines?: string[]; tty?: boolean };
        if (message.type === 'scrollback') scrollback = message.lines ?? [];
        if (message.type === 'live') {
          this.tty = message.tty === true;
          resolveReady({ scrollback, tty: this.tty });
        }
        return;
      }
      this.emit(toBytes(data));
    });
    this.closed = new Promise((resolve) => {
      socket.addEventListener('close', (event) => {
        // 4000 + an HTTP status: the hub refused (or ended) the stream with that status and its `{error, code}`.
        rejectReady(
          event.code >= 4400 && event.code < 4600
            ? HostplaneError.fromBody(event.code - 4000, event.reason)
            : new Error(`the stream closed before it was live (${event.code} ${event.reason})`),
        );
        resolve({ code: event.code, reason: event.reason });
      });
    });
    socket.addEventListener('error', () => undefined);
  }

  onOutput(listener: (chunk: Uint8Array) => void): void {
    this.outputListeners.push(listener);
  }

  /** Writes to the console's stdin (send the line ending yourself). */
  write(data: string | Uint8Array): void {
    this.socket.send(typeof data === 'string' ? new TextEncoder().encode(data) : data);
  }

  /** Sets the window size where the console is a tty. */
  resize(cols: number, rows: number): void {
    this.socket.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  close(): void {
    this.socket.close(1000, 'client closed');
  }

  private emit(chunk: Uint8Array): void {
    for (const l of this.outputListeners) l(chunk);
  }
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data)) return toBytes(concat(data as Uint8Array[]));
  return new TextEncoder().encode(String(data));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function socketUrl(client: HostplaneClient, path: string, query: Record<string, string | number | undefined>): string {
  const u = new URL(client.url(path));
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
}

/** The instance's console (`GET /v1/instances/{id}/console`): scrollback, then live output; input and resize. */
export function openConsole(client: HostplaneClient, instanceId: string, options: ConsoleOptions = {}): InstanceStream {
  const factory = options.webSocket ?? browserWebSocket;
  const url = socketUrl(client, `/v1/instances/${encodeURIComponent(instanceId)}/console`, {
    scrollback: options.scrollback,
  });
  return new InstanceStream(factory(url, client.authHeaders()), true);
}

/** The instance's output (`GET /v1/instances/{id}/logs`): the last `tail` lines, then live. */
export function openLogs(
  client: HostplaneClient,
  instanceId: string,
  options: StreamOptions & { tail?: number } = {},
): InstanceStream {
  const factory = options.webSocket ?? browserWebSocket;
  const url = socketUrl(client, `/v1/instances/${encodeURIComponent(instanceId)}/logs`, { tail: options.tail });
  return new InstanceStream(factory(url, client.authHeaders()), false);
}

/** A root shell on a node (`GET /v1/nodes/{id}/terminal`): bytes both ways, resize. */
export function openTerminal(
  client: HostplaneClient,
  nodeId: string,
  options: StreamOptions & { cols?: number; rows?: number } = {},
): InstanceStream {
  const factory = options.webSocket ?? browserWebSocket;
  const url = socketUrl(client, `/v1/nodes/${encodeURIComponent(nodeId)}/terminal`, {
    cols: options.cols,
    rows: options.rows,
  });
  return new InstanceStream(factory(url, client.authHeaders()), false);
}

/**
 * A zone's console (`zlogin -C`, `GET /v1/nodes/{id}/zones/{zone}/console`) or a shell in it
 * (`zlogin`, `…/shell`): bytes both ways, resize, as the node terminal.
 */
export function openZoneConsole(
  client: HostplaneClient,
  nodeId: string,
  zone: string,
  options: StreamOptions & { shell?: boolean; cols?: number; rows?: number } = {},
): InstanceStream {
  const factory = options.webSocket ?? browserWebSocket;
  const what = options.shell ? 'shell' : 'console';
  const url = socketUrl(client, `/v1/nodes/${encodeURIComponent(nodeId)}/zones/${encodeURIComponent(zone)}/${what}`, {
    cols: options.cols,
    rows: options.rows,
  });
  return new InstanceStream(factory(url, client.authHeaders()), false);
}

import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { InstanceStats } from '@hostplane/protocol';
import type { HubStream } from '../tunnel/tunnel-streams';

/** Seconds before the access token's expiry at which `token expiring` is sent (Wings uses 60 s too). */
export const TOKEN_EXPIRING_SECONDS = 60;
/** A partial line (a prompt with no newline) is sent after this long without more output. */
const PARTIAL_LINE_FLUSH_MS = 100;
const DETACH_AFTER_STOP_MS = 1000;
const REATTACH_AFTER_CLOSE_MS = 500;

export type PowerAction = 'start' | 'stop' | 'restart' | 'kill';

/** What the Wings framing needs of the hub, for one instance and one client. */
export interface WingsConsoleDeps {
  /** Opens the instance's console; null when it is not running (the socket stays, reporting status). */
  openConsole(): Promise<{ stream: HubStream; scrollback: string[] } | null>;
  state(): Promise<string>;
  stats(): Promise<InstanceStats>;
  /**
   * Queues a power action; throws a DomainError (no permission, migrating…) whose message is sent as `daemon error`.
   */
  power(action: PowerAction): Promise<void>;
  /** Calls back on every state change and stats sample of the instance; returns the unsubscribe. */
  subscribe(onState: (state: string) => void, onStats: (stats: InstanceStats) => void): () => void;
  /** When the bearer token of the connection expires (JWT `exp`); null when it does not. */
  tokenExpiresAt: Date | null;
}

const wingsMessage = z.object({ event: z.string().max(64), args: z.array(z.unknown()).max(16).optional() });

/** Hostplane's instance states as the four Wings knows. */
export function wingsStatus(state: string): 'running' | 'starting' | 'stopping' | 'offline' {
  if (state === 'running') return 'running';
  if (state === 'starting' || state === 'installing' || state === 'pending') return 'starting';
  if (state === 'stopping') return 'stopping';
  return 'offline';
}

/** Wings' `stats` payload (a JSON string in args[0]); uptime in milliseconds as Wings sends it. */
export function wingsStats(s: InstanceStats, state: string): string {
  return JSON.stringify({
    memory_bytes: s.memory_bytes,
    memory_limit_bytes: s.memory_limit_bytes ?? 0,
    cpu_absolute: s.cpu_percent,
    network: { rx_bytes: s.net_rx_bytes, tx_bytes: s.net_tx_bytes },
    state: wingsStatus(state),
    uptime: Math.round(s.uptime_seconds * 1000),
    disk_bytes: s.disk_bytes,
  });
}

/** Splits output bytes into lines (without "\n" or a CR before it), keeping a partial last line. */
export class LineSplitter {
  private pending = '';
  private readonly decoder = new TextDecoder('utf-8');

  push(chunk: Buffer): string[] {
    const lines = (this.pending + this.decoder.decode(chunk, { stream: true })).split('\n');
    this.pending = lines.pop() ?? '';
    return lines.map((l) => l.replace(/\r$/, ''));
  }

  flush(): string | null {
    const rest = this.pending.replace(/\r$/, '');
    this.pending = '';
    return rest === '' ? null : rest;
  }
}

/**
 * The Pterodactyl Wings console protocol over one WebSocket: `{"event", "args"}` JSON text frames.
 * The connection was authorized at the upgrade, so `auth` is answered with `auth success`; unlike
 * the native framing, the socket outlives the instance's runs (status `offline`, then a `set state`
 * start reopens the console).
 */
export class WingsConsole {
  private stream: HubStream | null = null;
  private opening: Promise<void> | null = null;
  private scrollback: string[] = [];
  private lastState = 'unknown';
  private readonly timers: NodeJS.Timeout[] = [];
  private splitter = new LineSplitter();
  private flushTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: WingsConsoleDeps,
  ) {}

  async start(): Promise<void> {
    const unsubscribe = this.deps.subscribe(
      (state) => this.onState(state),
      (stats) => this.send('stats', [wingsStats(stats, this.lastState)]),
    );
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary)
        void this.onMessage(data.toString('utf8')).catch((err: unknown) =>
          this.send('daemon error', [(err as Error).message]),
        );
    });
    this.ws.on('close', () => {
      this.closed = true;
      unsubscribe();
      for (const t of this.timers) clearTimeout(t);
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.stream?.close('client closed the console');
    });
    this.scheduleTokenEvents();
    this.lastState = await this.deps.state();
    this.send('status', [wingsStatus(this.lastState)]);
    if (this.lastState === 'running' || this.lastState === 'starting') await this.attach();
  }

  private async onMessage(text: string): Promise<void> {
    let parsed: z.infer<typeof wingsMessage>;
    try {
      parsed = wingsMessage.parse(JSON.parse(text));
    } catch {
      return this.send('daemon error', ['expected a JSON message {"event": "...", "args": [...]}']);
    }
    const arg = parsed.args?.[0];
    switch (parsed.event) {
      case 'auth':
        return this.send('auth success');
      case 'send logs':
        for (const line of this.scrollback) this.send('console output', [line]);
        return;
      case 'send stats':
        return this.send('stats', [wingsStats(await this.deps.stats(), this.lastState)]);
      case 'send command':
        if (typeof arg !== 'string')
          return this.send('daemon error', ['send command takes the command line as args[0]']);
        if (!this.stream || wingsStatus(this.lastState) === 'offline')
          return this.send('daemon error', [`the instance is not running (${this.lastState})`]);
        return this.stream.write(Buffer.from(`${arg}\n`, 'utf8'));
      case 'set state':
        if (arg !== 'start' && arg !== 'stop' && arg !== 'restart' && arg !== 'kill')
          return this.send('daemon error', ['set state takes start, stop, restart or kill as args[0]']);
        return this.deps.power(arg);
      default:
        return this.send('daemon error', [`unknown event "${parsed.event.slice(0, 64)}"`]);
    }
  }

  private onState(state: string): void {
    const before = wingsStatus(this.lastState);
    this.lastState = state;
    const now = wingsStatus(state);
    if (now !== before) this.send('status', [now]);
    if ((state === 'running' || state === 'starting') && !this.stream) void this.attach();
    if (now === 'offline' && this.stream) this.detachSoon(this.stream);
  }

  /** A stopped run's console is let go once its last output had time to arrive; the next start opens a new one. */
  private detachSoon(stream: HubStream): void {
    const timer = setTimeout(() => {
      if (this.stream !== stream || wingsStatus(this.lastState) !== 'offline') return;
      this.stream = null;
      this.flushPartial();
      stream.close('the instance stopped');
    }, DETACH_AFTER_STOP_MS);
    timer.unref();
    this.timers.push(timer);
  }

  /** Opens the console (once at a time); its output goes out line by line as `console output`. */
  private attach(quiet = false): Promise<void> {
    this.opening ??= this.deps
      .openConsole()
      .then((opened) => {
        if (!opened) return;
        if (this.closed) return opened.stream.close('client closed the console');
        this.stream = opened.stream;
        this.scrollback = opened.scrollback;
        this.splitter = new LineSplitter();
        opened.stream.onData((chunk) => this.onOutput(opened.stream, chunk));
        opened.stream.onClose(() => {
          if (this.stream !== opened.stream) return;
          this.stream = null;
          this.flushPartial();
          // The run ended but the instance is running again already (a quick restart): follow the new run.
          const timer = setTimeout(() => {
            if (!this.closed && !this.stream && (this.lastState === 'running' || this.lastState === 'starting'))
              void this.attach(true);
          }, REATTACH_AFTER_CLOSE_MS);
          timer.unref();
          this.timers.push(timer);
        });
      })
      .catch((err: unknown) => {
        if (!quiet) this.send('daemon error', [`the console could not be opened: ${(err as Error).message}`]);
      })
      .finally(() => (this.opening = null));
    return this.opening;
  }

  private onOutput(stream: HubStream, chunk: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const lines = this.splitter.push(chunk);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => this.flushPartial(), PARTIAL_LINE_FLUSH_MS);
    if (lines.length === 0) return stream.consumed(chunk.length);
    // Credit goes back once the client's socket took the frames (backpressure, as the native relay).
    lines.forEach((line, i) =>
      this.send('console output', [line], i === lines.length - 1 ? () => stream.consumed(chunk.length) : undefined),
    );
  }

  private flushPartial(): void {
    const rest = this.splitter.flush();
    if (rest !== null) this.send('console output', [rest]);
  }

  private scheduleTokenEvents(): void {
    const expiresAt = this.deps.tokenExpiresAt;
    if (!expiresAt) return;
    const left = expiresAt.getTime() - Date.now();
    const expiring = setTimeout(() => this.send('token expiring'), Math.max(0, left - TOKEN_EXPIRING_SECONDS * 1000));
    const expired = setTimeout(
      () => {
        this.send('token expired');
        this.ws.close(4401, 'token expired');
      },
      Math.max(0, left),
    );
    expiring.unref();
    expired.unref();
    this.timers.push(expiring, expired);
  }

  private send(event: string, args: unknown[] = [], sent?: () => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(JSON.stringify(args.length > 0 ? { event, args } : { event }), (err) => {
      if (!err) sent?.();
    });
  }
}

import type Docker from 'dockerode';
import { INSTANCE_LABEL } from './docker-api';

/** One engine event about an instance's container. */
export interface InstanceContainerEvent {
  instanceId: string;
  action: 'start' | 'die' | 'oom' | 'destroy';
  /** The exit code the engine reports with `die`. */
  exitCode: number | null;
}

const ACTIONS = ['start', 'die', 'oom', 'destroy'] as const;
const RECONNECT_FIRST_MS = 200;
const RECONNECT_MAX_MS = 5000;

interface RawEvent {
  Type?: string;
  Action?: string;
  Actor?: { Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

/**
 * The Engine's `/events` stream, filtered to instance containers: the driver learns of an exit
 * when it happens instead of asking every few hundred milliseconds. When dockerd goes away (a
 * restart, an upgrade) the stream is dialled again with a growing pause, from the time of the
 * last event seen so nothing in between is missed, and `onResync` lets the driver check what
 * it tracks, for events older than the engine keeps.
 */
export class ContainerEventStream {
  private stream: NodeJS.ReadableStream | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectMs = RECONNECT_FIRST_MS;
  private closed = false;
  private connecting: Promise<void> | null = null;
  /** Unix seconds (with fraction) of the last event seen; the replay point after a reconnect. */
  private since: string | null = null;

  constructor(
    private readonly docker: Docker,
    private readonly onEvent: (event: InstanceContainerEvent) => void,
    private readonly onResync: () => void,
  ) {}

  get connected(): boolean {
    return this.stream !== null;
  }

  /** Resolves once the engine streams events (rejects when it cannot be reached; a retry is then scheduled). */
  ensureConnected(): Promise<void> {
    this.closed = false;
    if (this.stream) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const stream = this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | null;
    this.stream = null;
    stream?.destroy?.();
  }

  private async connect(): Promise<void> {
    const resumed = this.since !== null;
    // The first connection starts a little in the past: an exit racing the connection is replayed, not lost.
    const since = this.since ?? ((Date.now() - 1000) / 1000).toFixed(3);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.getEvents({
        since: since as unknown as number,
        filters: { type: ['container'], label: [INSTANCE_LABEL], event: [...ACTIONS] },
      });
    } catch (err) {
      this.scheduleReconnect();
      throw err;
    }
    if (this.closed) return (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
    this.stream = stream;
    this.reconnectMs = RECONNECT_FIRST_MS;
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.handle(line);
    });
    const lost = () => {
      if (this.stream !== stream) return;
      this.stream = null;
      this.scheduleReconnect();
    };
    stream.on('end', lost);
    stream.on('close', lost);
    stream.on('error', lost);
    if (resumed) this.onResync();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.ensureConnected().catch(() => undefined);
    }, this.reconnectMs);
    this.reconnectMs = Math.min(RECONNECT_MAX_MS, this.reconnectMs * 2);
  }

  private handle(line: string): void {
    let raw: RawEvent;
    try {
      raw = JSON.parse(line) as RawEvent;
    } catch {
      return;
    }
    if (raw.timeNano) this.since = (raw.timeNano / 1e9).toFixed(3);
    else if (raw.time) this.since = String(raw.time);
    const instanceId = raw.Actor?.Attributes?.[INSTANCE_LABEL];
    const action = (ACTIONS as readonly string[]).includes(raw.Action ?? '')
      ? (raw.Action as InstanceContainerEvent['action'])
      : null;
    if (!instanceId || !action) return;
    const code = raw.Actor?.Attributes?.exitCode;
    this.onEvent({ instanceId, action, exitCode: code === undefined ? null : Number(code) });
  }
}

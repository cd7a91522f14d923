import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  AGENT_TO_HUB,
  parseFrame,
  STREAM_CHUNK_BYTES,
  STREAM_INITIAL_CREDIT,
  StreamKind,
  streamOpenAck,
} from '@hostplane/protocol';
import type { AgentSession } from './agent-session';

export interface StreamCloseInfo {
  reason?: string;
  exit_code?: number;
  /** Set when an input stream (file.write, backup.write) failed on the agent. */
  error?: { code: string; message: string };
  /** Input streams: what the agent durably took. */
  bytes?: number;
  /** The agent's link went away (its socket, or the replica holding it): not a verdict of the agent. */
  disconnected?: boolean;
}

export class StreamOpenError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One stream to a node, wherever its agent is connected: an `AgentStream` on the agent's socket
 * here, or a `RelayedStream` to the replica that holds it. Output arrives through `onData`; the
 * consumer calls `consumed(n)` once it passed n bytes on, which grants the agent that much credit
 * again, so a slow consumer slows the agent, not the tunnel. Input goes out through `write`,
 * within the credit the agent granted; the rest waits here.
 */
export interface HubStream {
  readonly id: string;
  /** What the agent told about what it opened (file size, …). */
  readonly meta: Record<string, string | number | boolean | null>;
  readonly closed: boolean;
  onData(cb: (chunk: Buffer) => void): void;
  onClose(cb: (info: StreamCloseInfo) => void): void;
  /**
   * Input with backpressure: resolves once everything written so far went out within the agent's credit (or the stream
   * closed).
   */
  writeAndDrain(data: Buffer): Promise<void>;
  /** Ends the input (after what is queued went out) and resolves with the agent's close. */
  endInput(): Promise<StreamCloseInfo>;
  write(data: Buffer): void;
  resize(cols: number, rows: number): void;
  consumed(bytes: number): void;
  /** Close from the hub side (user went away). */
  close(reason: string): void;
}

/**
 * Credit bookkeeping shared by both ends: output buffered until someone listens (bounded by the
 * credit the consumer granted), input queued until the agent grants credit. Subclasses carry the
 * frames (the agent socket, or the relay connection to another replica).
 */
export abstract class CreditedStream implements HubStream {
  private dataHandlers: ((chunk: Buffer) => void)[] = [];
  /** Output that arrived before anyone listened (between open and the WebSocket upgrade); bounded by credit. */
  private early: Buffer[] = [];
  private closeHandlers: ((info: StreamCloseInfo) => void)[] = [];
  private outCredit = 0;
  private outQueue: Buffer[] = [];
  private drainWaiters: (() => void)[] = [];
  private closeInfo: StreamCloseInfo | null = null;
  private creditListener?: (bytes: number) => void;
  meta: Record<string, string | number | boolean | null> = {};
  closed = false;

  constructor(readonly id: string) {}

  protected abstract sendData(chunk: Buffer): void;
  protected abstract sendEof(): void;
  protected abstract sendResize(cols: number, rows: number): void;
  protected abstract sendCredit(bytes: number): void;
  protected abstract sendClose(reason: string): void;
  protected abstract onFinished(): void;

  /** Input credit the agent granted that no write used yet. */
  get availableCredit(): number {
    return this.outCredit;
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.dataHandlers.push(cb);
    const early = this.early;
    this.early = [];
    for (const chunk of early) cb(chunk);
  }

  onClose(cb: (info: StreamCloseInfo) => void): void {
    if (this.closed) cb(this.closeInfo ?? { reason: 'already closed' });
    else this.closeHandlers.push(cb);
  }

  /** Told of every credit grant from the agent: a relay passes it on to the replica that writes. */
  onCreditGranted(cb: (bytes: number) => void): void {
    this.creditListener = cb;
  }

  async writeAndDrain(data: Buffer): Promise<void> {
    this.write(data);
    if (this.closed || this.outQueue.length === 0) return;
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  async endInput(): Promise<StreamCloseInfo> {
    const closed = new Promise<StreamCloseInfo>((resolve) => this.onClose(resolve));
    if (!this.closed) {
      if (this.outQueue.length) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      if (!this.closed) this.sendEof();
    }
    return closed;
  }

  write(data: Buffer): void {
    if (this.closed) return;
    for (let i = 0; i < data.length; i += STREAM_CHUNK_BYTES)
      this.outQueue.push(data.subarray(i, i + STREAM_CHUNK_BYTES));
    this.pump();
  }

  resize(cols: number, rows: number): void {
    if (!this.closed) this.sendResize(cols, rows);
  }

  consumed(bytes: number): void {
    if (!this.closed && bytes > 0) this.sendCredit(bytes);
  }

  close(reason: string): void {
    if (this.closed) return;
    this.sendClose(reason);
    this.finish({ reason });
  }

  deliver(chunk: Buffer): void {
    if (this.dataHandlers.length === 0) this.early.push(chunk);
    for (const h of this.dataHandlers) h(chunk);
  }

  addCredit(bytes: number): void {
    this.outCredit += bytes;
    this.pump();
    this.creditListener?.(bytes);
  }

  finish(info: StreamCloseInfo): void {
    if (this.closed) return;
    this.closed = true;
    this.closeInfo = info;
    this.outQueue = [];
    this.releaseDrainWaiters();
    this.onFinished();
    for (const h of this.closeHandlers) h(info);
    this.closeHandlers = [];
    this.dataHandlers = [];
  }

  private pump(): void {
    while (this.outQueue.length && this.outCredit > 0) {
      let chunk = this.outQueue[0]!;
      if (chunk.length > this.outCredit) {
        this.outQueue[0] = chunk.subarray(this.outCredit);
        chunk = chunk.subarray(0, this.outCredit);
      } else {
        this.outQueue.shift();
      }
      this.outCredit -= chunk.length;
      this.sendData(chunk);
    }
    if (this.outQueue.length === 0) this.releaseDrainWaiters();
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}

/** A stream on an agent socket held by this replica. */
export class AgentStream extends CreditedStream {
  constructor(
    id: string,
    readonly session: AgentSession,
    private readonly counters: { messagesOut: number; bytesOut: number },
    private readonly finished: (id: string) => void,
  ) {
    super(id);
  }

  protected sendData(chunk: Buffer): void {
    this.counters.messagesOut++;
    this.counters.bytesOut += chunk.length;
    this.session.socket.emit('stream:data', { stream_id: this.id, data: chunk });
  }

  protected sendEof(): void {
    this.session.socket.emit('stream:control', { stream_id: this.id, type: 'eof' });
  }

  protected sendResize(cols: number, rows: number): void {
    this.session.socket.emit('stream:control', { stream_id: this.id, type: 'resize', cols, rows });
  }

  protected sendCredit(bytes: number): void {
    this.session.socket.emit('stream:credit', { stream_id: this.id, bytes });
  }

  protected sendClose(reason: string): void {
    this.session.socket.emit('stream:close', { stream_id: this.id, reason });
  }

  protected onFinished(): void {
    this.finished(this.id);
  }
}

/** All streams of this replica, by id; frames from agents are routed here. */
export class TunnelStreams {
  private readonly streams = new Map<string, AgentStream>();

  constructor(
    private readonly counters: { messagesOut: number; bytesOut: number; invalidFrames: number },
    private readonly log: Logger,
  ) {}

  get openCount(): number {
    return this.streams.size;
  }

  /**
   * `outputCredit`: the window of output the agent may send ahead of the consumer (larger for a relayed stream, whose
   * credit travels further).
   */
  async open(
    session: AgentSession,
    kind: StreamKind,
    params: unknown,
    timeoutMs = 10_000,
    outputCredit = STREAM_INITIAL_CREDIT,
  ): Promise<AgentStream> {
    const id = randomBytes(12).toString('base64url');
    // Registered before the request goes out: the agent's first output can arrive in the same
    // read as its acknowledgement, before this function resumes.
    const stream = new AgentStream(id, session, this.counters, (sid) => this.streams.delete(sid));
    this.streams.set(id, stream);
    const fail = (code: string, message: string) => {
      this.streams.delete(id);
      return new StreamOpenError(code, message);
    };
    let raw: unknown;
    try {
      raw = await session.socket
        .timeout(timeoutMs)
        .emitWithAck('stream:open', { stream_id: id, kind, params, initial_credit: outputCredit });
    } catch {
      throw fail('agent_timeout', `the agent did not open the ${kind} stream within ${timeoutMs / 1000} s`);
    }
    const ack = streamOpenAck.safeParse(raw);
    if (!ack.success) throw fail('agent_error', 'the agent answered the stream request with an invalid frame');
    if (!ack.data.ok) throw fail(ack.data.error.code, ack.data.error.message);
    stream.meta = ack.data.meta ?? {};
    stream.addCredit(ack.data.initial_credit);
    return stream;
  }

  onData(session: AgentSession, frame: unknown): void {
    const f = parseFrame('stream:data', AGENT_TO_HUB['stream:data'], frame);
    if (!f.ok) return this.invalid(session, f.error);
    const s = this.streams.get(f.value.stream_id);
    if (s && s.session === session) s.deliver(Buffer.from(f.value.data));
  }

  onCredit(session: AgentSession, frame: unknown): void {
    const f = parseFrame('stream:credit', AGENT_TO_HUB['stream:credit'], frame);
    if (!f.ok) return this.invalid(session, f.error);
    const s = this.streams.get(f.value.stream_id);
    if (s && s.session === session) s.addCredit(f.value.bytes);
  }

  onClose(session: AgentSession, frame: unknown): void {
    const f = parseFrame('stream:close', AGENT_TO_HUB['stream:close'], frame);
    if (!f.ok) return this.invalid(session, f.error);
    const s = this.streams.get(f.value.stream_id);
    if (s && s.session === session)
      s.finish({ reason: f.value.reason, exit_code: f.value.exit_code, error: f.value.error, bytes: f.value.bytes });
  }

  closeAll(session: AgentSession, reason: string): void {
    for (const s of [...this.streams.values()]) if (s.session === session) s.finish({ reason, disconnected: true });
  }

  private invalid(session: AgentSession, error: { code: string; message: string; event?: string }): void {
    this.counters.invalidFrames++;
    this.log.warn({ nodeId: session.nodeId, error }, 'invalid stream frame from agent');
    session.socket.emit('error', error);
  }
}

import { randomUUID } from 'node:crypto';
import { createServer, Server as HttpServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { Server, Socket } from 'socket.io';
import {
  AGENT_NAMESPACE,
  AGENT_TO_HUB,
  AGENT_TOKEN_HEADER,
  Heartbeat,
  Hello,
  Inventory,
  InstanceStateFrame,
  JobAck,
  JobOutcome,
  JobProgress,
  PROTOCOL_HEADER,
  PROTOCOL_VERSION,
  ProtocolError,
  Refusal,
  StreamClose,
  StreamOpenAck,
} from '@hostplane/protocol';

export interface TestHubOptions {
  token: string;
  nodeId?: string;
  heartbeatIntervalMs?: number;
  /** Refuse every connection in the middleware with this. */
  refuse?: Refusal;
  port?: number;
}

interface StreamRecord {
  data: Buffer[];
  closed: StreamClose | null;
  /** Grant the agent credit back as output arrives (a browser that keeps up). */
  autoCredit: boolean;
  /** Input credit the agent granted (initial credit of the ack plus every stream:credit). */
  inputCredit: number;
  /** Input sent so far. */
  inputSent: number;
  initialCredit: number;
  /** Most input the agent ever had outstanding (sent, not yet credited back). */
  maxInFlight: number;
}

/**
 * The hub's side of the tunnel contract on 127.0.0.1, for tests: a real socket.io server that
 * authenticates the agent, welcomes it, records and validates every frame it sends.
 */
export class TestHub {
  readonly hellos: Hello[] = [];
  readonly heartbeats: Heartbeat[] = [];
  readonly inventories: Inventory[] = [];
  readonly results: JobOutcome[] = [];
  readonly progress: JobProgress[] = [];
  readonly errors: ProtocolError[] = [];
  readonly instanceStates: InstanceStateFrame[] = [];
  /** Frames from the agent that failed the protocol's schemas: a test asserts this stays empty. */
  readonly violations: string[] = [];
  readonly handshakes: { headers: Record<string, unknown>; auth: Record<string, unknown> }[] = [];
  readonly streams = new Map<string, StreamRecord>();
  ackResults = true;
  /** Called as the agent credits input back, with the total credited so far on that stream. */
  onInputCredit: ((streamId: string, creditedBytes: number) => void) | null = null;
  /** Answer the next hellos by emitting `refused` with this, then disconnecting. */
  refuseNextHellos: { refusal: Refusal; count: number } | null = null;
  socket: Socket | null = null;
  readonly nodeId: string;
  private epoch = 0;
  private io: Server | null = null;
  private http: HttpServer | null = null;
  private port = 0;

  private constructor(private readonly options: TestHubOptions) {
    this.nodeId = options.nodeId ?? randomUUID();
  }

  static async start(options: TestHubOptions): Promise<TestHub> {
    const hub = new TestHub(options);
    await hub.listen(options.port ?? 0);
    return hub;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const io = this.io;
    this.io = null;
    this.socket = null;
    if (io) await io.close();
    this.http = null;
  }

  /** Listens again on the same port, as a hub coming back after a restart. */
  async restart(): Promise<void> {
    await this.listen(this.port);
  }

  sendJob(envelope: unknown, timeoutMs = 10_000): Promise<JobAck> {
    return this.requireSocket().timeout(timeoutMs).emitWithAck('job', envelope) as Promise<JobAck>;
  }

  emit(event: string, payload: unknown): void {
    this.requireSocket().emit(event, payload);
  }

  emitWithAck(event: string, payload: unknown, timeoutMs = 10_000): Promise<unknown> {
    return this.requireSocket().timeout(timeoutMs).emitWithAck(event, payload);
  }

  async openTerminal(
    streamId: string,
    opts: { cols?: number; rows?: number; initialCredit: number; autoCredit: boolean },
  ): Promise<StreamOpenAck> {
    this.streams.set(streamId, newRecord(opts.autoCredit));
    return (await this.emitWithAck('stream:open', {
      stream_id: streamId,
      kind: 'terminal',
      params: { cols: opts.cols ?? 80, rows: opts.rows ?? 24 },
      initial_credit: opts.initialCredit,
    })) as StreamOpenAck;
  }

  /** Opens any stream kind (instance.console, instance.logs, …) and records its output. */
  async openStream(
    streamId: string,
    kind: string,
    params: unknown,
    opts: { initialCredit: number; autoCredit: boolean },
  ): Promise<StreamOpenAck> {
    this.streams.set(streamId, newRecord(opts.autoCredit));
    const ack = (await this.emitWithAck('stream:open', {
      stream_id: streamId,
      kind,
      params,
      initial_credit: opts.initialCredit,
    })) as StreamOpenAck;
    const record = this.streams.get(streamId);
    if (ack.ok && record) record.inputCredit = record.initialCredit = ack.initial_credit;
    return ack;
  }

  /**
   * Sends input as the hub does: never more than the agent's credit, in chunks of at most
   * STREAM_CHUNK_BYTES, waiting for credit to come back. Stops early if the agent closes.
   */
  async writeInput(streamId: string, data: Buffer, chunkBytes = 32 * 1024): Promise<void> {
    const record = this.streams.get(streamId);
    if (!record) throw new Error(`stream ${streamId} was not opened through the test hub`);
    let offset = 0;
    while (offset < data.length) {
      if (record.closed) return;
      const room = record.inputCredit - record.inputSent;
      if (room <= 0) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      const n = Math.min(room, chunkBytes, data.length - offset);
      this.emit('stream:data', { stream_id: streamId, data: data.subarray(offset, offset + n) });
      record.inputSent += n;
      offset += n;
      record.maxInFlight = Math.max(record.maxInFlight, record.inputSent - (record.inputCredit - record.initialCredit));
    }
  }

  /** Ends a stream's input (eof) and waits for the agent's close. */
  async endInput(streamId: string, timeoutMs = 15_000): Promise<StreamClose> {
    this.emit('stream:control', { stream_id: streamId, type: 'eof' });
    return waitFor(`close of ${streamId}`, () => this.streams.get(streamId)?.closed, timeoutMs);
  }

  /** All output of a stream as bytes. */
  streamBuffer(streamId: string): Buffer {
    return Buffer.concat(this.streams.get(streamId)?.data ?? []);
  }

  streamOutput(streamId: string): string {
    return Buffer.concat(this.streams.get(streamId)?.data ?? []).toString('utf8');
  }

  streamBytes(streamId: string): number {
    return (this.streams.get(streamId)?.data ?? []).reduce((n, b) => n + b.length, 0);
  }

  private requireSocket(): Socket {
    if (!this.socket) throw new Error('no agent is connected');
    return this.socket;
  }

  private async listen(port: number): Promise<void> {
    this.http = createServer();
    this.io = new Server(this.http, { pingInterval: 1000, pingTimeout: 1000, transports: ['websocket'] });
    const nsp = this.io.of(AGENT_NAMESPACE);
    nsp.use((socket, next) => {
      const headers = socket.handshake.headers as Record<string, unknown>;
      const auth = socket.handshake.auth as Record<string, unknown>;
      this.handshakes.push({ headers, auth });
      if (this.options.refuse)
        return next(Object.assign(new Error(this.options.refuse.message), { data: this.options.refuse }));
      if (headers[AGENT_TOKEN_HEADER] !== this.options.token || auth.token !== this.options.token) {
        return next(
          Object.assign(new Error('invalid agent token'), {
            data: { code: 'invalid_token', message: 'invalid agent token' },
          }),
        );
      }
      if (headers[PROTOCOL_HEADER] !== String(PROTOCOL_VERSION)) {
        return next(
          Object.assign(new Error('protocol mismatch'), {
            data: { code: 'protocol_mismatch', message: 'protocol mismatch' },
          }),
        );
      }
      next();
    });
    nsp.on('connection', (socket) => this.onAgent(socket));
    await new Promise<void>((resolve) => this.http?.listen(port, '127.0.0.1', resolve));
    this.port = (this.http.address() as AddressInfo).port;
  }

  private validate(event: keyof typeof AGENT_TO_HUB, frame: unknown): boolean {
    const r = AGENT_TO_HUB[event].safeParse(frame);
    if (!r.success)
      this.violations.push(`${event}: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
    return r.success;
  }

  private onAgent(socket: Socket): void {
    this.socket = socket;
    socket.on('hello', (frame: Hello, ack: (answer: unknown) => void) => {
      this.validate('hello', frame);
      this.hellos.push(frame);
      if (this.refuseNextHellos && this.refuseNextHellos.count > 0) {
        this.refuseNextHellos.count--;
        socket.emit('refused', this.refuseNextHellos.refusal);
        setTimeout(() => socket.disconnect(true), 50);
        return;
      }
      ack({
        node_id: this.nodeId,
        epoch: ++this.epoch,
        heartbeat_interval_ms: this.options.heartbeatIntervalMs ?? 500,
        server_time: new Date().toISOString(),
      });
    });
    socket.on('heartbeat', (frame: Heartbeat) => {
      if (this.validate('heartbeat', frame)) this.heartbeats.push(frame);
    });
    socket.on('inventory', (frame: Inventory) => {
      if (this.validate('inventory', frame)) this.inventories.push(frame);
    });
    socket.on('job:progress', (frame: JobProgress) => {
      if (this.validate('job:progress', frame)) this.progress.push(frame);
    });
    socket.on('job:result', (frame: JobOutcome, ack: (a: { ok: boolean }) => void) => {
      if (this.validate('job:result', frame)) this.results.push(frame);
      if (this.ackResults) ack({ ok: true });
    });
    // On the server socket.io also emits its own "error" (middleware failures) under this name.
    (socket as unknown as { on(event: 'error', fn: (frame: ProtocolError) => void): void }).on('error', (frame) => {
      if (this.validate('error', frame)) this.errors.push(frame);
    });
    socket.on('stream:data', (frame: { stream_id: string; data: Buffer }) => {
      if (!this.validate('stream:data', frame)) return;
      const stream = this.streams.get(frame.stream_id);
      stream?.data.push(frame.data);
      if (stream?.autoCredit) socket.emit('stream:credit', { stream_id: frame.stream_id, bytes: frame.data.length });
    });
    socket.on('stream:credit', (frame: { stream_id: string; bytes: number }) => {
      if (!this.validate('stream:credit', frame)) return;
      const stream = this.streams.get(frame.stream_id);
      if (!stream) return;
      stream.inputCredit += frame.bytes;
      this.onInputCredit?.(frame.stream_id, stream.inputCredit - stream.initialCredit);
    });
    socket.on('instance:state', (frame: InstanceStateFrame) => {
      if (this.validate('instance:state', frame)) this.instanceStates.push(frame);
    });
    socket.on('stream:close', (frame: StreamClose) => {
      if (!this.validate('stream:close', frame)) return;
      const stream = this.streams.get(frame.stream_id);
      if (stream) stream.closed = frame;
    });
  }
}

function newRecord(autoCredit: boolean): StreamRecord {
  return { data: [], closed: null, autoCredit, inputCredit: 0, initialCredit: 0, inputSent: 0, maxInFlight: 0 };
}

/** Polls until `probe` returns something other than undefined/false. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | null,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function selftestJob(payload: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    job_id: randomUUID(),
    kind: 'agent.selftest',
    payload,
    resource: null,
    attempt: 1,
    deadline_at: null,
    created_at: new Date().toISOString(),
    ...extra,
  };
}

import { ProtocolError, STREAM_KINDS, StreamClose, StreamControl, StreamCredit, StreamData, StreamOpen, StreamOpenAck } from '@hostplane/protocol';
import { DriverError } from '../drivers/driver';
import type { InstanceManager } from '../instances/instance-manager';
import type { AgentLogger } from '../logging/logger';
import { InstanceStream } from './instance-stream';
import { StreamSink, TerminalOpenError, TerminalStream } from './terminal';

/** What the manager needs of any stream kind. */
interface ManagedStream {
  readonly inputCredit: number;
  input(data: Buffer): boolean;
  grantOutputCredit(bytes: number): void;
  resize(cols: number, rows: number): void;
  terminate(reason: string): void;
}

export interface StreamManagerOptions {
  shell: string | null;
  log: AgentLogger;
  /** Instances whose console and logs can be streamed (absent: those kinds are refused). */
  instances?: InstanceManager;
  /** Open streams allowed on one tunnel session. */
  maxStreams?: number;
}

/**
 * The streams of one hub session. Each lives as long as both ends want it and never longer than
 * the session: when the tunnel drops, every pty of it is killed.
 */
export class StreamManager {
  private readonly streams = new Map<string, ManagedStream>();
  /** Ids of instance streams being opened (their driver answers asynchronously). */
  private readonly opening = new Set<string>();
  private readonly maxStreams: number;

  constructor(
    private readonly sink: StreamSink,
    private readonly options: StreamManagerOptions,
  ) {
    this.maxStreams = options.maxStreams ?? 32;
  }

  get size(): number {
    return this.streams.size;
  }

  open(frame: StreamOpen): StreamOpenAck | Promise<StreamOpenAck> {
    if (this.streams.has(frame.stream_id) || this.opening.has(frame.stream_id)) return refuse('stream_exists', `stream ${frame.stream_id} is already open`);
    if (this.streams.size + this.opening.size >= this.maxStreams) return refuse('too_many_streams', `this session already has ${this.streams.size} open streams`);
    const params = STREAM_KINDS[frame.kind].safeParse(frame.params ?? {});
    if (!params.success) {
      const issue = params.error.issues[0];
      return refuse('invalid_params', `${frame.kind} stream params are invalid: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
    }
    if (frame.kind !== 'terminal') {
      const { instance_id: instanceId } = params.data as { instance_id: string };
      const tail = (params.data as { tail?: number }).tail ?? 0;
      return this.openInstanceStream(frame, instanceId, tail);
    }
    try {
      const stream = TerminalStream.open(frame.stream_id, params.data as { cols: number; rows: number }, frame.initial_credit, this.sink, this.options, () => this.streams.delete(frame.stream_id));
      this.streams.set(frame.stream_id, stream);
      return { ok: true, initial_credit: stream.inputCredit };
    } catch (err) {
      this.options.log.warn({ err, stream_id: frame.stream_id }, 'opening a terminal failed');
      if (err instanceof TerminalOpenError) return refuse(err.code, err.message);
      return refuse('open_failed', (err as Error).message);
    }
  }

  private async openInstanceStream(frame: StreamOpen, instanceId: string, tail: number): Promise<StreamOpenAck> {
    const instances = this.options.instances;
    if (!instances) return refuse('unsupported_stream', `this agent does not stream ${frame.kind}`);
    this.opening.add(frame.stream_id);
    try {
      const driver = await instances.driverOf(instanceId);
      const source = frame.kind === 'instance.console' ? await driver.openConsole(instanceId) : await driver.followLogs(instanceId, tail);
      const stream = new InstanceStream(frame.stream_id, source, frame.initial_credit, this.sink, this.options.log, () => this.streams.delete(frame.stream_id));
      this.streams.set(frame.stream_id, stream);
      return { ok: true, initial_credit: stream.inputCredit };
    } catch (err) {
      if (err instanceof DriverError) return refuse(err.code, err.message);
      this.options.log.warn({ err, stream_id: frame.stream_id }, `opening an ${frame.kind} stream failed`);
      return refuse('open_failed', (err as Error).message);
    } finally {
      this.opening.delete(frame.stream_id);
    }
  }

  /** Input for a stream; an error frame to send back when the stream is unknown or over its credit. */
  data(frame: StreamData): ProtocolError | null {
    const stream = this.streams.get(frame.stream_id);
    if (!stream) return { code: 'unknown_stream', event: 'stream:data', message: `no open stream ${frame.stream_id}` };
    const withinCredit = stream.input(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength));
    return withinCredit ? null : { code: 'credit_exceeded', event: 'stream:data', message: `stream ${frame.stream_id}: the hub sent more input than the credit granted` };
  }

  /** Credit for a stream that just closed is normal (it crossed the close frame) and ignored. */
  credit(frame: StreamCredit): void {
    this.streams.get(frame.stream_id)?.grantOutputCredit(frame.bytes);
  }

  control(frame: StreamControl): ProtocolError | null {
    const stream = this.streams.get(frame.stream_id);
    if (!stream) return { code: 'unknown_stream', event: 'stream:control', message: `no open stream ${frame.stream_id}` };
    stream.resize(frame.cols, frame.rows);
    return null;
  }

  close(frame: StreamClose): void {
    this.streams.get(frame.stream_id)?.terminate(frame.reason ?? 'closed by the hub');
  }

  closeAll(reason: string): void {
    for (const stream of [...this.streams.values()]) stream.terminate(reason);
  }
}

function refuse(code: string, message: string): StreamOpenAck {
  return { ok: false, error: { code, message } };
}

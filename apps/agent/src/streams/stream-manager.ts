import {
  ProtocolError,
  STREAM_KINDS,
  StreamClose,
  StreamControl,
  StreamCredit,
  StreamData,
  StreamKind,
  StreamOpen,
  StreamOpenAck,
} from '@hostplane/protocol';
import type { z } from 'zod';
import type { ContainerControl } from '../containers/container-control';
import type { ZoneConsoles } from '../drivers/zone/zone-consoles';
import type { MachineGuest } from '../drivers/parallels/machine-guest';
import { codedFailure } from '../errors/agent-error';
import { FileError } from '../files/file-error';
import type { FileTransfers } from '../transfers/file-transfers';
import type { InstanceManager } from '../instances/instance-manager';
import type { AgentLogger } from '../logging/logger';
import { InputSinkStream } from './input-sink';
import { InstanceStream } from './instance-stream';
import { OutputRelayStream } from './output-relay';
import { StreamSink, TerminalStream } from './terminal';

/** Scrollback rides in the open ack: bounded well below socket.io's 1 MB frame. */
const SCROLLBACK_MAX_CHARS = 256 * 1024;

type ParamsOf<K extends StreamKind> = z.infer<(typeof STREAM_KINDS)[K]>;

/** What the manager needs of any stream kind. */
export interface ManagedStream {
  readonly inputCredit: number;
  input(data: Buffer): boolean;
  grantOutputCredit(bytes: number): void;
  resize(cols: number, rows: number): void;
  /** The hub has sent all its input (only input streams care). */
  endInput?(): void;
  terminate(reason: string): void;
}

export interface StreamManagerOptions {
  shell: string | null;
  log: AgentLogger;
  /** Instances whose console and logs can be streamed (absent: those kinds are refused). */
  instances?: InstanceManager;
  /** Instance files and backups for file.read/write, files.archive, backup.read/write (absent: refused). */
  transfers?: FileTransfers;
  /** Host containers for container.logs (absent: refused). */
  containers?: ContainerControl;
  /** Zone consoles, shells and VNC (absent where the zone driver is off: those kinds are refused). */
  zones?: ZoneConsoles;
  /** Parallels guests: streamed exec, shell, upload (absent where the parallels driver is off: refused). */
  machines?: MachineGuest;
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
  /**
   * Streams this side ended lately (an upload refused midway): input already in flight for them
   * is dropped quietly instead of answered with unknown_stream errors.
   */
  private readonly recentlyEnded = new Set<string>();
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
    if (this.streams.has(frame.stream_id) || this.opening.has(frame.stream_id))
      return refuse('stream_exists', `stream ${frame.stream_id} is already open`);
    if (this.streams.size + this.opening.size >= this.maxStreams)
      return refuse('too_many_streams', `this session already has ${this.streams.size} open streams`);
    const params = STREAM_KINDS[frame.kind].safeParse(frame.params ?? {});
    if (!params.success) {
      const issue = params.error.issues[0];
      return refuse(
        'invalid_params',
        `${frame.kind} stream params are invalid: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
      );
    }
    if (frame.kind === 'terminal') return this.openTerminal(frame, params.data as ParamsOf<'terminal'>);
    return this.openAsync(frame, () => this.build(frame, params.data));
  }

  private openTerminal(frame: StreamOpen, size: ParamsOf<'terminal'>): StreamOpenAck {
    try {
      const stream = TerminalStream.open(frame.stream_id, size, frame.initial_credit, this.sink, this.options, () =>
        this.streams.delete(frame.stream_id),
      );
      this.streams.set(frame.stream_id, stream);
      return { ok: true, initial_credit: stream.inputCredit };
    } catch (err) {
      this.options.log.warn({ err, stream_id: frame.stream_id }, 'opening a terminal failed');
      const failure = codedFailure(err, 'open_failed');
      return refuse(failure.code, failure.message);
    }
  }

  /** The stream of a kind other than terminal; its source answers asynchronously. */
  private async build(
    frame: StreamOpen,
    params: unknown,
  ): Promise<{ stream: ManagedStream; meta?: Record<string, string | number | boolean | null> }> {
    const id = frame.stream_id;
    const ended = () => this.forget(id);
    const { log } = this.options;
    switch (frame.kind) {
      case 'instance.console': {
        const p = params as ParamsOf<'instance.console'>;
        const driver = await this.need(this.options.instances, frame.kind).driverOf(p.instance_id);
        const source = await driver.openConsole(p.instance_id);
        // Read after the console is open: a line written in between shows in both rather than in neither.
        const scrollback =
          p.scrollback > 0 ? await driver.logs(p.instance_id, p.scrollback, 'output').catch(() => []) : [];
        const meta = { scrollback: boundedScrollback(scrollback), tty: source.resize !== undefined };
        return { stream: new InstanceStream(id, source, frame.initial_credit, this.sink, log, ended), meta };
      }
      case 'instance.logs': {
        const p = params as ParamsOf<'instance.logs'>;
        const driver = await this.need(this.options.instances, frame.kind).driverOf(p.instance_id);
        const source = await driver.followLogs(p.instance_id, p.tail ?? 0);
        return { stream: new InstanceStream(id, source, frame.initial_credit, this.sink, log, ended) };
      }
      case 'instance.logs.history': {
        const p = params as ParamsOf<'instance.logs.history'>;
        const driver = await this.need(this.options.instances, frame.kind).driverOf(p.instance_id);
        const range = {
          since: p.since === undefined ? undefined : new Date(p.since),
          until: p.until === undefined ? undefined : new Date(p.until),
          lines: p.lines,
        };
        const { body, timePrecision } = await driver.logHistory(p.instance_id, range);
        return {
          stream: new OutputRelayStream(id, body, frame.initial_credit, this.sink, log, ended),
          meta: { time_precision: timePrecision },
        };
      }
      case 'zone.console':
      case 'zone.shell': {
        const p = params as ParamsOf<'zone.console'>;
        const zones = this.need(this.options.zones, frame.kind);
        const size = { cols: p.cols, rows: p.rows };
        const source =
          frame.kind === 'zone.console' ? await zones.console(p.zone, size) : await zones.shell(p.zone, size);
        return { stream: new InstanceStream(id, source, frame.initial_credit, this.sink, log, ended) };
      }
      case 'zone.vnc': {
        const p = params as ParamsOf<'zone.vnc'>;
        const source = await this.need(this.options.zones, frame.kind).framebuffer(p.zone);
        return { stream: new InstanceStream(id, source, frame.initial_credit, this.sink, log, ended) };
      }
      case 'machine.exec': {
        const p = params as ParamsOf<'machine.exec'>;
        const source = await this.need(this.options.machines, frame.kind).exec(p);
        return { stream: new InstanceStream(id, source, frame.initial_credit, this.sink, log, ended) };
      }
      case 'machine.shell': {
        const p = params as ParamsOf<'machine.shell'>;
        const source = await this.need(this.options.machines, frame.kind).shell(p.vm, { cols: p.cols, rows: p.rows });
        return { stream: new InstanceStream(id, source, frame.initial_credit, this.sink, log, ended) };
      }
      case 'machine.upload': {
        const p = params as ParamsOf<'machine.upload'>;
        const target = await this.need(this.options.machines, frame.kind).upload(p.vm, p.path, p.max_bytes);
        return { stream: new InputSinkStream(id, target, this.sink, log, ended) };
      }
      case 'container.logs': {
        const p = params as ParamsOf<'container.logs'>;
        const source = await this.need(this.options.containers, frame.kind).follow(p.container_id, p.tail, p.follow);
        return { stream: new InstanceStream(id, source, frame.initial_credit, this.sink, log, ended) };
      }
      case 'file.read': {
        const p = params as ParamsOf<'file.read'>;
        const { readable, meta } = await this.need(this.options.transfers, frame.kind).openRead(
          p.instance_id,
          p.path,
          p.offset,
        );
        return { stream: new OutputRelayStream(id, readable, frame.initial_credit, this.sink, log, ended), meta };
      }
      case 'files.archive': {
        const p = params as ParamsOf<'files.archive'>;
        const { readable } = this.need(this.options.transfers, frame.kind).openArchive(p.instance_id, p.base, p.paths);
        return { stream: new OutputRelayStream(id, readable, frame.initial_credit, this.sink, log, ended) };
      }
      case 'backup.read': {
        const p = params as ParamsOf<'backup.read'>;
        const { readable, meta } = await this.need(this.options.transfers, frame.kind).openBackupRead(
          p.instance_id,
          p.backup_id,
        );
        return { stream: new OutputRelayStream(id, readable, frame.initial_credit, this.sink, log, ended), meta };
      }
      case 'file.write': {
        const p = params as ParamsOf<'file.write'>;
        const transfers = this.need(this.options.transfers, frame.kind);
        const target =
          p.upload_id !== undefined
            ? await transfers.uploadWriter(p.instance_id, p.upload_id, p.offset, p.max_bytes)
            : await transfers.pathWriter(p.instance_id, p.path as string, p.overwrite, p.max_bytes);
        return { stream: new InputSinkStream(id, target, this.sink, log, ended) };
      }
      case 'backup.write': {
        const p = params as ParamsOf<'backup.write'>;
        const target = await this.need(this.options.transfers, frame.kind).backupWriter(
          p.instance_id,
          p.backup_id,
          p.size_bytes,
          p.sha256,
        );
        return { stream: new InputSinkStream(id, target, this.sink, log, ended) };
      }
      default:
        throw new FileError('io_error', `this agent cannot open ${frame.kind} streams`);
    }
  }

  private need<T>(service: T | undefined, kind: string): T {
    if (!service) throw new UnsupportedStream(kind);
    return service;
  }

  private async openAsync(
    frame: StreamOpen,
    build: () => Promise<{ stream: ManagedStream; meta?: Record<string, string | number | boolean | null> }>,
  ): Promise<StreamOpenAck> {
    this.opening.add(frame.stream_id);
    try {
      const { stream, meta } = await build();
      this.streams.set(frame.stream_id, stream);
      return meta
        ? { ok: true, initial_credit: stream.inputCredit, meta }
        : { ok: true, initial_credit: stream.inputCredit };
    } catch (err) {
      if (err instanceof UnsupportedStream)
        return refuse('unsupported_stream', `this agent does not stream ${err.kind}`);
      const failure = codedFailure(err, 'open_failed');
      if (!failure.coded)
        this.options.log.warn({ err, stream_id: frame.stream_id }, `opening a ${frame.kind} stream failed`);
      return refuse(failure.code, failure.message);
    } finally {
      this.opening.delete(frame.stream_id);
    }
  }

  private forget(id: string): void {
    this.streams.delete(id);
    this.recentlyEnded.add(id);
    if (this.recentlyEnded.size > 256) this.recentlyEnded.delete(this.recentlyEnded.values().next().value as string);
  }

  /** Input for a stream; an error frame to send back when the stream is unknown or over its credit. */
  data(frame: StreamData): ProtocolError | null {
    const stream = this.streams.get(frame.stream_id);
    if (!stream && this.recentlyEnded.has(frame.stream_id)) return null;
    if (!stream) return { code: 'unknown_stream', event: 'stream:data', message: `no open stream ${frame.stream_id}` };
    const withinCredit = stream.input(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength));
    return withinCredit
      ? null
      : {
          code: 'credit_exceeded',
          event: 'stream:data',
          message: `stream ${frame.stream_id}: the hub sent more input than the credit granted`,
        };
  }

  /** Credit for a stream that just closed is normal (it crossed the close frame) and ignored. */
  credit(frame: StreamCredit): void {
    this.streams.get(frame.stream_id)?.grantOutputCredit(frame.bytes);
  }

  control(frame: StreamControl): ProtocolError | null {
    const stream = this.streams.get(frame.stream_id);
    if (!stream && this.recentlyEnded.has(frame.stream_id)) return null;
    if (!stream)
      return { code: 'unknown_stream', event: 'stream:control', message: `no open stream ${frame.stream_id}` };
    if (frame.type === 'resize') stream.resize(frame.cols, frame.rows);
    else stream.endInput?.();
    return null;
  }

  close(frame: StreamClose): void {
    this.streams.get(frame.stream_id)?.terminate(frame.reason ?? 'closed by the hub');
  }

  closeAll(reason: string): void {
    for (const stream of [...this.streams.values()]) stream.terminate(reason);
  }
}

class UnsupportedStream extends Error {
  constructor(readonly kind: string) {
    super(`unsupported stream kind ${kind}`);
  }
}

/** The newest whole lines that fit in SCROLLBACK_MAX_CHARS. */
function boundedScrollback(lines: string[]): string {
  let chars = 0;
  let from = lines.length;
  while (from > 0 && chars + lines[from - 1]!.length + 1 <= SCROLLBACK_MAX_CHARS) chars += lines[--from]!.length + 1;
  return lines.slice(from).join('\n');
}

function refuse(code: string, message: string): StreamOpenAck {
  return { ok: false, error: { code, message } };
}

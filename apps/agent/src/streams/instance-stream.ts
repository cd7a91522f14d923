import { STREAM_INITIAL_CREDIT, StreamClose } from '@hostplane/protocol';
import type { ConsoleHandle, LogFollower } from '../drivers/driver';
import type { AgentLogger } from '../logging/logger';
import { OutboundCredit } from './outbound-credit';
import type { StreamSink } from './terminal';

const CLOSE_FLUSH_TIMEOUT_MS = 10_000;

/**
 * An instance's console (input and output) or live logs (output only) over one tunnel stream,
 * with the terminal's credit flow control: the driver's source is paused while no credit is left.
 */
export class InstanceStream {
  readonly inputCredit = STREAM_INITIAL_CREDIT;
  private readonly output: OutboundCredit;
  private ended = false;
  private sourceClosed: string | null = null;
  private exitCode: number | undefined;
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly streamId: string,
    private readonly source: ConsoleHandle | LogFollower,
    outputCredit: number,
    private readonly sink: StreamSink,
    private readonly log: AgentLogger,
    private readonly onEnded: () => void,
  ) {
    this.output = new OutboundCredit(outputCredit, {
      send: (chunk) => sink.sendStreamData(streamId, chunk),
      blocked: () => source.pause(),
      drained: () => source.resume(),
    });
    source.onData((chunk) => this.output.push(chunk));
    source.onClose((reason, exitCode) => {
      this.sourceClosed = reason;
      this.exitCode = exitCode;
      if (this.ended) return;
      this.flushTimer = setTimeout(
        () => this.end(`${reason}; output the hub gave no credit for was dropped`),
        CLOSE_FLUSH_TIMEOUT_MS,
      );
      this.closeIfFlushed();
    });
  }

  /** Console input; a logs stream ignores input. False when the hub exceeded its credit. */
  input(data: Buffer): boolean {
    if (this.ended) return true;
    const withinCredit = data.length <= this.inputCredit;
    if ('write' in this.source) this.source.write(data);
    this.sink.sendStreamCredit(this.streamId, data.length);
    return withinCredit;
  }

  grantOutputCredit(bytes: number): void {
    this.output.grant(bytes);
    this.closeIfFlushed();
  }

  /** A docker console is a tty and takes the size; a FIFO console and a log have none. */
  resize(cols: number, rows: number): void {
    if (!this.ended && 'resize' in this.source) this.source.resize?.(cols, rows);
  }

  terminate(reason: string): void {
    if (this.ended) return;
    this.log.info({ stream_id: this.streamId, reason }, 'instance stream closed');
    this.markEnded();
    if (this.sourceClosed === null) this.source.close();
  }

  private closeIfFlushed(): void {
    if (this.sourceClosed !== null && this.output.pendingBytes === 0) this.end(this.sourceClosed);
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.markEnded();
    const frame: StreamClose = { stream_id: this.streamId, reason: reason.slice(0, 500) };
    if (this.exitCode !== undefined) frame.exit_code = this.exitCode;
    this.sink.sendStreamClose(frame);
  }

  private markEnded(): void {
    this.ended = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.onEnded();
  }
}

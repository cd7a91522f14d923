import type { Readable } from 'node:stream';
import { STREAM_INITIAL_CREDIT, StreamClose } from '@hostplane/protocol';
import type { AgentLogger } from '../logging/logger';
import { codedFailure } from '../errors/agent-error';
import { OutboundCredit } from './outbound-credit';
import type { StreamSink } from './terminal';

/**
 * An output-only stream (file.read, backup.read, files.archive) fed by a Node Readable that is
 * paused while the hub's credit is used up, so a slow reader slows the disk reads and nothing
 * piles up in the agent. At the end of the source it closes with exit code 0; a failure midway
 * closes it with `error`.
 */
export class OutputRelayStream {
  readonly inputCredit = STREAM_INITIAL_CREDIT;
  private readonly output: OutboundCredit;
  private sourceEnded = false;
  private ended = false;

  constructor(
    readonly streamId: string,
    private readonly source: Readable,
    outputCredit: number,
    private readonly sink: StreamSink,
    private readonly log: AgentLogger,
    private readonly onEnded: () => void,
  ) {
    this.output = new OutboundCredit(outputCredit, {
      send: (chunk) => sink.sendStreamData(streamId, chunk),
      blocked: () => source.pause(),
      drained: () => {
        if (!this.ended) source.resume();
      },
    });
    source.on('data', (chunk: Buffer) => {
      if (!this.ended) this.output.push(chunk);
    });
    source.on('end', () => {
      this.sourceEnded = true;
      this.closeIfFlushed();
    });
    source.on('error', (err) => this.fail(err));
  }

  /** Output-only: input is ignored (and needs no credit back). */
  input(): boolean {
    return true;
  }

  grantOutputCredit(bytes: number): void {
    this.output.grant(bytes);
    this.closeIfFlushed();
  }

  resize(): void {
    // Bytes have no window size.
  }

  terminate(reason: string): void {
    if (this.ended) return;
    this.log.info({ stream_id: this.streamId, reason }, 'output stream closed by the hub');
    this.markEnded();
    this.source.destroy();
  }

  private closeIfFlushed(): void {
    if (!this.sourceEnded || this.output.pendingBytes > 0 || this.ended) return;
    this.markEnded();
    this.sink.sendStreamClose({ stream_id: this.streamId, exit_code: 0 });
  }

  private fail(err: unknown): void {
    if (this.ended) return;
    const { code, message } = codedFailure(err, 'io_error');
    const error = { code, message };
    this.log.warn({ stream_id: this.streamId, code: error.code, problem: error.message }, 'output stream failed');
    this.markEnded();
    this.source.destroy();
    const frame: StreamClose = { stream_id: this.streamId, exit_code: 1, reason: error.message.slice(0, 500), error };
    this.sink.sendStreamClose(frame);
  }

  private markEnded(): void {
    this.ended = true;
    this.onEnded();
  }
}

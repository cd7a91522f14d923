import { STREAM_INITIAL_CREDIT, StreamClose } from '@hostplane/protocol';
import type { AgentLogger } from '../logging/logger';
import { codedFailure } from '../errors/agent-error';
import type { StreamSink } from './terminal';
import type { InputTarget } from '../transfers/input-target';

/**
 * An input stream (file.write, backup.write). Credit goes back to the hub only once a chunk is
 * on disk, so the hub's `writeAndDrain` waits for the disk and memory stays at one credit window.
 * Writes happen one at a time, in order.
 */
export class InputSinkStream {
  readonly inputCredit = STREAM_INITIAL_CREDIT;
  private outstanding = 0;
  private chain: Promise<void> = Promise.resolve();
  private ended = false;

  constructor(
    readonly streamId: string,
    private readonly target: InputTarget,
    private readonly sink: StreamSink,
    private readonly log: AgentLogger,
    private readonly onEnded: () => void,
  ) {}

  input(data: Buffer): boolean {
    if (this.ended) return true;
    this.outstanding += data.length;
    const withinCredit = this.outstanding <= this.inputCredit;
    this.chain = this.chain
      .then(async () => {
        if (this.ended) return;
        await this.target.write(data);
        this.outstanding -= data.length;
        if (!this.ended) this.sink.sendStreamCredit(this.streamId, data.length);
      })
      .catch((err: unknown) => this.fail(err));
    return withinCredit;
  }

  endInput(): void {
    this.chain = this.chain
      .then(async () => {
        if (this.ended) return;
        const bytes = await this.target.finish();
        if (this.ended) return;
        this.markEnded();
        this.sink.sendStreamClose({ stream_id: this.streamId, exit_code: 0, bytes });
      })
      .catch((err: unknown) => this.fail(err));
  }

  grantOutputCredit(): void {
    // Input-only: nothing goes out but the close.
  }

  resize(): void {
    // Bytes have no window size.
  }

  /** The hub closed without eof (its client went away) or the tunnel dropped. */
  terminate(reason: string): void {
    if (this.ended) return;
    this.log.info({ stream_id: this.streamId, reason }, 'input stream closed before its end');
    this.markEnded();
    this.chain = this.chain
      .then(() => this.target.abandon())
      .catch((err: unknown) =>
        this.log.warn({ err, stream_id: this.streamId }, 'cleaning up an abandoned input stream failed'),
      );
  }

  private async fail(err: unknown): Promise<void> {
    if (this.ended) return;
    const { code, message } = codedFailure(err, 'io_error');
    const error = { code, message };
    this.log.warn({ stream_id: this.streamId, code: error.code, problem: error.message }, 'input stream failed');
    this.markEnded();
    await this.target
      .abandon()
      .catch((e: unknown) =>
        this.log.warn({ err: e, stream_id: this.streamId }, 'cleaning up a failed input stream failed'),
      );
    const frame: StreamClose = { stream_id: this.streamId, exit_code: 1, reason: error.message.slice(0, 500), error };
    // A resumable upload says where it can go on, so the hub's offset stays what the host holds.
    const staged = this.target.staged?.();
    if (staged !== undefined) frame.bytes = staged;
    this.sink.sendStreamClose(frame);
  }

  private markEnded(): void {
    this.ended = true;
    this.onEnded();
  }
}

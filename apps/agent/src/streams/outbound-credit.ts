import { STREAM_CHUNK_BYTES } from '@hostplane/protocol';

export interface OutboundCreditEvents {
  send(chunk: Buffer): void;
  /** Bytes are waiting for credit: the source should stop producing. */
  blocked(): void;
  /** Everything queued has been sent: the source may produce again. */
  drained(): void;
}

/**
 * Credit-based flow control of one stream direction: never more bytes sent than the receiver
 * granted, in chunks no larger than STREAM_CHUNK_BYTES. What cannot be sent waits in order.
 */
export class OutboundCredit {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private isBlocked = false;

  constructor(
    private credit: number,
    private readonly events: OutboundCreditEvents,
  ) {}

  get availableCredit(): number {
    return this.credit;
  }

  get pendingBytes(): number {
    return this.queuedBytes;
  }

  push(data: Buffer): void {
    if (data.length === 0) return;
    this.queue.push(data);
    this.queuedBytes += data.length;
    this.drain();
  }

  grant(bytes: number): void {
    this.credit += bytes;
    this.drain();
  }

  private drain(): void {
    while (this.queue.length > 0 && this.credit > 0) {
      const head = this.queue[0] as Buffer;
      const n = Math.min(head.length, this.credit, STREAM_CHUNK_BYTES);
      const chunk = head.subarray(0, n);
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
      this.queuedBytes -= n;
      this.credit -= n;
      this.events.send(chunk);
    }
    if (this.queue.length > 0 && !this.isBlocked) {
      this.isBlocked = true;
      this.events.blocked();
    } else if (this.queue.length === 0) {
      if (this.isBlocked) {
        this.isBlocked = false;
        this.events.drained();
      }
    }
  }
}

import WebSocket from 'ws';
import { monotonicMicros } from './clock';
import { boundedAll } from './hub-client';

const WELCOME_TIMEOUT_MS = 30_000;

export interface FanoutTally {
  subscribers: number;
  /** Events each subscriber should have received. */
  expectedPerSubscriber: number;
  /** Distinct (subscriber, seq) pairs received. */
  delivered: number;
  lost: number;
  duplicates: number;
  /** An event that arrived after a later one, at the same subscriber. */
  outOfOrder: number;
  /** Subscribers the hub closed during the run (e.g. 4008 too slow), by close code. */
  closedByHub: Record<string, number>;
}

/**
 * N WebSocket subscribers of `/v1/ws/subscribe?events=<type>` in this process, each recording
 * which `seq` it got and, per event, the delay from the publisher's `sent_us` stamp to its own
 * receive (both CLOCK_MONOTONIC, see lib/clock.ts).
 */
export class SubscriberPool {
  private readonly sockets: WebSocket[] = [];
  private readonly seen: Uint8Array[] = [];
  private readonly lastSeq: Int32Array;
  private readonly closedByHub: Record<string, number> = {};
  private closing = false;
  /** Delivery delays in ms, `count` of them valid. */
  readonly delays: Float64Array;
  count = 0;
  duplicates = 0;
  outOfOrder = 0;

  private constructor(
    readonly size: number,
    private readonly expected: number,
  ) {
    this.delays = new Float64Array(size * expected);
    this.lastSeq = new Int32Array(size).fill(-1);
  }

  /** Opens `size` subscribers, `concurrency` handshakes at a time; resolves once each got its welcome. */
  static async open(hubUrl: string, accessToken: string, eventType: string, size: number, expected: number, concurrency = 50): Promise<SubscriberPool> {
    const pool = new SubscriberPool(size, expected);
    const url = `${hubUrl.replace(/^http/, 'ws')}/v1/ws/subscribe?events=${encodeURIComponent(eventType)}`;
    try {
      await boundedAll(size, concurrency, (i) => pool.connect(i, url, accessToken));
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  private connect(i: number, url: string, accessToken: string): Promise<void> {
    this.seen[i] = new Uint8Array(this.expected);
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${accessToken}` }, perMessageDeflate: false });
    this.sockets[i] = ws;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`subscriber ${i}: no welcome within ${WELCOME_TIMEOUT_MS / 1000} s`)), WELCOME_TIMEOUT_MS);
      ws.on('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        reject(new Error(`subscriber ${i}: the upgrade was answered ${res.statusCode}`));
      });
      ws.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on('close', (code) => {
        if (!this.closing) this.closedByHub[code] = (this.closedByHub[code] ?? 0) + 1;
      });
      ws.on('message', (data: Buffer) => {
        const at = monotonicMicros();
        const m = JSON.parse(data.toString('utf8')) as { type: string; event?: { data: { seq: number; sent_us: number } } };
        if (m.type === 'welcome') {
          clearTimeout(timer);
          resolve();
        } else if (m.type === 'event' && m.event) this.record(i, m.event.data.seq, at - m.event.data.sent_us);
      });
    });
  }

  private record(i: number, seq: number, delayUs: number): void {
    const seen = this.seen[i]!;
    if (seq < 0 || seq >= seen.length) return;
    if (seen[seq]) {
      this.duplicates++;
      return;
    }
    seen[seq] = 1;
    if (seq < this.lastSeq[i]!) this.outOfOrder++;
    else this.lastSeq[i] = seq;
    this.delays[this.count++] = delayUs / 1000;
  }

  /** Subscribers still open. */
  openCount(): number {
    return this.sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  }

  /** Resolves once `published` events reached every subscriber, or nothing arrived for `quietMs`. */
  async settle(published: number, quietMs: number, maxMs: number): Promise<void> {
    const until = performance.now() + maxMs;
    let last = this.count;
    let lastChange = performance.now();
    while (performance.now() < until && this.count < this.size * published) {
      await new Promise((r) => setTimeout(r, 100));
      if (this.count !== last) {
        last = this.count;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > quietMs) return;
    }
  }

  /** `published`: how many of the expected events were actually published (all, unless the run was cut short). */
  tally(published = this.expected): FanoutTally {
    return {
      subscribers: this.size,
      expectedPerSubscriber: published,
      delivered: this.count,
      lost: this.size * published - this.count,
      duplicates: this.duplicates,
      outOfOrder: this.outOfOrder,
      closedByHub: { ...this.closedByHub },
    };
  }

  close(): void {
    this.closing = true;
    for (const ws of this.sockets) ws?.terminate();
  }
}

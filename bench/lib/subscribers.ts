import WebSocket from 'ws';
import { monotonicMicros } from './clock';
import { boundedAll } from './hub-client';

const WELCOME_TIMEOUT_MS = 30_000;

export interface FanoutTally {
  subscribers: number;
  /** Events each subscriber should have received (those published). */
  expectedPerSubscriber: number;
  /** Distinct (subscriber, seq) pairs received. */
  delivered: number;
  /** Expected but not received when the run was settled: lost, or still queued in the hub. */
  undelivered: number;
  duplicates: number;
  /** An event that arrived after a later one, at the same subscriber. */
  outOfOrder: number;
  /** Subscribers the hub closed during the run (4008 too slow, 1006 dropped after a missed ping), by close code. */
  closedByHub: Record<string, number>;
}

interface Run {
  id: number;
  seen: Uint8Array[];
  lastSeq: Int32Array;
  /** Delivery delays in ms, `count` of them valid. */
  delays: Float64Array;
  count: number;
  duplicates: number;
  outOfOrder: number;
  closedByHub: Record<string, number>;
}

/**
 * N WebSocket subscribers of `/v1/ws/subscribe?events=<type>` in this process. For the current
 * run, each records which `seq` it got and, per event, the delay from the publisher's `sent_us`
 * stamp to its own receive (both CLOCK_MONOTONIC, see lib/clock.ts); events of other runs are
 * ignored, so one set of connections serves several runs.
 */
export class SubscriberPool {
  private readonly sockets: WebSocket[] = [];
  private run: Run | null = null;
  private closing = false;

  private constructor(readonly size: number) {}

  /** Opens `size` subscribers, `concurrency` handshakes at a time; resolves once each got its welcome. */
  static async open(
    hubUrl: string,
    accessToken: string,
    eventType: string,
    size: number,
    concurrency = 50,
  ): Promise<SubscriberPool> {
    const pool = new SubscriberPool(size);
    const url = `${hubUrl.replace(/^http/, 'ws')}/v1/ws/subscribe?events=${encodeURIComponent(eventType)}`;
    try {
      await boundedAll(size, concurrency, (i) => pool.connect(i, url, accessToken));
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  /** Starts recording run `id` with up to `expected` events per subscriber. */
  beginRun(id: number, expected: number): void {
    this.run = {
      id,
      seen: Array.from({ length: this.size }, () => new Uint8Array(expected)),
      lastSeq: new Int32Array(this.size).fill(-1),
      delays: new Float64Array(this.size * expected),
      count: 0,
      duplicates: 0,
      outOfOrder: 0,
      closedByHub: {},
    };
  }

  /** The current run's delays in ms. */
  delays(): Float64Array {
    return this.run ? this.run.delays.subarray(0, this.run.count) : new Float64Array(0);
  }

  private connect(i: number, url: string, accessToken: string): Promise<void> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${accessToken}` }, perMessageDeflate: false });
    this.sockets[i] = ws;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`subscriber ${i}: no welcome within ${WELCOME_TIMEOUT_MS / 1000} s`)),
        WELCOME_TIMEOUT_MS,
      );
      ws.on('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        reject(new Error(`subscriber ${i}: the upgrade was answered ${res.statusCode}`));
      });
      ws.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on('close', (code) => {
        if (!this.closing && this.run) this.run.closedByHub[code] = (this.run.closedByHub[code] ?? 0) + 1;
      });
      ws.on('message', (data: Buffer) => {
        const at = monotonicMicros();
        const m = JSON.parse(data.toString('utf8')) as {
          type: string;
          event?: { data: { run: number; seq: number; sent_us: number } };
        };
        if (m.type === 'welcome') {
          clearTimeout(timer);
          resolve();
        } else if (m.type === 'event' && m.event) this.record(i, m.event.data, at);
      });
    });
  }

  private record(i: number, e: { run: number; seq: number; sent_us: number }, at: number): void {
    const run = this.run;
    if (!run || e.run !== run.id) return;
    const seen = run.seen[i]!;
    if (e.seq < 0 || e.seq >= seen.length) return;
    if (seen[e.seq]) {
      run.duplicates++;
      return;
    }
    seen[e.seq] = 1;
    if (e.seq < run.lastSeq[i]!) run.outOfOrder++;
    else run.lastSeq[i] = e.seq;
    run.delays[run.count++] = (at - e.sent_us) / 1000;
  }

  /** Resolves once `published` events reached every subscriber, or nothing arrived for `quietMs`, or after `maxMs`. */
  async settle(published: number, quietMs: number, maxMs: number): Promise<void> {
    const until = performance.now() + maxMs;
    let last = this.run?.count ?? 0;
    let lastChange = performance.now();
    while (this.run && performance.now() < until && this.run.count < this.size * published) {
      await new Promise((r) => setTimeout(r, 100));
      if (this.run.count !== last) {
        last = this.run.count;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > quietMs) return;
    }
  }

  tally(published: number): FanoutTally {
    const run = this.run;
    return {
      subscribers: this.size,
      expectedPerSubscriber: published,
      delivered: run?.count ?? 0,
      undelivered: this.size * published - (run?.count ?? 0),
      duplicates: run?.duplicates ?? 0,
      outOfOrder: run?.outOfOrder ?? 0,
      closedByHub: { ...run?.closedByHub },
    };
  }

  close(): void {
    this.closing = true;
    for (const ws of this.sockets) ws?.terminate();
  }
}

import { EventsService } from '@hostplane/hub/dist/src/events/events.service';
import { startTestHub } from '@hostplane/hub/dist/test/support/test-hub';
import Redis from 'ioredis';
import type { BenchContext, BenchReport, OperationResult } from './lib/context';
import { redisUrl } from './lib/hub';
import { ratio, round, summarize } from './lib/stats';
import { printTable } from './lib/table';

/**
 * What the transactional outbox costs an event (decision 0016), side by side in one run on one
 * hub in this process: `EventsService.publish` (a PostgreSQL row, the relay, the Redis stream,
 * answered once the stream has it) against a bare `XADD` of the same fields, one at a time and
 * with 50 publishers at once. CPU is this process's, which holds the hub, its relay and the
 * stream reader: the work an event costs a replica.
 */

const ORG = '00000000-0000-4000-8000-000000000000';

interface Row {
  label: string;
  events: number;
  p50: number;
  p99: number;
  perSecond: number;
  cpuMsPerEvent: number;
}

async function measure(
  label: string,
  events: number,
  concurrency: number,
  publishOne: (i: number) => Promise<unknown>,
): Promise<Row & { samples: number[] }> {
  const samples: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < events) {
        const i = next++;
        const s = performance.now();
        await publishOne(i);
        samples.push(performance.now() - s);
      }
    }),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const summary = summarize(samples);
  return {
    label,
    events,
    p50: summary.p50,
    p99: summary.p99,
    perSecond: (events * 1000) / wall,
    cpuMsPerEvent: (cpu.user + cpu.system) / 1000 / events,
    samples,
  };
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const events = ctx.quick ? 200 : 2_000;
  ctx.progress('starting a hub in this process (throwaway database and Redis prefix)');
  const hub = await startTestHub({ env: { HOSTPLANE_LOG_LEVEL: 'warn' } });
  const outbox = hub.app.get(EventsService);
  const redis = new Redis(redisUrl);
  const streamKey = `${outbox.key}:bench-direct`;
  const direct = (i: number) =>
    redis.xadd(
      streamKey,
      'MAXLEN',
      '~',
      10_000,
      '*',
      'org',
      ORG,
      'type',
      'bench.tick',
      'ts',
      new Date().toISOString(),
      'data',
      JSON.stringify({ i }),
    );
  const viaOutbox = (i: number) => outbox.publishAndWait(ORG, 'bench.tick', { i });
  try {
    ctx.progress('warm-up');
    await measure('warm-up', Math.min(events, 300), 1, viaOutbox);
    await measure('warm-up', Math.min(events, 300), 1, direct);
    const rows: Row[] = [];
    for (const concurrency of [1, 50]) {
      ctx.progress(`${events} events, ${concurrency} at a time`);
      rows.push(await measure(`XADD, ${concurrency} at a time`, events, concurrency, direct));
      rows.push(await measure(`outbox publish, ${concurrency} at a time`, events, concurrency, viaOutbox));
    }
    printTable(
      [
        { header: 'path', value: (r: Row) => r.label },
        { header: 'events', value: (r: Row) => r.events },
        { header: 'p50 ms', value: (r: Row) => round(r.p50, 3) },
        { header: 'p99 ms', value: (r: Row) => round(r.p99, 3) },
        { header: 'events/s', value: (r: Row) => Math.round(r.perSecond) },
        { header: 'CPU ms/event', value: (r: Row) => round(r.cpuMsPerEvent, 3) },
      ],
      rows,
    );
    const [x1, o1, x50, o50] = rows as [Row, Row, Row, Row];
    const measurements: OperationResult[] = rows.map((r) => ({ label: r.label, summary: summarize([r.p50, r.p99]) }));
    return {
      measurements,
      ratios: {
        'outbox/XADD p50 latency, 1 at a time': ratio(o1.p50, x1.p50),
        'outbox/XADD CPU per event, 1 at a time': ratio(o1.cpuMsPerEvent, x1.cpuMsPerEvent),
        'outbox/XADD CPU per event, 50 at a time': ratio(o50.cpuMsPerEvent, x50.cpuMsPerEvent),
        'XADD/outbox events/s, 50 at a time': ratio(x50.perSecond, o50.perSecond),
      },
      facts: { events, node: process.version },
    };
  } finally {
    redis.disconnect();
    await hub.close();
  }
}

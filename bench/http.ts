import type { BenchContext, BenchReport } from './lib/context';
import { startBenchHub } from './lib/hub';
import { LoadResult, measureLoad } from './lib/load';
import { ratio } from './lib/stats';
import { printLoadResults, printRatios } from './lib/table';

/**
 * The real hub on its own database, with everything a request passes through (request id,
 * Redis rate limit, access guard, metrics, audit and log hooks; logger at warn). /health/live
 * is the cheapest route there is; /health/ready adds a PostgreSQL `SELECT 1` and a Redis PING
 * per request.
 */
export async function run(ctx: BenchContext): Promise<BenchReport> {
  ctx.progress('starting the hub on a throwaway database');
  const hub = await startBenchHub();
  const measure = (path: string): Promise<LoadResult> => {
    ctx.progress(`GET ${path}: ${ctx.settings.warmupSeconds} s warm-up, ${ctx.settings.durationSeconds} s measured`);
    return measureLoad({ label: `hub GET ${path}`, url: hub.url + path, serverPid: hub.pid }, ctx.settings);
  };
  let live: LoadResult;
  let ready: LoadResult;
  try {
    live = await measure('/health/live');
    ready = await measure('/health/ready');
  } finally {
    await hub.close();
  }
  const measurements = [live, ready];
  const ratios = {
    'ready/live req/s': ratio(ready.reqPerSec, live.reqPerSec),
    'ready/live p99': ratio(ready.latencyMs.p99, live.latencyMs.p99),
  };
  printLoadResults(measurements);
  process.stdout.write('\n');
  printRatios(ratios);
  return { measurements, ratios };
}

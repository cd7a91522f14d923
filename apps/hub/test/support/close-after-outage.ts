// Run as its own process by redis-parked-disconnect.test.ts: a hub in this process, its own Redis
// stopped for OUTAGE_MS and started again, then the hub closed AFTER_MS later. Prints the close
// time; exits 0 when the close returned. Unhandled rejections are judged as the hub's server judges
// them (a Redis restart makes some), so only a close that never returns fails.
import { installProcessFaultHandler } from '../../src/process/process-faults';
import { traceShutdownHooks } from '../../src/process/shutdown-trace';
import { OwnRedis } from './redis-server';
import { startTestHub } from './test-hub';

async function main(): Promise<void> {
  const outageMs = Number(process.env.OUTAGE_MS);
  const afterMs = Number(process.env.AFTER_MS);
  const redis = await OwnRedis.start();
  const hub = await startTestHub({ env: { HOSTPLANE_REDIS_URL: redis.url } });
  installProcessFaultHandler(hub.log);
  await new Promise((r) => setTimeout(r, 500));
  await redis.kill();
  await new Promise((r) => setTimeout(r, outageMs));
  await redis.start();
  await new Promise((r) => setTimeout(r, afterMs));
  const started = Date.now();
  const pending = traceShutdownHooks(hub.app);
  const report = setInterval(() => process.stdout.write(`waiting on ${pending().join(', ')}\n`), 2_000);
  await hub.close();
  clearInterval(report);
  process.stdout.write(`closed after ${Date.now() - started} ms\n`);
  await redis.kill();
  process.exit(0);
}

main().catch((err: Error) => {
  process.stdout.write(`failed: ${err.message}\n`);
  process.exit(1);
});

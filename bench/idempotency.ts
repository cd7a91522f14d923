import { randomUUID } from 'node:crypto';
import { IdempotencyProbeModule } from '@hostplane/hub/dist/test/fixtures/idempotency-probe.module';
import { IdentityContext } from '@hostplane/hub/dist/test/support/identity';
import type { BenchContext, BenchReport, OperationResult } from './lib/context';
import { ratio, round, summarize } from './lib/stats';
import { printTable } from './lib/table';

/**
 * What an `Idempotency-Key` costs a request (decision 0018): the same test-only POST route with
 * and without a new key each time, interleaved in blocks of 25 so both see the same machine, on
 * one hub in this process. CPU is this process's (the hub and the client) per request.
 */

const BLOCK = 25;

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const rounds = ctx.quick ? 100 : 600;
  ctx.progress('starting a hub in this process with the test-only probe route');
  const id = await IdentityContext.start({
    env: { HOSTPLANE_LOG_LEVEL: 'warn' },
    extraModules: [IdempotencyProbeModule],
  });
  try {
    const owner = id.admin.inOrg(id.admin.personalOrgId);
    const samples = { without: [] as number[], with: [] as number[] };
    const cpuMs = { without: 0, with: 0 };
    let n = 0;
    const block = async (variant: 'with' | 'without', keep: boolean) => {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < BLOCK; i++) {
        const headers: Record<string, string> = variant === 'with' ? { 'idempotency-key': randomUUID() } : {};
        const t0 = performance.now();
        const res = await owner.request('/test/idem/things', {
          method: 'POST',
          json: { name: `bench-${n++}` },
          headers,
        });
        const ms = performance.now() - t0;
        if (res.status !== 201) throw new Error(`probe answered ${res.status}: ${res.text}`);
        if (keep) samples[variant].push(ms);
      }
      const cpu = process.cpuUsage(cpu0);
      if (keep) cpuMs[variant] += (cpu.user + cpu.system) / 1000;
    };
    ctx.progress('warm-up');
    await block('without', false);
    await block('with', false);
    ctx.progress(`${rounds} requests each way, interleaved in blocks of ${BLOCK}`);
    for (let i = 0; i < rounds / BLOCK; i++) {
      for (const v of i % 2 ? (['with', 'without'] as const) : (['without', 'with'] as const)) await block(v, true);
    }
    const rows = (['without', 'with'] as const).map((v) => ({
      label: `POST ${v} a key`,
      s: summarize(samples[v]),
      cpu: cpuMs[v] / samples[v].length,
    }));
    printTable(
      [
        { header: 'request', value: (r: (typeof rows)[number]) => r.label },
        { header: 'count', value: (r) => r.s.count },
        { header: 'p50 ms', value: (r) => round(r.s.p50, 2) },
        { header: 'p90 ms', value: (r) => round(r.s.p90, 2) },
        { header: 'p99 ms', value: (r) => round(r.s.p99, 2) },
        { header: 'CPU ms/request', value: (r) => round(r.cpu, 3) },
      ],
      rows,
    );
    const [without, withKey] = rows as [(typeof rows)[number], (typeof rows)[number]];
    const measurements: OperationResult[] = rows.map((r) => ({ label: r.label, summary: r.s }));
    return {
      measurements,
      ratios: {
        'with/without key p50 latency': ratio(withKey.s.p50, without.s.p50),
        'with/without key CPU per request': ratio(withKey.cpu, without.cpu),
      },
      facts: { rounds, block: BLOCK, node: process.version },
    };
  } finally {
    await id.close();
  }
}

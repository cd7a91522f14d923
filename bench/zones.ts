import { join } from 'node:path';
import { tempDir } from '@hostplane/hub/dist/test/support/test-env';
import { SIM_BIN, zoneAgentEnv } from '@hostplane/hub/dist/test/support/zone-nodes';
import type { BenchContext, BenchReport } from './lib/context';
import { startBenchHub } from './lib/hub';
import { HubClient } from './lib/hub-client';
import { RealAgent } from './lib/real-agent';
import { ratio } from './lib/stats';
import { printRatios, printTable } from './lib/table';
import { closedLoop, type ClosedLoopResult, idleCpuRates, runTool, seedSimZones } from './zones-fixtures';

const ZONES = 500;
const TOKENS = 8;
const CONCURRENCY = 8;
/**
 * ZoneWeaver's agent, as measured in issue 13: bcrypt against every stored key on each request,
 * ~850 ms per request with eight keys, ~1.2 req/s with 8 keys at concurrency 8.
 */
const ZONEWEAVER_REQ_PER_S = 1.2;

/**
 * Issue 13's zone benchmark on the real hub and a real agent whose illumos tools are the
 * simulated ones (apps/agent/test/sim-tools) holding 500 zones:
 * - the zone list through the hub (`GET /v1/nodes/{id}/host/zones.list`, answered live by the
 *   agent running `pfexec zoneadm list -c -p`), against the same command run directly, at
 *   concurrency 8: p50/p99, req/s, CPU per request of the hub and of the agent with the tools it ran;
 * - the authenticated request rate with 8 API tokens taking turns at concurrency 8, on the zone
 *   list and on a read served from PostgreSQL (`GET /v1/nodes/{id}`), beside ZoneWeaver's ~1.2 req/s.
 * A simulated tool is a node process (~40 ms of CPU to start) where the real zoneadm is a small C
 * program: the zone-list figures are a floor for what the hub path sustains, the tool dominating.
 * CPU per request is net of each process's idle use, measured first over the same duration.
 */
export async function run(ctx: BenchContext): Promise<BenchReport> {
  const warmupSeconds = ctx.settings.warmupSeconds;
  const seconds = ctx.settings.durationSeconds;
  const sim = join(tempDir('hp-bench-zsim-'), 's');
  seedSimZones(sim, ZONES);
  const env = zoneAgentEnv(sim);

  ctx.progress('starting the hub on a throwaway database');
  const hub = await startBenchHub();
  const client = new HubClient(hub.url, CONCURRENCY);
  let agent: RealAgent | null = null;
  try {
    const boot = await client.expect(201, '/v1/auth/bootstrap', {
      json: { email: 'zones-admin@example.test', password: 'Bench-5e2f1d-Quarry', organization_name: 'Bench' },
    });
    client.headers.authorization = `Bearer ${boot.access_token}`;
    client.headers['x-org-id'] = boot.organization.id;
    const tokens: string[] = [];
    for (let i = 0; i < TOKENS; i++)
      tokens.push(
        (await client.expect(201, '/v1/api-tokens', { json: { name: `bench-${i}`, expires_in: 3600 } })).token,
      );

    ctx.progress(`starting a zone agent with ${ZONES} simulated zones`);
    agent = await RealAgent.register(client, hub.url, env);
    await agent.start(client);
    const nodeId = agent.nodeId;
    const listPath = `/v1/nodes/${nodeId}/host/zones.list`;
    const first = await client.expect(200, listPath);
    const listed = (first.data as unknown[]).length;
    if (listed !== ZONES) throw new Error(`the zone list has ${listed} zones, expected ${ZONES}`);

    const bare = new HubClient(hub.url, CONCURRENCY);
    const asToken = (path: string) => async (i: number) =>
      (await bare.request(path, { headers: { authorization: `Bearer ${tokens[i % TOKENS]}` } })).status === 200;
    const watch = [
      { name: 'hub', pid: hub.pid },
      { name: 'agent+tools', pid: agent.pid!, withChildren: true },
    ];
    ctx.progress(`idle CPU of the hub and the agent over ${seconds} s`);
    const idle = await idleCpuRates(watch, seconds);
    const results: ClosedLoopResult[] = [];
    const measure = async (label: string, send: (i: number) => Promise<boolean>, w = watch) => {
      ctx.progress(`${label}: ${warmupSeconds} s warm-up, ${seconds} s measured, concurrency ${CONCURRENCY}`);
      results.push(await closedLoop({ label, concurrency: CONCURRENCY, warmupSeconds, seconds, send, watch: w, idle }));
    };
    await measure(
      'zone list, direct: pfexec zoneadm list -c -p',
      () => runTool([join(SIM_BIN, 'pfexec'), 'zoneadm', 'list', '-c', '-p'], { ...process.env, ...env }),
      [{ name: 'bench+tools', pid: process.pid, withChildren: true }],
    );
    await measure(
      'zone list through the hub, 1 token',
      async () => (await bare.request(listPath, { headers: { authorization: `Bearer ${tokens[0]}` } })).status === 200,
    );
    await measure(`zone list through the hub, ${TOKENS} tokens in turn`, asToken(listPath));
    await measure(`GET /v1/nodes/{id}, ${TOKENS} tokens in turn`, asToken(`/v1/nodes/${nodeId}`));
    bare.close();

    printTable<ClosedLoopResult>(
      [
        { header: 'target', value: (r) => r.label },
        { header: 'req/s', value: (r) => r.reqPerSec },
        { header: 'p50 ms', value: (r) => r.latency.p50 },
        { header: 'p90 ms', value: (r) => r.latency.p90 },
        { header: 'p99 ms', value: (r) => r.latency.p99 },
        { header: 'max ms', value: (r) => r.latency.max },
        { header: 'requests', value: (r) => r.requests },
        { header: 'failed', value: (r) => r.failures },
        {
          header: 'cpu ms/req',
          value: (r) =>
            Object.entries(r.cpuMsPerRequest)
              .map(([k, v]) => `${k} ${v ?? '-'}`)
              .join(', '),
        },
      ],
      results,
    );
    const [direct, hubOne, hubTokens, nodeRead] = results as [
      ClosedLoopResult,
      ClosedLoopResult,
      ClosedLoopResult,
      ClosedLoopResult,
    ];
    const ratios: Record<string, number> = {
      'zone list hub/direct req/s': ratio(hubOne.reqPerSec, direct.reqPerSec),
      'zone list 8 tokens/1 token req/s': ratio(hubTokens.reqPerSec, hubOne.reqPerSec),
      'zone list 8 tokens / ZoneWeaver 8 keys req/s': ratio(hubTokens.reqPerSec, ZONEWEAVER_REQ_PER_S),
      'node read 8 tokens / ZoneWeaver 8 keys req/s': ratio(nodeRead.reqPerSec, ZONEWEAVER_REQ_PER_S),
    };
    process.stdout.write(
      `idle CPU, subtracted above: ${Object.entries(idle)
        .map(([k, v]) => `${k} ${Math.round(v * 1000)} ms/s`)
        .join(', ')}\n\n`,
    );
    printRatios(ratios);
    process.stdout.write(
      `\nZoneWeaver (issue 13): ~${ZONEWEAVER_REQ_PER_S} req/s with ${TOKENS} keys at concurrency ${CONCURRENCY}; ` +
        `here ${hubTokens.reqPerSec} req/s listing ${ZONES} zones live and ${nodeRead.reqPerSec} req/s on a PostgreSQL read.\n`,
    );
    for (const r of results)
      if (r.failures) process.stderr.write(`warning: ${r.label}: ${r.failures} failed requests during the run\n`);
    return {
      measurements: results.map((r) => ({ label: r.label, summary: r.latency })),
      ratios,
      facts: {
        zones: ZONES,
        tokens: TOKENS,
        concurrency: CONCURRENCY,
        zoneweaverReqPerSec: ZONEWEAVER_REQ_PER_S,
        ...Object.fromEntries(Object.entries(idle).map(([k, v]) => [`idle cpu ms/s ${k}`, Math.round(v * 1000)])),
        ...Object.fromEntries(results.map((r) => [`${r.label} req/s`, r.reqPerSec])),
        ...Object.fromEntries(
          results.flatMap((r) =>
            Object.entries(r.cpuMsPerRequest).map(([k, v]) => [`${r.label} cpu ms/req ${k}`, v ?? -1]),
          ),
        ),
      },
    };
  } finally {
    client.close();
    await agent?.close();
    await hub.close();
  }
}

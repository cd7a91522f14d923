import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParallelsInventory } from '@hostplane/protocol';
import { placeMachine, type PlacementCandidate } from '@hostplane/hub/dist/src/machines/machine-placement';
import { tempDir } from '@hostplane/hub/dist/test/support/test-env';
import { SIM_BIN } from '@hostplane/hub/dist/test/support/zone-nodes';
import type { BenchContext, BenchReport } from './lib/context';
import { startBenchHub } from './lib/hub';
import { HubClient } from './lib/hub-client';
import { RealAgent } from './lib/real-agent';
import { ratio, round, summarize } from './lib/stats';
import { printRatios, printTable } from './lib/table';
import { closedLoop, type ClosedLoopResult, idleCpuRates, runTool, type Watched } from './zones-fixtures';

const HOSTS = 10;
const VMS_PER_HOST = 20;
const CONCURRENCY = 4;
const PLACEMENT_CALLS = 2000;
const SYNTHETIC_HOSTS = 1000;

/** One simulated Mac: a template and VMs copied from one `prlctl create`, a quarter running, two macOS. */
function seedHost(sim: string, host: number): void {
  const env = { ...process.env, HOSTPLANE_SIM_STATE: sim };
  execFileSync(join(SIM_BIN, 'prlctl'), ['create', 'ubuntu-tpl', '-d', 'ubuntu'], { env });
  writeFileSync(
    join(sim, 'prl-host.json'),
    JSON.stringify({ hostname: `mac-${host}.local`, machine: host % 5 === 4 ? 'x86_64' : 'arm64', logicalCpus: 24 }),
  );
  const file = join(sim, 'parallels.json');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { vms: Record<string, Record<string, unknown>> };
  const template = Object.values(doc.vms)[0]!;
  template.template = true;
  for (let i = 1; i < VMS_PER_HOST; i++) {
    const id = randomUUID();
    const running = i % 4 === 0;
    doc.vms[id] = {
      ...template,
      id,
      name: `vm-${host}-${i}`,
      template: false,
      os: i <= 2 ? 'macosx' : 'ubuntu',
      state: running ? 'running' : 'stopped',
      ip: running ? `10.211.55.${i + 1}` : null,
      startedAt: running ? Date.now() : null,
    };
  }
  writeFileSync(file, JSON.stringify(doc));
}

function timeCalls(n: number, fn: () => unknown) {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  const s = summarize(samples);
  return { ...s, p50: round(s.p50, 4), p99: round(s.p99, 4), mean: round(s.mean, 4), max: round(s.max, 3) };
}

/**
 * Issue 14's machines benchmark: 200 VMs over 10 simulated Macs (real agents, the simulated
 * prlctl/prlsrvctl/sysctl), through the real hub at concurrency 4:
 * - the machine list across hosts (`GET /v1/machines`: every agent runs `prlctl list -a -i --json`
 *   live) and one host's list, against that command run directly;
 * - the resources overview (`GET /v1/machines/resources`, from the node inventories) and placement
 *   through the hub (`POST /v1/machines/placement`);
 * - `placeMachine()` alone on the same 10 inventories and on 1,000 synthetic hosts.
 * CPU per request of the hub and of the agents with the tools they ran (net of idle use).
 */
export async function run(ctx: BenchContext): Promise<BenchReport> {
  const { warmupSeconds, durationSeconds: seconds } = ctx.settings;
  const sims = Array.from({ length: HOSTS }, () => join(tempDir('hp-bench-prl-'), 's'));
  ctx.progress(`seeding ${HOSTS} simulated Macs with ${VMS_PER_HOST} VMs each`);
  sims.forEach(seedHost);

  ctx.progress('starting the hub on a throwaway database');
  const hub = await startBenchHub();
  const client = new HubClient(hub.url, CONCURRENCY);
  const agents: RealAgent[] = [];
  try {
    const boot = await client.expect(201, '/v1/auth/bootstrap', {
      json: { email: 'machines-admin@example.test', password: 'Bench-5e2f1d-Quarry', organization_name: 'Bench' },
    });
    client.headers.authorization = `Bearer ${boot.access_token}`;
    client.headers['x-org-id'] = boot.organization.id;
    const { token } = await client.expect(201, '/v1/api-tokens', { json: { name: 'bench', expires_in: 3600 } });

    ctx.progress(`starting ${HOSTS} agents on the simulated Parallels tools`);
    for (const sim of sims) {
      const agent = await RealAgent.register(client, hub.url, {
        PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        HOSTPLANE_SIM_STATE: sim,
        HOSTPLANE_AGENT_PARALLELS_ENABLED: 'on',
        HOSTPLANE_AGENT_PARALLELS_SERVICE_LOG_FILE: join(sim, 'parallels.log'),
      });
      await agent.start(client);
      agents.push(agent);
    }
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await client.expect(200, '/v1/machines/resources');
      if (r.machines.total === HOSTS * VMS_PER_HOST) break;
      if (Date.now() > deadline)
        throw new Error(`the inventories list ${r.machines.total} VMs, not ${HOSTS * VMS_PER_HOST}`);
      await new Promise((res) => setTimeout(res, 500));
    }
    // Under load an agent may miss the live read's deadline (it is then named in `unreachable`).
    for (let attempt = 1; ; attempt++) {
      const listed = await client.expect(200, '/v1/machines');
      if (listed.total === HOSTS * VMS_PER_HOST) break;
      if (attempt === 5) throw new Error(`GET /v1/machines listed ${listed.total} VMs, 5 times in a row`);
    }

    const bare = new HubClient(hub.url, CONCURRENCY);
    // A cross-host list with a host in `unreachable` counts as failed: it did not list the 200 VMs.
    const get = (path: string) => async () => {
      const res = await bare.request(path, { headers: { authorization: `Bearer ${token}` } });
      return res.status === 200 && !(res.body?.unreachable?.length ?? 0);
    };
    const placement = { source: { vm: 'ubuntu-tpl' }, cpus: 4, memory_mb: 4096, architecture: 'arm64' };
    const place = async () =>
      (
        await bare.request('/v1/machines/placement', {
          method: 'POST',
          json: placement,
          headers: { authorization: `Bearer ${token}` },
        })
      ).status === 200;
    const watch: Watched[] = [
      { name: 'hub', pid: hub.pid },
      ...agents.map((a, i) => ({ name: `agent${i}`, pid: a.pid!, withChildren: true })),
    ];
    ctx.progress(`idle CPU of the hub and the agents over ${seconds} s`);
    const idle = await idleCpuRates(watch, seconds);
    const results: ClosedLoopResult[] = [];
    const measure = async (label: string, send: () => Promise<boolean>, w = watch) => {
      ctx.progress(`${label}: ${warmupSeconds} s warm-up, ${seconds} s measured, concurrency ${CONCURRENCY}`);
      results.push(await closedLoop({ label, concurrency: CONCURRENCY, warmupSeconds, seconds, send, watch: w, idle }));
    };
    await measure(
      `direct: prlctl list -a -i --json (one host, ${VMS_PER_HOST} VMs)`,
      () =>
        runTool([join(SIM_BIN, 'prlctl'), 'list', '-a', '-i', '--json'], {
          ...process.env,
          HOSTPLANE_SIM_STATE: sims[0],
        }),
      [{ name: 'bench+tools', pid: process.pid, withChildren: true }],
    );
    await measure(
      `GET /v1/nodes/{id}/machines (one host, ${VMS_PER_HOST} VMs)`,
      get(`/v1/nodes/${agents[0]!.nodeId}/machines`),
    );
    await measure(`GET /v1/machines (${HOSTS} hosts, ${HOSTS * VMS_PER_HOST} VMs)`, get('/v1/machines'));
    await measure('GET /v1/machines/resources (inventories)', get('/v1/machines/resources'));
    await measure('POST /v1/machines/placement', place);
    bare.close();

    const agentCpu = (r: ClosedLoopResult) => {
      const values = Object.entries(r.cpuMsPerRequest).filter(([k]) => k.startsWith('agent'));
      return values.length
        ? round(
            values.reduce((s, [, v]) => s + (v ?? 0), 0),
            2,
          )
        : null;
    };
    printTable<ClosedLoopResult>(
      [
        { header: 'target', value: (r) => r.label },
        { header: 'req/s', value: (r) => r.reqPerSec },
        { header: 'p50 ms', value: (r) => r.latency.p50 },
        { header: 'p99 ms', value: (r) => r.latency.p99 },
        { header: 'requests', value: (r) => r.requests },
        { header: 'failed', value: (r) => r.failures },
        { header: 'hub cpu ms/req', value: (r) => r.cpuMsPerRequest.hub ?? r.cpuMsPerRequest['bench+tools'] ?? '-' },
        { header: 'agents+tools cpu ms/req', value: (r) => agentCpu(r) ?? '-' },
      ],
      results,
    );

    ctx.progress('placeMachine() alone on the 10 inventories and on 1,000 synthetic hosts');
    const nodes = (await client.expect(200, '/v1/nodes?limit=500')).data as {
      id: string;
      name: string;
      labels: Record<string, string>;
    }[];
    const candidates: PlacementCandidate[] = [];
    for (const n of nodes) {
      const inv = (await client.expect(200, `/v1/nodes/${n.id}/inventory`)) as { parallels?: ParallelsInventory };
      candidates.push({
        id: n.id,
        name: n.name,
        online: true,
        schedulable: true,
        labels: n.labels,
        parallels: inv.parallels ?? null,
      });
    }
    const request = {
      source: { kind: 'vm' as const, name: 'ubuntu-tpl' },
      architecture: 'arm64' as const,
      cpus: 4,
      memory_mb: 4096,
      disk_mb: null,
      os: null,
      tags: {},
    };
    const synthetic = Array.from({ length: SYNTHETIC_HOSTS }, (_, i) => ({
      ...candidates[i % candidates.length]!,
      id: randomUUID(),
      name: `synthetic-${i}`,
    }));
    const ten = timeCalls(PLACEMENT_CALLS, () => placeMachine(request, candidates));
    const thousand = timeCalls(PLACEMENT_CALLS / 10, () => placeMachine(request, synthetic));
    printTable(
      [
        { header: 'placeMachine()', value: (r: { label: string }) => r.label },
        { header: 'p50 ms', value: (r: { s: { p50: number } }) => r.s.p50 },
        { header: 'p99 ms', value: (r: { s: { p99: number } }) => r.s.p99 },
        { header: 'calls', value: (r: { n: number }) => r.n },
      ],
      [
        { label: `${HOSTS} hosts, ${HOSTS * VMS_PER_HOST} VMs`, s: ten, n: PLACEMENT_CALLS },
        {
          label: `${SYNTHETIC_HOSTS} hosts, ${SYNTHETIC_HOSTS * VMS_PER_HOST} VMs`,
          s: thousand,
          n: PLACEMENT_CALLS / 10,
        },
      ],
    );

    const [direct, one, all, overview, placed] = results as [
      ClosedLoopResult,
      ClosedLoopResult,
      ClosedLoopResult,
      ClosedLoopResult,
      ClosedLoopResult,
    ];
    const ratios: Record<string, number> = {
      'one host list hub/direct p50': ratio(one.latency.p50, direct.latency.p50),
      'all hosts list / one host list p50': ratio(all.latency.p50, one.latency.p50),
      'all hosts list / resources overview p50': ratio(all.latency.p50, overview.latency.p50),
    };
    process.stdout.write(
      `\nidle CPU, subtracted above: hub ${Math.round((idle.hub ?? 0) * 1000)} ms/s, agents ${Math.round(
        Object.entries(idle)
          .filter(([k]) => k.startsWith('agent'))
          .reduce((s, [, v]) => s + v, 0) * 1000,
      )} ms/s (summed)\n\n`,
    );
    printRatios(ratios);
    for (const r of results)
      if (r.failures) process.stderr.write(`warning: ${r.label}: ${r.failures} failed requests during the run\n`);
    return {
      measurements: [
        ...results.map((r) => ({ label: r.label, summary: r.latency })),
        { label: `placeMachine() ${HOSTS} hosts`, summary: ten },
        { label: `placeMachine() ${SYNTHETIC_HOSTS} hosts`, summary: thousand },
      ],
      ratios,
      facts: {
        hosts: HOSTS,
        vms: HOSTS * VMS_PER_HOST,
        concurrency: CONCURRENCY,
        ...Object.fromEntries(results.map((r) => [`${r.label} req/s`, r.reqPerSec])),
        ...Object.fromEntries(results.map((r) => [`${r.label} hub cpu ms/req`, r.cpuMsPerRequest.hub ?? -1])),
        ...Object.fromEntries(results.map((r) => [`${r.label} agents cpu ms/req`, agentCpu(r) ?? -1])),
        'placement through the hub p50 ms': placed.latency.p50,
      },
    };
  } finally {
    client.close();
    for (const a of agents) await a.close();
    await hub.close();
  }
}

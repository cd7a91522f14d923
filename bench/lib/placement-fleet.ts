import { place, type PlacementNode, type PlacementRequest } from '@hostplane/hub/dist/src/scheduler/placement';
import { Client } from 'pg';
import type { HubClient } from './hub-client';
import { processCpuSeconds } from './proc';
import { round, SampleSummary, summarize } from './stats';

export interface PlacementTiming {
  label: string;
  nodes: number;
  summary: SampleSummary;
  /** Nodes that fit, averaged over the calls. */
  avgFitting: number;
  /**
   * CPU ms per call of the process that placed (the hub for suggest-fit, this one for place()):
   * what a placement costs, where wall-clock percentiles also show preemption by other work.
   */
  cpuMsPerCall: number | null;
}

const INSERT_BATCH = 2_000;

/**
 * Writes synthetic nodes (bench/placement.ts's generator) into the hub's database as rows of
 * `orgId`, straight through SQL: registering 10,000 agents through the API takes a minute and
 * would measure registration, not placement. `last_seen_at` is an hour ahead so the hub's
 * offline sweep leaves the "online" ones online for the run. Allocations are not written: the
 * hub derives them from instance rows, and these nodes have none.
 */
export async function insertSyntheticNodes(
  databaseUrl: string,
  orgId: string,
  nodes: PlacementNode[],
): Promise<number> {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  try {
    for (let i = 0; i < nodes.length; i += INSERT_BATCH) {
      const rows = nodes.slice(i, i + INSERT_BATCH).map((n, k) => ({
        id: n.id,
        name: `synthetic-${String(i + k).padStart(5, '0')}`,
        status: n.status,
        schedulable: n.schedulable,
        labels: n.labels,
        capacity: n.capacity,
        drivers: n.drivers,
      }));
      await pg.query(
        `INSERT INTO nodes (id, org_id, name, status, schedulable, labels, capacity, drivers, agent_token_hash, agent_token_hint, last_seen_at)
         SELECT (r->>'id')::uuid, $1, r->>'name', r->>'status', (r->>'schedulable')::boolean, r->'labels', r->'capacity', r->'drivers',
                'bench-synthetic:' || (r->>'id'), 'bench', now() + interval '1 hour'
           FROM jsonb_array_elements($2::jsonb) r`,
        [orgId, JSON.stringify(rows)],
      );
    }
    return nodes.length;
  } finally {
    await pg.end();
  }
}

/**
 * `POST /v1/planner/suggest-fit` one call at a time for `seconds`, cycling through `requests`:
 * the same `placeInOrg` an instance create runs (read the organization's nodes and their
 * allocations, `place()`, explain), over HTTP. Explain and rank limits are those of a create.
 */
export async function timeSuggestFit(
  client: HubClient,
  hubPid: number,
  orgId: string,
  requests: PlacementRequest[],
  seconds: number,
  label: string,
  nodes: number,
): Promise<PlacementTiming> {
  const samples: number[] = [];
  let fitting = 0;
  const cpuBefore = processCpuSeconds(hubPid);
  const until = performance.now() + seconds * 1000;
  for (let i = 0; i === 0 || performance.now() < until; i++) {
    const r = requests[i % requests.length]!;
    const t0 = performance.now();
    const body = await client.expect(200, '/v1/planner/suggest-fit', {
      json: {
        driver: r.driver,
        resources: r.resources,
        node_labels: r.node_labels,
        strategy: 'binpack',
        limit: 10,
        explain: 25,
      },
      headers: { 'x-org-id': orgId },
    });
    samples.push(performance.now() - t0);
    fitting += body.fitting as number;
  }
  const cpuAfter = processCpuSeconds(hubPid);
  const cpuMsPerCall =
    cpuBefore === null || cpuAfter === null ? null : round(((cpuAfter - cpuBefore) * 1000) / samples.length, 2);
  return { label, nodes, summary: ms(samples), avgFitting: Math.round(fitting / samples.length), cpuMsPerCall };
}

/** The pure `place()` on the same requests over the same nodes, in this process. */
export function timePlace(
  nodes: PlacementNode[],
  requests: PlacementRequest[],
  seconds: number,
  label: string,
): PlacementTiming {
  const samples: number[] = [];
  let fitting = 0;
  const cpuBefore = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  for (let i = 0; i === 0 || performance.now() < until; i++) {
    const t0 = performance.now();
    fitting += place(requests[i % requests.length]!, nodes, {
      strategy: 'binpack',
      rankLimit: 10,
      explainLimit: 25,
    }).fitting;
    samples.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpuBefore);
  return {
    label,
    nodes: nodes.length,
    summary: ms(samples),
    avgFitting: Math.round(fitting / samples.length),
    cpuMsPerCall: round((cpu.user + cpu.system) / 1000 / samples.length, 3),
  };
}

function ms(values: number[]): SampleSummary {
  const s = summarize(values);
  return {
    count: s.count,
    mean: round(s.mean, 3),
    min: round(s.min, 3),
    p50: round(s.p50, 3),
    p90: round(s.p90, 3),
    p99: round(s.p99, 3),
    max: round(s.max, 3),
  };
}

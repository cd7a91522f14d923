import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor } from './agents';
import type { Client } from './identity';

/** Hub settings for migration, drain and lost-node tests: fast jobs and a one-second drain/lost sweep. */
export const FLEET_ENV = {
  ...FAST_JOBS_ENV,
  HOSTPLANE_MIGRATIONS_SWEEP_SECONDS: '1',
  HOSTPLANE_MIGRATIONS_STEP_DEADLINE_SECONDS: '60',
};

/**
 * A process workload that stays up until stopped; `stubborn` ignores SIGTERM so a stop takes its whole grace period.
 */
export function keeperWorkload(
  name: string,
  o: { stubborn?: boolean; graceSeconds?: number; memoryMiB?: number; extra?: Record<string, unknown> } = {},
) {
  return {
    name,
    driver: 'process',
    startup: `${o.stubborn ? "trap '' TERM; " : ''}echo ready; while true; do sleep 0.2; done`,
    install: { script: 'echo "installed $(date +%s%N)" >> install-marks.txt' },
    resources: { cpu_cores: 0.1, memory_bytes: (o.memoryMiB ?? 64) * 1024 * 1024, disk_bytes: 0 },
    ready_pattern: '^ready$',
    stop: { type: 'signal', value: 'SIGTERM', grace_seconds: o.graceSeconds ?? 1 },
    restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
    ...o.extra,
  };
}

/**
 * Registers `count` real agents in the client's organization, starts them and waits until each reported its inventory.
 */
export async function startNodes(
  client: Client,
  hubUrl: string,
  count: number,
  env: Record<string, string> = {},
): Promise<TestNode[]> {
  // One after the other: nodes take the hostname as name, made unique by the registration (not safe concurrently).
  const nodes: TestNode[] = [];
  for (let i = 0; i < count; i++) nodes.push(await registerNode(client, hubUrl, env));
  await Promise.all(
    nodes.map(async (n) => {
      n.start();
      await n.waitStatus('online');
      await waitFor('inventory', async () =>
        (await client.request(`/v1/nodes/${n.id}/inventory`)).status === 200 ? true : undefined,
      );
    }),
  );
  return nodes;
}

export async function createWorkload(client: Client, spec: Record<string, unknown>): Promise<string> {
  const w = await client.request('/v1/workloads', { method: 'POST', json: spec });
  assert.equal(w.status, 201, w.text);
  return w.body.id;
}

export async function createInstance(
  client: Client,
  workloadId: string,
  name: string,
  nodeId: string,
): Promise<string> {
  const res = await client.request('/v1/instances', {
    method: 'POST',
    json: { name, workload_id: workloadId, node_id: nodeId },
  });
  assert.equal(res.status, 202, res.text);
  const id = res.body.instance.id as string;
  await waitInstance(client, id, (i) => i.state === 'running', 'running', 30_000);
  return id;
}

export async function waitInstance(
  client: Client,
  id: string,
  ok: (i: any) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<any> {
  let last: any;
  try {
    return await waitFor(
      `instance ${what}`,
      async () => {
        const r = await client.request(`/v1/instances/${id}`);
        last = r.body;
        return r.status === 200 && ok(r.body) ? r.body : undefined;
      },
      timeoutMs,
      100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

export async function waitMigration(
  client: Client,
  id: string,
  ok: (m: any) => boolean,
  what: string,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<any> {
  let last: any;
  try {
    return await waitFor(
      `migration ${what}`,
      async () => {
        const r = await client.request(`/v1/migrations/${id}`);
        last = r.body;
        return r.status === 200 && ok(r.body) ? r.body : undefined;
      },
      timeoutMs,
      everyMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

/** The instance root on the node's host (process driver): `<state>/instances/<id>/data`. */
export function dataDir(node: TestNode, instanceId: string): string {
  return join(node.stateDir, 'instances', instanceId, 'data');
}

export function hasInstance(node: TestNode, instanceId: string): boolean {
  return existsSync(join(node.stateDir, 'instances', instanceId));
}

/** Backup archives left on the node's host for the instance. */
export function backupsOn(node: TestNode, instanceId: string): string[] {
  const dir = join(node.stateDir, 'backups', instanceId);
  return existsSync(dir) ? readdirSync(dir) : [];
}

export function writeDataFile(node: TestNode, instanceId: string, rel: string, content: Buffer): string {
  const p = join(dataDir(node, instanceId), rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content);
  return sha256(content);
}

export function readDataFile(node: TestNode, instanceId: string, rel: string): Buffer | null {
  const p = join(dataDir(node, instanceId), rel);
  return existsSync(p) ? readFileSync(p) : null;
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Deletes every instance of the client's organization (their processes outlive the agents otherwise). */
export async function removeAllInstances(client: Client, timeoutMs = 15_000): Promise<void> {
  const list = await client.request('/v1/instances?limit=500');
  for (const i of (list.body?.data ?? []) as { id: string }[])
    await client.request(`/v1/instances/${i.id}`, { method: 'DELETE' });
  await waitFor(
    'instances removed',
    async () => ((await client.request('/v1/instances')).body.total === 0 ? true : undefined),
    timeoutMs,
    200,
  ).catch(() => undefined);
}

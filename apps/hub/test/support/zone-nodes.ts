import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerNode, type TestNode, waitFor } from './agents';
import type { Client } from './identity';
import { tempDir } from './test-env';

/** The agent's simulated illumos tools (a path, not an import: the hub never imports the agent). */
export const SIM_BIN = join(__dirname, '../../../../agent/test/sim-tools/bin');

/** A real agent with the zone driver on, its illumos tools simulated with state in `sim` (a directory of its own). */
export interface ZoneNode {
  node: TestNode;
  sim: string;
}

export function zoneAgentEnv(sim: string): Record<string, string> {
  return {
    PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOSTPLANE_SIM_STATE: sim,
    HOSTPLANE_AGENT_ZONE_ENABLED: 'on',
    HOSTPLANE_AGENT_ZONE_ZONEPATH_ROOT: join(sim, 'zones'),
    HOSTPLANE_AGENT_ZONE_CONSOLE_LOG_DIR: join(sim, 'var', 'log', 'zones'),
  };
}

/** Registers and starts a zone node, waiting until it is online with its inventory. */
export async function startZoneNode(client: Client, hubUrl: string): Promise<ZoneNode> {
  const sim = join(tempDir('hp-zsim-'), 's');
  const node = await registerNode(client, hubUrl, zoneAgentEnv(sim));
  node.start();
  // An agent starting on a busy machine (each simulated tool is a node process) takes a while.
  await node.waitStatus('online', 60_000);
  await waitFor(
    'inventory',
    async () => ((await client.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined),
    60_000,
  );
  return { node, sim };
}

export interface SimZone {
  state: string;
  props: Record<string, string>;
  resources: Record<string, Record<string, string>[]>;
}

/** The simulated zonecfg/zoneadm's record of a zone, or undefined when the host has no such zone. */
export function simZone(sim: string, zone: string): SimZone | undefined {
  return (JSON.parse(readFileSync(join(sim, 'zones.json'), 'utf8')) as { zones: Record<string, SimZone> }).zones[zone];
}

export function simDatasets(sim: string): string[] {
  return Object.keys(
    (JSON.parse(readFileSync(join(sim, 'zfs.json'), 'utf8')) as { datasets: Record<string, unknown> }).datasets,
  );
}

export function simCalls(sim: string): { tool: string; argv: string[] }[] {
  return readFileSync(join(sim, 'calls.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { tool: string; argv: string[] })
    .filter((c) => c.tool !== 'pfexec');
}

/** Makes the simulated `<tool> <subcommand>` fail with `message` until `clearSimFaults` (sim-tools/README.md). */
export function injectSimFault(sim: string, command: string, message: string): void {
  writeFileSync(join(sim, 'faults.json'), JSON.stringify({ [command]: message }));
}

export function clearSimFaults(sim: string): void {
  rmSync(join(sim, 'faults.json'), { force: true });
}

/** A file in the zone's root, i.e. in its zonepath dataset (the simulated ZFS mounts datasets as directories). */
export function zoneRootFile(sim: string, zone: string, rel: string): string {
  return join(sim, 'zones', zone, 'root', rel);
}

export function writeZoneFile(sim: string, zone: string, rel: string, content: string): void {
  const p = zoneRootFile(sim, zone, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, content);
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The hub's test helpers, loaded from its compiled tests (types from its sources through the project reference).
import type * as HubIdentity from '../../../hub/test/support/identity';
import type * as HubAgents from '../../../hub/test/support/agents';
import type * as HubFleet from '../../../hub/test/support/fleet';
import type * as HubSimZones from '../../../hub/test/support/sim-zones';

const HUB_SUPPORT = join(__dirname, '../../../../hub/dist/test/support');
/* eslint-disable @typescript-eslint/no-require-imports */
export const hubIdentity = require(join(HUB_SUPPORT, 'identity.js')) as typeof HubIdentity;
export const hubAgents = require(join(HUB_SUPPORT, 'agents.js')) as typeof HubAgents;
export const hubFleet = require(join(HUB_SUPPORT, 'fleet.js')) as typeof HubFleet;
export const hubSimZones = require(join(HUB_SUPPORT, 'sim-zones.js')) as typeof HubSimZones;
export const totpCode = (
  require(join(__dirname, '../../../../hub/dist/src/auth/totp.js')) as {
    totpCode: (secret: string, now?: number) => string;
  }
).totpCode;
/* eslint-enable @typescript-eslint/no-require-imports */

export const HPCTL = join(__dirname, '../../../bin/hpctl.js');
/** The agent's simulated host tools (illumos and Parallels), as the hub's tests put them on the agent's PATH. */
export const SIM_BIN = join(__dirname, '../../../../agent/test/sim-tools/bin');

/** A home for hpctl: its own config and state directories, and no HOSTPLANE_* from the caller. */
export function cliHome(extra: Record<string, string> = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'hpctl-'));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('HOSTPLANE_')) env[k] = v;
  return { ...env, XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'state'), ...extra };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function spawnHpctl(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [HPCTL, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs hpctl to its end, with `input` on stdin. */
export async function hpctl(args: string[], env: Record<string, string>, input = ''): Promise<CliResult> {
  const child = spawnHpctl(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin!.end(input);
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr };
}

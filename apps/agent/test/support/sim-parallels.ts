import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostExec } from '../../src/illumos/host-exec';
import { PrlHost } from '../../src/parallels/prl-host';
import { SIM_BIN } from './sim-illumos';

export interface SimParallels {
  state: string;
  env: NodeJS.ProcessEnv;
  host: PrlHost;
  /** Runs the simulated prlctl directly (test set-up, not the code under test). */
  prlctl(...args: string[]): string;
  /** Every argv the tools received, oldest first (`sudo` calls included). */
  calls(): { tool: string; argv: string[] }[];
}

/**
 * A fresh simulated Parallels host (test/sim-tools: prlctl, prlsrvctl, sudo) with a stopped VM
 * `base` to clone. `agentIsRoot` and `owner` exercise the `sudo -n -u <owner>` prefix.
 */
export function simParallels(options: { owner?: string | null; agentIsRoot?: boolean } = {}): SimParallels {
  const state = join(mkdtempSync(join(tmpdir(), 'hp-prl-')), 's');
  const env = { ...process.env, PATH: `${SIM_BIN}:${process.env.PATH ?? ''}`, HOSTPLANE_SIM_STATE: state };
  const exec = new HostExec({ privilege: [], timeoutMs: 180_000, maxOutputBytes: 16 * 1024 * 1024, env });
  const host = new PrlHost({ exec, owner: options.owner ?? null, agentIsRoot: options.agentIsRoot ?? false });
  const prlctl = (...args: string[]) => execFileSync(join(SIM_BIN, 'prlctl'), args, { env, encoding: 'utf8' });
  prlctl('create', 'base', '-d', 'ubuntu');
  return {
    state,
    env,
    host,
    prlctl,
    calls() {
      const file = join(state, 'calls.log');
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { tool: string; argv: string[] });
    },
  };
}

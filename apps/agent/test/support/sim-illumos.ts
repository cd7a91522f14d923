import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HostExec } from '../../src/illumos/host-exec';

/** The simulated illumos tools (test/sim-tools/bin), resolved from the compiled test folder. */
export const SIM_BIN = resolve(__dirname, '..', '..', '..', 'test', 'sim-tools', 'bin');

export interface SimHost {
  state: string;
  env: NodeJS.ProcessEnv;
  exec: HostExec;
  /** Every argv the tools received, oldest first (`pfexec` calls included). */
  calls(): { tool: string; argv: string[] }[];
  consoleLogDir: string;
  zonepathRoot: string;
}

/**
 * A fresh simulated illumos host: its own state directory, the tools first on PATH, `pfexec` as the privilege prefix.
 */
export function simHost(): SimHost {
  const state = join(mkdtempSync(join(tmpdir(), 'hp-sim-')), 's');
  const env = { ...process.env, PATH: `${SIM_BIN}:${process.env.PATH ?? ''}`, HOSTPLANE_SIM_STATE: state };
  return {
    state,
    env,
    exec: new HostExec({ privilege: ['pfexec'], timeoutMs: 20_000, maxOutputBytes: 16 * 1024 * 1024, env }),
    calls() {
      const file = join(state, 'calls.log');
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { tool: string; argv: string[] });
    },
    consoleLogDir: join(state, 'var', 'log', 'zones'),
    zonepathRoot: join(state, 'zones'),
  };
}

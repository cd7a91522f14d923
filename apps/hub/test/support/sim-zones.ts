import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from './agents';

const SIM_BIN = join(__dirname, '../../../../agent/test/sim-tools/bin');

/**
 * An illumos host simulated by the agent's sim tools (apps/agent/test/sim-tools): the agent's
 * environment, zones set up as an operator would with zonecfg and zoneadm, and the tools' call log.
 */
export class SimIllumosHost {
  /** Short: a bhyve zone's VNC socket path must fit a UNIX socket address (108 bytes). */
  readonly state = join(mkdtempSync(join(tmpdir(), 'hp-zc-')), 's');

  get agentEnv(): Record<string, string> {
    return {
      PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOSTPLANE_SIM_STATE: this.state,
      HOSTPLANE_AGENT_ZONE_ENABLED: 'on',
      HOSTPLANE_AGENT_ZONE_ZONEPATH_ROOT: join(this.state, 'zones'),
      HOSTPLANE_AGENT_ZONE_CONSOLE_LOG_DIR: join(this.state, 'var', 'log', 'zones'),
    };
  }

  zonepath(zone: string): string {
    return join(this.state, 'zones', zone);
  }

  /** Where bhyve puts the zone's framebuffer socket (zadm's default `vncsocket`). */
  vncSocket(zone: string): string {
    return join(this.zonepath(zone), 'root', 'tmp', 'vm.vnc');
  }

  private async tool(cmd: string, args: string[]): Promise<string> {
    const env = { ...(process.env as Record<string, string>), ...this.agentEnv };
    const r = await runCommand(cmd, args, env);
    assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.output}`);
    return r.output;
  }

  /** Configures, installs and boots a zone (not an instance: no workload, no hub record). */
  async bootZone(zone: string, brand: 'ipkg' | 'bhyve', options: { vnc?: string } = {}): Promise<void> {
    const attrs = options.vnc ? `; add attr; set name=vnc; set type=string; set value=${options.vnc}; end` : '';
    await this.tool('zonecfg', ['-z', zone, `create; set brand=${brand}; set zonepath=${this.zonepath(zone)}${attrs}`]);
    await this.tool('zoneadm', ['-z', zone, 'install']);
    await this.tool('zoneadm', ['-z', zone, 'boot']);
  }

  async haltZone(zone: string): Promise<void> {
    await this.tool('zoneadm', ['-z', zone, 'halt']);
  }

  /** The argv of every tool call so far, as `tool arg arg…` lines. */
  calls(): string[] {
    const log = join(this.state, 'calls.log');
    if (!existsSync(log)) return [];
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const c = JSON.parse(l) as { tool: string; argv: string[] };
        return [c.tool, ...c.argv].join(' ');
      });
  }
}

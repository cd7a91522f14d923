import { checkName } from '@hostplane/protocol';
import { AgentError } from '../../errors/agent-error';
import type { HostExec } from '../../illumos/host-exec';
import type { ConsoleHandle } from '../driver';
import { openPtyConsole } from '../pty-console';
import { ZoneHost } from './zone-host';
import { openZoneVnc, type ZoneVncOptions } from './zone-vnc';

export class ZoneAccessError extends AgentError {}

type Size = { cols: number; rows: number };

/**
 * Console, shell and VNC of any zone on the host (not only instance zones), for the zone console
 * endpoints. The zone is checked (a strict name, configured, running, bhyve for VNC) before zlogin
 * or zadm runs, so a wrong zone is a clear refusal instead of a tool's exit in the viewer.
 */
export class ZoneConsoles {
  private readonly host: ZoneHost;

  constructor(
    private readonly exec: HostExec,
    private readonly vnc: ZoneVncOptions = { startTimeoutMs: 10_000 },
  ) {
    this.host = new ZoneHost(exec);
  }

  async console(zone: string, size: Size): Promise<ConsoleHandle> {
    await this.running(zone);
    return openPtyConsole(this.exec.privileged(['zlogin', '-C', zone]), this.exec.options.env, 'zlogin', size);
  }

  async shell(zone: string, size: Size): Promise<ConsoleHandle> {
    await this.running(zone);
    return openPtyConsole(this.exec.privileged(['zlogin', zone]), this.exec.options.env, 'zlogin', size, {
      reportsExit: true,
    });
  }

  async framebuffer(zone: string): Promise<ConsoleHandle> {
    const entry = await this.running(zone);
    if (entry.brand !== 'bhyve')
      throw new ZoneAccessError(
        'vnc_unavailable',
        `zone ${zone} is a ${entry.brand} zone: only bhyve zones have a VNC framebuffer`,
        409,
      );
    return openZoneVnc(this.exec, zone, this.vnc);
  }

  private async running(zone: string) {
    checkName('zone', zone);
    if (zone === 'global') throw new ZoneAccessError('invalid_argument', 'the global zone has no zone console', 400);
    const entry = await this.host.zone(zone);
    if (!entry) throw new ZoneAccessError('zone_not_found', `there is no zone ${zone} on this host`, 404);
    if (entry.state !== 'running')
      throw new ZoneAccessError('zone_not_running', `zone ${zone} is ${entry.state}, not running`, 409);
    return entry;
  }
}

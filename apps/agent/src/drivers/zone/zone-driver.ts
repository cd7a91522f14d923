import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstanceSpec, InstanceStats, InstanceStatus } from '@hostplane/protocol';
import { HostExec } from '../../illumos/host-exec';
import { InvalidHostArgument } from '@hostplane/protocol';
import { FileFollower, tailLines } from '../../instances/log-files';
import { clearLogFile, fileLogHistory, LogHistory, LogRange, LogsCleared } from '../../instances/log-history';
import { InstanceStore } from '../../instances/instance-store';
import {
  ConsoleHandle,
  CreateContext,
  DriverError,
  InstanceDriver,
  InstanceSummary,
  LogFollower,
  StateListener,
} from '../driver';
import { openPtyConsole } from '../pty-console';
import { ZoneHost } from './zone-host';
import { planZone, ZoneLayout, ZonePlan, zonecfgScript } from './zone-plan';
import { ZoneSupervisor } from './zone-supervisor';
import { installResult, writeWorkload } from './zone-workload';

export interface ZoneDriverOptions {
  exec: HostExec;
  layout: ZoneLayout;
  /** Where zoneadmd logs each zone's console (`<dir>/<zone>.console`). */
  consoleLogDir: string;
  /** How often running zones are checked for an ended workload or a halt from outside. */
  pollMs?: number;
  installTimeoutMs?: number;
}

/**
 * Instances as illumos zones: a bhyve VM or a native zone per instance, configured with zonecfg,
 * installed with zoneadm (or its boot disk cloned from a ZFS image), started by booting, stopped
 * by a clean shutdown with a grace period and then a halt, consoles through `zlogin -C`.
 */
export class ZoneDriver implements InstanceDriver {
  readonly name = 'zone' as const;
  readonly host: ZoneHost;
  private readonly supervisor: ZoneSupervisor;
  private availableAt = 0;

  constructor(
    readonly store: InstanceStore,
    readonly options: ZoneDriverOptions,
  ) {
    this.host = new ZoneHost(options.exec);
    this.supervisor = new ZoneSupervisor(store, this.host, {
      consoleLog: (zone) => this.consoleLog(zone),
      plan: (spec) => this.plan(spec),
      pollMs: options.pollMs ?? 300,
    });
  }

  /**
   * Asked at every hello and reconciliation: a working zoneadm is trusted for 30 s, a failing one asked again each
   * time.
   */
  async available(): Promise<string | null> {
    if (Date.now() - this.availableAt < 30_000) return null;
    try {
      await this.host.zones();
      this.availableAt = Date.now();
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  }

  plan(spec: InstanceSpec): ZonePlan {
    try {
      return planZone(spec, this.options.layout);
    } catch (err) {
      if (err instanceof InvalidHostArgument) throw new DriverError('invalid_spec', err.message);
      throw err;
    }
  }

  consoleLog(zone: string): string {
    return join(this.options.consoleLogDir, `${zone}.console`);
  }

  async create(spec: InstanceSpec, ctx: CreateContext): Promise<InstanceStatus> {
    const plan = this.plan(spec);
    return this.supervisor.serialize(spec.instance_id, async () => {
      if (this.store.exists(spec.instance_id) && this.store.readState(spec.instance_id).installed) {
        this.store.writeSpec(spec);
        const existing = this.supervisor.get(spec.instance_id);
        existing.spec = spec;
        return existing.status();
      }
      this.store.prepare(spec.instance_id);
      this.store.writeSpec(spec);
      const instance = this.supervisor.track(spec);
      instance.setState({ state: 'installing', reason: null });
      try {
        await this.provision(spec, plan, ctx);
      } catch (err) {
        const message = (err as Error).message;
        instance.setState({ state: 'failed', reason: `install failed: ${message}` });
        throw err instanceof DriverError ? err : new DriverError('install_failed', message);
      }
      instance.setState({ state: 'stopped', installed: true, reason: null, container_id: plan.zone });
      return instance.status();
    });
  }

  private async provision(spec: InstanceSpec, plan: ZonePlan, ctx: CreateContext): Promise<void> {
    const existing = await this.host.zone(plan.zone);
    if (!existing) {
      const vnics = new Set((await this.host.vnics()).map((v) => v.link));
      for (const v of plan.vnics) if (!vnics.has(v.name)) await this.host.createVnic(v);
      ctx.progress(10, 'network configured');
      const datasets = new Set(await this.host.datasets(this.options.layout.datasetRoot));
      // A migration's target receives the boot disk with the zonepath's datasets (zone-backups.ts).
      if (plan.bootDisk && !datasets.has(plan.bootDisk.dataset) && !ctx.restoreFollows) {
        if (plan.bootDisk.image) await this.host.cloneImage(plan.bootDisk.image, plan.bootDisk.dataset);
        else await this.host.createVolume(plan.bootDisk.dataset, plan.bootDisk.size);
      }
      ctx.progress(25, 'boot disk ready');
      await this.host.configure(plan.zone, zonecfgScript(plan));
    }
    // Installing would only be overwritten: the restore receives the datasets and attaches the zone.
    if (ctx.restoreFollows) return;
    if ((await this.host.zone(plan.zone))?.state === 'configured') await this.host.install(plan.zone);
    ctx.progress(70, 'zone installed');
    if (plan.bhyve) return;
    writeWorkload(plan.zonepath, spec, { installPending: !!spec.install });
    if (spec.install) await this.runInstall(spec, plan, ctx);
  }

  /** Boots the zone once with the install marker: the run script runs install.sh, records its result and exits. */
  private async runInstall(spec: InstanceSpec, plan: ZonePlan, ctx: CreateContext): Promise<void> {
    await this.host.boot(plan.zone);
    const deadline = Date.now() + (this.options.installTimeoutMs ?? 30 * 60_000);
    let result = installResult(plan.zonepath);
    while (!result && Date.now() < deadline && !ctx.signal.aborted) {
      await new Promise((r) => setTimeout(r, 100));
      result = installResult(plan.zonepath);
    }
    await this.host.halt(plan.zone);
    writeFileSync(this.store.paths(spec.instance_id).install, result?.log ?? '');
    if (!result)
      throw new DriverError(
        'install_failed',
        ctx.signal.aborted ? 'the install was cancelled' : 'the install script did not finish in time',
      );
    if (result.exitCode !== 0)
      throw new DriverError('install_failed', `the install script exited with code ${result.exitCode}`);
    ctx.progress(95, 'install script done');
  }

  async update(spec: InstanceSpec): Promise<InstanceStatus> {
    this.plan(spec);
    return this.supervisor.serialize(spec.instance_id, async () => {
      const instance = this.supervisor.get(spec.instance_id);
      this.store.writeSpec(spec);
      instance.spec = spec;
      return instance.status();
    });
  }

  start(id: string): Promise<InstanceStatus> {
    return this.supervisor.start(id);
  }

  stop(id: string, graceSeconds?: number): Promise<InstanceStatus> {
    return this.supervisor.stop(id, graceSeconds);
  }

  kill(id: string): Promise<InstanceStatus> {
    return this.supervisor.halt(id);
  }

  async remove(id: string): Promise<boolean> {
    if (!this.store.exists(id)) return false;
    const spec = this.supervisor.get(id).spec;
    const plan = this.plan(spec);
    return this.supervisor.serialize(id, async () => {
      this.supervisor.forget(id);
      const zone = await this.host.zone(plan.zone);
      if (zone?.state === 'running' || zone?.state === 'ready') await this.host.halt(plan.zone);
      if (zone && zone.state !== 'configured') await this.host.uninstall(plan.zone);
      if (zone) await this.host.deleteConfig(plan.zone);
      if ((await this.host.datasets(plan.dataset)).length > 0) await this.host.destroyDataset(plan.dataset);
      const vnics = new Set((await this.host.vnics()).map((v) => v.link));
      for (const v of plan.vnics) if (vnics.has(v.name)) await this.host.deleteVnic(v.name);
      rmSync(this.consoleLog(plan.zone), { force: true });
      this.store.remove(id);
      return true;
    });
  }

  async inspect(id: string): Promise<InstanceStatus> {
    return this.supervisor.status(id);
  }

  async stats(id: string): Promise<InstanceStats> {
    const plan = this.plan(this.store.readSpec(id));
    return this.supervisor.stats(id, plan);
  }

  async logs(id: string, lines: number, source: 'output' | 'install'): Promise<string[]> {
    const spec = this.store.readSpec(id);
    const file = source === 'install' ? this.store.paths(id).install : this.consoleLog(this.plan(spec).zone);
    return tailLines(file, lines).map((l) => l.replace(/\r+$/, '').replace(/\r/g, ''));
  }

  logHistory(id: string, range: LogRange): Promise<LogHistory> {
    return fileLogHistory(this.consoleLog(this.plan(this.store.readSpec(id)).zone), range);
  }

  async clearLogs(id: string): Promise<LogsCleared> {
    return clearLogFile(this.consoleLog(this.plan(this.store.readSpec(id)).zone));
  }

  async openConsole(id: string): Promise<ConsoleHandle> {
    const plan = this.plan(this.store.readSpec(id));
    const zone = await this.host.zone(plan.zone);
    if (zone?.state !== 'running')
      throw new DriverError('instance_busy', `zone ${plan.zone} is not running (it is ${zone?.state ?? 'absent'})`);
    return openPtyConsole(
      this.options.exec.privileged(['zlogin', '-C', plan.zone]),
      this.options.exec.options.env,
      'zlogin',
    );
  }

  async followLogs(id: string, tail: number): Promise<LogFollower> {
    const file = this.consoleLog(this.plan(this.store.readSpec(id)).zone);
    const last = existsSync(file) ? tailLines(file, tail) : [];
    return new FileFollower(file, {
      offset: existsSync(file) ? statSync(file).size : 0,
      prefix: Buffer.from(last.length ? `${last.join('\n')}\n` : ''),
    });
  }

  async list(): Promise<InstanceSummary[]> {
    return this.supervisor.adopt();
  }

  onState(listener: StateListener): void {
    this.supervisor.onState(listener);
  }

  async close(): Promise<void> {
    this.supervisor.close();
  }
}

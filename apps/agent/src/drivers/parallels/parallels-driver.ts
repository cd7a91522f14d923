import { existsSync, statSync } from 'node:fs';
import type { InstanceSpec, InstanceStats, InstanceStatus } from '@hostplane/protocol';
import { InvalidHostArgument } from '@hostplane/protocol';
import { InstanceStore } from '../../instances/instance-store';
import { clearLogFile, fileLogHistory, LogHistory, LogRange, LogsCleared } from '../../instances/log-history';
import { FileFollower, LogRotation, tailLines } from '../../instances/log-files';
import { PrlHost } from '../../parallels/prl-host';
import {
  ConsoleHandle,
  CreateContext,
  DriverError,
  InstanceDriver,
  InstanceSummary,
  LogFollower,
  StateListener,
} from '../driver';
import { ParallelsInstance } from './parallels-instance';
import { planVm, VmPlan } from './parallels-plan';
import { openPtyConsole } from '../pty-console';

export interface ParallelsDriverOptions {
  host: PrlHost;
  /** The default owner of instance VMs (a spec's `parallels.owner` wins). */
  owner: string | null;
  logRotation?: LogRotation;
}

/**
 * Instances as Parallels Desktop VMs on macOS: each instance is a clone (full or linked) of a VM
 * or template already on the host, sized with `prlctl set`, booted, with its workload run in the
 * guest through `prlctl exec`; the instance console is that workload's stdin and output, and
 * `openShell` gives a root shell in the guest (`prlctl enter` on a pseudo-terminal).
 */
export class ParallelsDriver implements InstanceDriver {
  readonly name = 'parallels' as const;
  private readonly instances = new Map<string, ParallelsInstance>();
  private readonly listeners: StateListener[] = [];
  private loaded = false;
  private availableAt = 0;

  constructor(
    private readonly store: InstanceStore,
    private readonly options: ParallelsDriverOptions,
  ) {}

  get host(): PrlHost {
    return this.options.host;
  }

  /** A working prlsrvctl is trusted for 30 s; a failing one is asked again each time. */
  async available(): Promise<string | null> {
    if (Date.now() - this.availableAt < 30_000) return null;
    try {
      await this.host.serverInfo();
      this.availableAt = Date.now();
      return null;
    } catch (err) {
      return (err as Error).message.slice(0, 500);
    }
  }

  plan(spec: InstanceSpec): VmPlan {
    try {
      return planVm(spec, this.options.owner);
    } catch (err) {
      if (err instanceof InvalidHostArgument || err instanceof Error)
        throw new DriverError('invalid_spec', (err as Error).message);
      throw err;
    }
  }

  onState(listener: StateListener): void {
    this.listeners.push(listener);
  }

  async create(spec: InstanceSpec, ctx: CreateContext): Promise<InstanceStatus> {
    const plan = this.plan(spec);
    this.load();
    let instance = this.instances.get(spec.instance_id);
    if (instance?.state.installed) {
      this.store.writeSpec(spec);
      instance.spec = spec;
      return instance.status();
    }
    if (!instance) {
      this.store.prepare(spec.instance_id);
      this.store.writeSpec(spec);
      instance = this.track(spec);
    }
    const target = instance;
    return target.serialize(async () => {
      target.supervisor.setState({ state: 'installing', reason: null });
      try {
        if (!(await this.host.machine(plan.vm, plan.owner))) {
          await this.host.clone(plan.source, plan.vm, { linked: plan.linked, owner: plan.owner });
          ctx.progress(40, `cloned ${plan.source}`);
          if (plan.settings.length > 0) await this.host.set(plan.vm, plan.settings, plan.owner);
        }
        ctx.progress(60, 'VM configured');
        await target.install(ctx.signal);
      } catch (err) {
        const message = (err as Error).message;
        target.supervisor.setState({ state: 'failed', reason: `create failed: ${message}`.slice(0, 1000) });
        throw err instanceof DriverError ? err : new DriverError('install_failed', message);
      }
      const vm = await this.host.machine(plan.vm, plan.owner);
      target.supervisor.setState({ state: 'stopped', installed: true, reason: null, container_id: vm?.id ?? null });
      ctx.progress(100, 'created');
      return target.status();
    });
  }

  async update(spec: InstanceSpec): Promise<InstanceStatus> {
    this.plan(spec);
    const instance = this.get(spec.instance_id);
    this.store.writeSpec(spec);
    instance.spec = spec;
    return instance.status();
  }

  start(id: string): Promise<InstanceStatus> {
    return this.get(id).start();
  }

  stop(id: string, graceSeconds?: number): Promise<InstanceStatus> {
    const instance = this.get(id);
    return instance.stop(graceSeconds ?? instance.spec.stop.grace_seconds);
  }

  /** Powers the VM off (`prlctl stop --kill`), whatever the signal: a VM has no other way to end its guest at once. */
  kill(id: string, _signal?: NodeJS.Signals): Promise<InstanceStatus> {
    return this.get(id).kill();
  }

  async remove(id: string): Promise<boolean> {
    this.load();
    const instance = this.instances.get(id);
    if (!instance) {
      if (!this.store.exists(id)) return false;
      this.store.remove(id);
      return true;
    }
    return instance.serialize(async () => {
      instance.supervisor.cancelRestart();
      instance.supervisor.killRequested('SIGKILL');
      await instance.powerOff();
      await instance.supervisor.waitForExit(10_000);
      instance.release();
      if (await this.host.machine(instance.vm, instance.owner)) await this.host.delete(instance.vm, instance.owner);
      this.instances.delete(id);
      this.store.remove(id);
      return true;
    });
  }

  async inspect(id: string): Promise<InstanceStatus> {
    return this.get(id).status();
  }

  /** From the VM's configuration: a running VM holds its memory; disk is the boot disk's size. */
  async stats(id: string): Promise<InstanceStats> {
    const instance = this.get(id);
    const vm = await this.host.machine(instance.vm, instance.owner);
    const running = vm?.state === 'running';
    return {
      instance_id: id,
      ts: new Date().toISOString(),
      cpu_percent: 0,
      memory_bytes: running ? vm.memory_bytes : 0,
      memory_limit_bytes: vm?.memory_bytes ?? null,
      disk_bytes: vm?.disk_bytes ?? 0,
      net_rx_bytes: 0,
      net_tx_bytes: 0,
      uptime_seconds: running ? vm.uptime_seconds : 0,
    };
  }

  async logs(id: string, lines: number, source: 'output' | 'install'): Promise<string[]> {
    const instance = this.get(id);
    return tailLines(source === 'install' ? instance.paths.install : instance.paths.output, lines);
  }

  async logHistory(id: string, range: LogRange): Promise<LogHistory> {
    return fileLogHistory(this.get(id).paths.output, range);
  }

  async clearLogs(id: string): Promise<LogsCleared> {
    return clearLogFile(this.get(id).paths.output);
  }

  async openConsole(id: string): Promise<ConsoleHandle> {
    return this.get(id).openConsole();
  }

  /** A root shell in the instance's guest (`prlctl enter`), on a pseudo-terminal. */
  async openShell(id: string): Promise<ConsoleHandle> {
    const instance = this.get(id);
    const vm = await this.host.machine(instance.vm, instance.owner);
    if (vm?.state !== 'running')
      throw new DriverError('instance_busy', `VM ${instance.vm} is not running (it is ${vm?.state ?? 'absent'})`);
    return openPtyConsole(this.host.enterArgv(instance.vm, instance.owner), this.host.exec.options.env, 'prlctl enter');
  }

  async followLogs(id: string, tail: number): Promise<LogFollower> {
    const file = this.get(id).paths.output;
    const last = tail > 0 && existsSync(file) ? tailLines(file, tail) : [];
    return new FileFollower(file, {
      offset: existsSync(file) ? statSync(file).size : 0,
      prefix: Buffer.from(last.length ? `${last.join('\n')}\n` : ''),
    });
  }

  async list(): Promise<InstanceSummary[]> {
    this.load();
    return [...this.instances.values()].map((i) => ({ instance_id: i.id, state: i.state.state }));
  }

  async close(): Promise<void> {
    for (const instance of this.instances.values()) instance.release();
    this.instances.clear();
    this.loaded = false;
  }

  /** Supervises every parallels instance in the state dir once, re-adopting workloads that outlived the agent. */
  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    for (const spec of this.store.specsOf(this.name)) {
      if (!this.instances.has(spec.instance_id)) this.track(spec).adopt();
    }
  }

  private track(spec: InstanceSpec): ParallelsInstance {
    const owner = spec.parallels?.owner ?? this.options.owner;
    const instance = new ParallelsInstance(
      this.store,
      spec,
      this.host,
      owner,
      (frame) => {
        for (const l of this.listeners) l(frame);
      },
      this.options.logRotation,
    );
    this.instances.set(spec.instance_id, instance);
    return instance;
  }

  private get(id: string): ParallelsInstance {
    this.load();
    const instance = this.instances.get(id);
    if (!instance) throw new DriverError('instance_not_found', `instance ${id} does not exist on this host`);
    return instance;
  }
}

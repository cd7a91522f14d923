import { dirname } from 'node:path';
import type { InstanceSpec, InstanceStats, InstanceStatus } from '@hostplane/protocol';
import { InstanceStore } from '../../instances/instance-store';
import { DEFAULT_LOG_ROTATION, FileFollower, LogRotation, tailLines } from '../../instances/log-files';
import { clearLogFile, fileLogHistory, LogHistory, LogRange, LogsCleared } from '../../instances/log-history';
import {
  ConsoleHandle,
  CreateContext,
  DriverError,
  InstanceDriver,
  InstanceSummary,
  LogFollower,
  StateListener,
} from '../driver';
import { sampleProcessGroup, TreeSample } from './host-process';
import { ProcessInstance } from './process-instance';
import type { SandboxSettings } from './instance-confinement';
import { directoryBytes } from '../../sandbox/disk-usage';
import { ProcessSandbox } from '../../sandbox/process-sandbox';
import { DEFAULT_IDENTITY_OPTIONS, IdentityOptions } from '../../sandbox/sandbox-identity';

export { directoryBytes };

export const DEFAULT_PIDS_LIMIT = 512;

export interface ProcessDriverOptions {
  /** Where cgroups are mounted (default /sys/fs/cgroup). */
  cgroupRoot?: string;
  identity?: IdentityOptions;
  /** Processes an instance may have when its spec says nothing (resources.pids_limit). */
  pidsLimit?: number;
  /** How often a running instance's disk use is checked against resources.disk_bytes. */
  diskCheckMs?: number;
  /** When output logs are rotated (agent config `logs.*`). */
  logRotation?: LogRotation;
}

/** Supervised plain processes on the host (see docs/agent.md, "Drivers"). */
export class ProcessDriver implements InstanceDriver {
  readonly name = 'process' as const;
  private readonly instances = new Map<string, ProcessInstance>();
  private readonly listeners: StateListener[] = [];
  private readonly samples = new Map<string, TreeSample>();
  private loaded = false;

  private readonly sandbox: ProcessSandbox;
  private readonly settings: Omit<SandboxSettings, 'sandbox'>;
  private readonly rotation: LogRotation;

  constructor(
    private readonly store: InstanceStore,
    options: ProcessDriverOptions = {},
  ) {
    this.sandbox = new ProcessSandbox(dirname(store.base), options.cgroupRoot);
    this.settings = {
      identity: options.identity ?? DEFAULT_IDENTITY_OPTIONS,
      pidsLimit: options.pidsLimit ?? DEFAULT_PIDS_LIMIT,
      diskCheckMs: options.diskCheckMs ?? 10_000,
    };
    this.rotation = options.logRotation ?? DEFAULT_LOG_ROTATION;
  }

  /** Why workloads cannot be confined here (said in inventory; tenants' workloads are refused), or null. */
  sandboxProblem(): string | null {
    return this.sandbox.problem();
  }

  async available(): Promise<string | null> {
    return null;
  }

  onState(listener: StateListener): void {
    this.listeners.push(listener);
  }

  async create(spec: InstanceSpec, ctx: CreateContext): Promise<InstanceStatus> {
    this.load();
    this.refuseUnsandboxed(spec);
    let instance = this.instances.get(spec.instance_id);
    if (!instance) {
      this.store.prepare(spec.instance_id);
      this.store.writeSpec(spec);
      instance = this.track(spec);
      this.store.writeState(spec.instance_id, instance.state);
    }
    ctx.progress(10, 'instance directory ready');
    await instance.install(ctx.signal);
    ctx.progress(100, 'created');
    return instance.status();
  }

  async update(spec: InstanceSpec): Promise<InstanceStatus> {
    const instance = this.get(spec.instance_id);
    this.refuseUnsandboxed(spec);
    this.store.writeSpec(spec);
    instance.spec = spec;
    return instance.status();
  }

  async start(id: string): Promise<InstanceStatus> {
    return this.get(id).start();
  }

  async stop(id: string, graceSeconds?: number): Promise<InstanceStatus> {
    const instance = this.get(id);
    return instance.stop(graceSeconds ?? instance.spec.stop.grace_seconds);
  }

  async kill(id: string, signal: NodeJS.Signals): Promise<InstanceStatus> {
    return this.get(id).kill(signal);
  }

  async remove(id: string): Promise<boolean> {
    this.load();
    const instance = this.instances.get(id);
    if (!instance) {
      if (!this.store.exists(id)) return false;
      if (this.sandbox.problem() === null) await this.sandbox.cgroup(id).remove();
      this.store.remove(id);
      return true;
    }
    if (instance.running) await instance.stop(0);
    instance.release();
    this.instances.delete(id);
    this.samples.delete(id);
    if (this.sandbox.problem() === null) await this.sandbox.cgroup(id).remove();
    this.store.remove(id);
    return true;
  }

  async inspect(id: string): Promise<InstanceStatus> {
    return this.get(id).status();
  }

  async stats(id: string): Promise<InstanceStats> {
    const instance = this.get(id);
    const status = instance.status();
    const now = new Date();
    const sample = status.pid === null ? null : sampleProcessGroup(status.pid);
    const previous = this.samples.get(id);
    const startedMs = status.started_at ? Date.parse(status.started_at) : now.getTime();
    let cpuPercent = 0;
    if (sample) {
      // Between two samples when there is an earlier one, else since the process started.
      const base = previous && previous.at < sample.at ? previous : { cpuSeconds: 0, at: startedMs };
      const wallSeconds = (sample.at - base.at) / 1000;
      cpuPercent = wallSeconds > 0 ? Math.max(0, ((sample.cpuSeconds - base.cpuSeconds) / wallSeconds) * 100) : 0;
      this.samples.set(id, sample);
    }
    return {
      instance_id: id,
      ts: now.toISOString(),
      cpu_percent: cpuPercent,
      memory_bytes: sample?.rssBytes ?? 0,
      memory_limit_bytes: instance.spec.resources.memory_bytes ?? null,
      disk_bytes: directoryBytes(instance.paths.data),
      net_rx_bytes: 0,
      net_tx_bytes: 0,
      uptime_seconds: sample ? Math.max(0, (now.getTime() - startedMs) / 1000) : 0,
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

  async followLogs(id: string, tail: number): Promise<LogFollower> {
    const instance = this.get(id);
    const last = tail > 0 ? tailLines(instance.paths.output, tail) : [];
    const prefix = Buffer.from(last.length > 0 ? `${last.join('\n')}\n` : '', 'utf8');
    return new FileFollower(instance.paths.output, { prefix });
  }

  async list(): Promise<InstanceSummary[]> {
    this.load();
    return [...this.instances.values()].map((i) => ({ instance_id: i.id, state: i.state.state }));
  }

  async close(): Promise<void> {
    for (const instance of this.instances.values()) instance.release();
    this.instances.clear();
    this.loaded = false;
    return;
  }

  /** Loads every process instance from the state dir once, re-adopting processes that outlived the last agent. */
  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    for (const spec of this.store.specsOf(this.name)) {
      if (!this.instances.has(spec.instance_id)) this.track(spec).adopt();
    }
  }

  /**
   * A tenant's workload never runs unconfined: only specs the hub marked (platform admins) may, where no sandbox is
   * possible.
   */
  private refuseUnsandboxed(spec: InstanceSpec): void {
    const problem = this.sandbox.problem();
    if (problem === null || spec.sandbox?.allow_unsandboxed === true) return;
    throw new DriverError(
      'driver_unavailable',
      `this node cannot sandbox process workloads (${problem}); only a platform admin may run a process workload here unsandboxed`,
    );
  }

  private track(spec: InstanceSpec): ProcessInstance {
    const sandbox = this.sandbox.problem() === null ? { sandbox: this.sandbox, ...this.settings } : null;
    const instance = new ProcessInstance(
      this.store,
      spec,
      sandbox,
      (frame) => {
        for (const l of this.listeners) l(frame);
      },
      this.rotation,
    );
    this.instances.set(spec.instance_id, instance);
    return instance;
  }

  private get(id: string): ProcessInstance {
    this.load();
    const instance = this.instances.get(id);
    if (!instance) throw new DriverError('instance_not_found', `instance ${id} does not exist on this host`);
    return instance;
  }
}

import { existsSync, statSync } from 'node:fs';
import type { InstanceSpec, InstanceStats, InstanceStatus } from '@hostplane/protocol';
import { InstanceStore, isActiveState } from '../../instances/instance-store';
import { FileFollower } from '../../instances/log-files';
import { InstanceSupervisor } from '../../supervision/instance-supervisor';
import { DriverError, InstanceSummary, StateListener } from '../driver';
import { ZoneHost } from './zone-host';
import type { ZonePlan } from './zone-plan';
import { clearWorkloadExit, workloadExitCode, writeWorkload } from './zone-workload';

interface SupervisorDeps {
  consoleLog(zone: string): string;
  plan(spec: InstanceSpec): ZonePlan;
  pollMs: number;
}

const READY_TIMEOUT_MS = 120_000;
const ZONEADM_CHECK_MS = 5_000;

/**
 * Zone instances on the shared `InstanceSupervisor` (state, frames, ready pattern on the zone
 * console, restart policy). This class supplies the zone primitives — boot, shutdown then halt,
 * halt — runs the operations on one instance one at a time, and observes exits: each tick reads
 * the workload's exit status file in the zone root (a local file, cheap); `zoneadm list` for a
 * zone halted from outside is asked only every 5 s, as the tool is slow.
 */
export class ZoneSupervisor {
  private readonly listeners: StateListener[] = [];
  private readonly supervisors = new Map<string, InstanceSupervisor>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Console offset where the current run began: the ready pattern only counts this run's output. */
  private readonly runOffsets = new Map<string, number>();
  /** Instances being booted, or whose observed end is queued: the poll leaves them alone. */
  private readonly busy = new Set<string>();
  private readonly cpuSamples = new Map<string, { ns: number; at: number }>();
  private readonly timer: NodeJS.Timeout;
  private loaded = false;
  private polling = false;
  private lastZoneCheck = 0;

  constructor(
    private readonly store: InstanceStore,
    private readonly host: ZoneHost,
    private readonly deps: SupervisorDeps,
  ) {
    this.timer = setInterval(() => void this.poll(), deps.pollMs);
    this.timer.unref();
  }

  onState(listener: StateListener): void {
    this.listeners.push(listener);
  }

  /** Runs `fn` after every earlier operation on the same instance. */
  serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.queues.set(id, next);
    void next
      .finally(() => {
        if (this.queues.get(id) === next) this.queues.delete(id);
      })
      .catch(() => undefined);
    return next;
  }

  /** Supervises an instance whose files were just (re)written: its state is read again from the store. */
  track(spec: InstanceSpec): InstanceSupervisor {
    this.supervisors.get(spec.instance_id)?.release();
    const supervisor = new InstanceSupervisor(
      this.store,
      spec,
      (frame) => {
        for (const l of this.listeners) l(frame);
      },
      {
        launch: () => this.serialize(spec.instance_id, () => this.launch(spec.instance_id)),
        observeOutput: () => {
          const log = this.deps.consoleLog(this.planOf(spec.instance_id).zone);
          return new FileFollower(log, { offset: this.runOffsets.get(spec.instance_id) ?? 0 });
        },
      },
    );
    this.supervisors.set(spec.instance_id, supervisor);
    return supervisor;
  }

  get(id: string): InstanceSupervisor {
    this.load();
    const supervisor = this.supervisors.get(id);
    if (!supervisor) throw new DriverError('instance_not_found', `instance ${id} does not exist on this host`);
    return supervisor;
  }

  status(id: string): InstanceStatus {
    return this.get(id).status();
  }

  private planOf(id: string): ZonePlan {
    return this.deps.plan(this.get(id).spec);
  }

  start(id: string): Promise<InstanceStatus> {
    const supervisor = this.get(id);
    return this.serialize(id, async () => {
      const zone = await this.host.zone(this.planOf(id).zone);
      if (zone?.state === 'running' && (supervisor.state.state === 'running' || supervisor.state.state === 'starting'))
        return;
      supervisor.freshStart();
      await this.launch(id);
    }).then(async () => {
      // Outside the queue: an exit seen while waiting for the ready pattern is queued too.
      await supervisor.waitForState((s) => s !== 'starting', READY_TIMEOUT_MS);
      return supervisor.status();
    });
  }

  /** Writes the workload files, boots the zone and reports the run (called inside the instance's queue). */
  private async launch(id: string): Promise<void> {
    const supervisor = this.get(id);
    const plan = this.deps.plan(supervisor.spec);
    this.busy.add(id);
    try {
      if (!plan.bhyve) writeWorkload(plan.zonepath, supervisor.spec, { installPending: false });
      clearWorkloadExit(plan.zonepath);
      const log = this.deps.consoleLog(plan.zone);
      this.runOffsets.set(id, existsSync(log) ? statSync(log).size : 0);
      // Booting takes a while: say so before it, not only once the zone is up.
      supervisor.setState({ state: 'starting', desired: 'running', reason: null, exit_code: null });
      try {
        if ((await this.host.zone(plan.zone))?.state !== 'running') await this.host.boot(plan.zone);
      } catch (err) {
        supervisor.setState({ state: 'failed', reason: `boot failed: ${(err as Error).message}` });
        throw err;
      }
      supervisor.launched({ pid: null, started_at: new Date().toISOString() });
    } finally {
      this.busy.delete(id);
    }
  }

  stop(id: string, graceSeconds?: number): Promise<InstanceStatus> {
    const supervisor = this.get(id);
    return this.serialize(id, async () => {
      const plan = this.planOf(id);
      supervisor.cancelRestart();
      const zone = await this.host.zone(plan.zone);
      if (zone?.state !== 'running') {
        if (supervisor.state.state !== 'stopped' || supervisor.state.desired !== 'stopped')
          supervisor.setState({ state: 'stopped', desired: 'stopped' });
        return supervisor.status();
      }
      supervisor.beginStop();
      const grace = graceSeconds ?? supervisor.spec.stop.grace_seconds;
      const clean = await this.host.shutdown(plan.zone, grace * 1000);
      if (!clean) await this.host.halt(plan.zone);
      const code = clean ? workloadExitCode(plan.zonepath) : null;
      supervisor.exited({
        code,
        reason: 'stopped',
        stoppedReason: clean ? 'stopped' : `halted after a grace period of ${grace} s`,
      });
      return supervisor.status();
    });
  }

  halt(id: string): Promise<InstanceStatus> {
    const supervisor = this.get(id);
    return this.serialize(id, async () => {
      const plan = this.planOf(id);
      supervisor.cancelRestart();
      const zone = await this.host.zone(plan.zone);
      if (zone?.state === 'running' || zone?.state === 'ready') {
        supervisor.killRequested('SIGKILL');
        await this.host.halt(plan.zone);
        supervisor.exited({ code: null, reason: 'halted', stoppedReason: 'halted' });
      } else {
        supervisor.setState({ state: 'stopped', desired: 'stopped', exit_code: null, reason: 'halted' });
      }
      return supervisor.status();
    });
  }

  async stats(id: string, plan: ZonePlan): Promise<InstanceStats> {
    const state = this.get(id).state;
    const k = state.state === 'running' ? await this.host.zoneKstats(plan) : { rss: 0, cap: 0, cpuNs: 0, rx: 0, tx: 0 };
    const now = Date.now();
    const previous = this.cpuSamples.get(id);
    this.cpuSamples.set(id, { ns: k.cpuNs, at: now });
    const cpu =
      previous && now > previous.at ? Math.max(0, ((k.cpuNs - previous.ns) / ((now - previous.at) * 1e6)) * 100) : 0;
    const uptime =
      state.state === 'running' && state.started_at ? Math.max(0, (now - Date.parse(state.started_at)) / 1000) : 0;
    const used = (await this.host.datasets(plan.dataset)).length > 0 ? await this.datasetUsed(plan.dataset) : 0;
    return {
      instance_id: id,
      ts: new Date(now).toISOString(),
      cpu_percent: cpu,
      memory_bytes: k.rss,
      memory_limit_bytes: k.cap > 0 ? k.cap : null,
      disk_bytes: used,
      net_rx_bytes: k.rx,
      net_tx_bytes: k.tx,
      uptime_seconds: uptime,
    };
  }

  private async datasetUsed(dataset: string): Promise<number> {
    const out = await this.host.exec.stdout(['zfs', 'get', '-H', '-p', '-o', 'value', 'used', dataset]);
    return Number(out.trim()) || 0;
  }

  /** The zone instances on this host, at their persisted state (the poll then watches the running ones). */
  async adopt(): Promise<InstanceSummary[]> {
    this.load();
    return [...this.supervisors.values()].map((s) => ({ instance_id: s.id, state: s.state.state }));
  }

  forget(id: string): void {
    this.supervisors.get(id)?.release();
    this.supervisors.delete(id);
    this.runOffsets.delete(id);
    this.cpuSamples.delete(id);
  }

  close(): void {
    clearInterval(this.timer);
    for (const s of this.supervisors.values()) s.release();
    this.supervisors.clear();
    this.loaded = false;
  }

  /**
   * Supervises every zone instance in the state dir once. A running zone is adopted as it is (the
   * poll notices one that halted meanwhile); a restart that was pending still happens.
   */
  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    for (const spec of this.store.specsOf('zone')) {
      if (this.supervisors.has(spec.instance_id)) continue;
      const supervisor = this.track(spec);
      if (supervisor.state.state === 'starting') supervisor.watchReady();
      else if (!isActiveState(supervisor.state.state)) supervisor.recoverWithoutWorkload();
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const watched = [...this.supervisors.values()].filter(
        (s) => !this.busy.has(s.id) && (s.state.state === 'running' || s.state.state === 'starting'),
      );
      if (watched.length === 0) return;
      const askZoneadm = Date.now() - this.lastZoneCheck >= ZONEADM_CHECK_MS;
      const zones = askZoneadm ? new Map((await this.host.zones()).map((z) => [z.name, z.state])) : null;
      if (askZoneadm) this.lastZoneCheck = Date.now();
      for (const s of watched) {
        const plan = this.deps.plan(s.spec);
        const ended =
          (!plan.bhyve && workloadExitCode(plan.zonepath) !== null) ||
          (zones !== null && zones.get(plan.zone) !== 'running');
        if (ended) void this.ended(s.id).catch(() => undefined);
      }
    } catch {
      // The next poll tries again; a failing zoneadm shows up in the operations that need it.
    } finally {
      this.polling = false;
    }
  }

  /** The workload ended on its own (or the zone went down): halt what is left and report the exit. */
  private ended(id: string): Promise<void> {
    this.busy.add(id);
    return this.serialize(id, async () => {
      const supervisor = this.supervisors.get(id);
      if (!supervisor || (supervisor.state.state !== 'running' && supervisor.state.state !== 'starting')) return;
      const plan = this.deps.plan(supervisor.spec);
      const code = plan.bhyve ? null : workloadExitCode(plan.zonepath);
      const zone = await this.host.zone(plan.zone);
      if (code === null && zone?.state === 'running') return;
      if (zone?.state === 'running') await this.host.halt(plan.zone);
      supervisor.exited({ code, reason: code === null ? 'the zone halted' : `exited with code ${code}` });
    }).finally(() => this.busy.delete(id));
  }
}

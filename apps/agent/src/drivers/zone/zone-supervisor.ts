import { existsSync, readFileSync, statSync } from 'node:fs';
import type { InstanceSpec, InstanceStats, InstanceStatus } from '@hostplane/protocol';
import { InstanceStore, PersistedState } from '../../instances/instance-store';
import { InstanceSummary, StateListener } from '../driver';
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
 * The life of zone instances: operations on one instance run one at a time, and a poll over the
 * running ones notices a workload that ended (its exit status file) or a zone halted from
 * outside, then applies the restart policy as the process driver does.
 */
export class ZoneSupervisor {
  private readonly listeners: StateListener[] = [];
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly cpuSamples = new Map<string, { ns: number; at: number }>();
  private readonly timer: NodeJS.Timeout;
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
    void next.finally(() => {
      if (this.queues.get(id) === next) this.queues.delete(id);
    }).catch(() => undefined);
    return next;
  }

  status(id: string): InstanceStatus {
    const s = this.store.readState(id);
    return { instance_id: id, state: s.state, reason: s.reason, exit_code: s.exit_code, pid: null, container_id: s.container_id, started_at: s.started_at, restarts: s.restarts };
  }

  setState(id: string, change: Partial<PersistedState>): void {
    const before = this.store.readState(id);
    const after = { ...before, ...change };
    if (after.reason !== null) after.reason = after.reason.slice(0, 1000);
    this.store.writeState(id, after);
    if (change.state !== undefined && (change.state !== before.state || change.reason !== undefined)) {
      const frame = { instance_id: id, state: after.state, reason: after.reason, exit_code: after.exit_code, ts: new Date().toISOString() };
      for (const l of this.listeners) l(frame);
    }
  }

  private planOf(id: string): ZonePlan {
    return this.deps.plan(this.store.readSpec(id));
  }

  start(id: string, restart = false): Promise<InstanceStatus> {
    return this.serialize(id, async () => {
      const spec = this.store.readSpec(id);
      const plan = this.deps.plan(spec);
      const zone = await this.host.zone(plan.zone);
      if (zone?.state === 'running' && this.store.readState(id).state === 'running') return this.status(id);
      this.cancelRestart(id);
      if (!plan.bhyve) writeWorkload(plan.zonepath, spec, { installPending: false });
      clearWorkloadExit(plan.zonepath);
      const log = this.deps.consoleLog(plan.zone);
      const offset = existsSync(log) ? statSync(log).size : 0;
      this.setState(id, { state: 'starting', desired: 'running', reason: null, exit_code: null, restarts: restart ? this.store.readState(id).restarts + 1 : 0 });
      if (zone?.state !== 'running') await this.host.boot(plan.zone);
      this.setState(id, { started_at: new Date().toISOString() });
      if (spec.ready_pattern && !plan.bhyve) {
        const ready = await this.waitReady(plan, new RegExp(spec.ready_pattern, 'm'), log, offset);
        if (!ready) return this.status(id);
      }
      this.setState(id, { state: 'running' });
      return this.status(id);
    });
  }

  /** Waits for a console line matching the ready pattern; false when the workload ended first (the poll reports it). */
  private async waitReady(plan: ZonePlan, pattern: RegExp, log: string, offset: number): Promise<boolean> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (pattern.test(consoleTextSince(log, offset))) return true;
      if (workloadExitCode(plan.zonepath) !== null) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return true;
  }

  stop(id: string, graceSeconds?: number): Promise<InstanceStatus> {
    return this.serialize(id, async () => {
      const spec = this.store.readSpec(id);
      const plan = this.deps.plan(spec);
      this.cancelRestart(id);
      const zone = await this.host.zone(plan.zone);
      if (zone?.state !== 'running') {
        if (this.store.readState(id).state !== 'stopped' || this.store.readState(id).desired !== 'stopped') this.setState(id, { state: 'stopped', desired: 'stopped' });
        return this.status(id);
      }
      this.setState(id, { state: 'stopping', desired: 'stopped' });
      const grace = (graceSeconds ?? spec.stop.grace_seconds) * 1000;
      const clean = await this.host.shutdown(plan.zone, grace);
      if (!clean) await this.host.halt(plan.zone);
      const code = clean ? workloadExitCode(plan.zonepath) : null;
      this.setState(id, { state: 'stopped', exit_code: code, reason: clean ? 'stopped' : `halted after a grace period of ${grace / 1000} s` });
      return this.status(id);
    });
  }

  halt(id: string): Promise<InstanceStatus> {
    return this.serialize(id, async () => {
      const plan = this.planOf(id);
      this.cancelRestart(id);
      const zone = await this.host.zone(plan.zone);
      if (zone?.state === 'running' || zone?.state === 'ready') await this.host.halt(plan.zone);
      this.setState(id, { state: 'stopped', desired: 'stopped', exit_code: null, reason: 'halted' });
      return this.status(id);
    });
  }

  async stats(id: string, plan: ZonePlan): Promise<InstanceStats> {
    const state = this.store.readState(id);
    const k = state.state === 'running' ? await this.host.zoneKstats(plan) : { rss: 0, cap: 0, cpuNs: 0, rx: 0, tx: 0 };
    const now = Date.now();
    const previous = this.cpuSamples.get(id);
    this.cpuSamples.set(id, { ns: k.cpuNs, at: now });
    const cpu = previous && now > previous.at ? Math.max(0, ((k.cpuNs - previous.ns) / ((now - previous.at) * 1e6)) * 100) : 0;
    const uptime = state.state === 'running' && state.started_at ? Math.max(0, (now - Date.parse(state.started_at)) / 1000) : 0;
    const used = (await this.host.datasets(plan.dataset)).length > 0 ? await this.datasetUsed(plan.dataset) : 0;
    return { instance_id: id, ts: new Date(now).toISOString(), cpu_percent: cpu, memory_bytes: k.rss, memory_limit_bytes: k.cap > 0 ? k.cap : null, disk_bytes: used, net_rx_bytes: k.rx, net_tx_bytes: k.tx, uptime_seconds: uptime };
  }

  private async datasetUsed(dataset: string): Promise<number> {
    const out = await this.host.exec.stdout(['zfs', 'get', '-H', '-p', '-o', 'value', 'used', dataset]);
    return Number(out.trim()) || 0;
  }

  /** The zone instances on this host, at their persisted state (the poll then watches the running ones). */
  async adopt(): Promise<InstanceSummary[]> {
    const out: InstanceSummary[] = [];
    for (const id of this.zoneInstanceIds()) out.push({ instance_id: id, state: this.store.readState(id).state });
    return out;
  }

  forget(id: string): void {
    this.cancelRestart(id);
    this.cpuSamples.delete(id);
  }

  close(): void {
    clearInterval(this.timer);
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.restartTimers.clear();
  }

  private zoneInstanceIds(): string[] {
    return this.store.ids().filter((id) => {
      try {
        return this.store.readSpec(id).driver === 'zone';
      } catch {
        return false;
      }
    });
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const watched = this.zoneInstanceIds().filter((id) => !this.queues.has(id) && this.store.readState(id).state === 'running');
      if (watched.length === 0) return;
      // The exit status file is a cheap check each tick; asking zoneadm (a halt from outside) is not.
      const askZoneadm = Date.now() - this.lastZoneCheck >= ZONEADM_CHECK_MS;
      const zones = askZoneadm ? new Map((await this.host.zones()).map((z) => [z.name, z.state])) : null;
      if (askZoneadm) this.lastZoneCheck = Date.now();
      for (const id of watched) {
        const plan = this.planOf(id);
        const code = plan.bhyve ? null : workloadExitCode(plan.zonepath);
        if (code !== null) void this.ended(id, code, `exited with code ${code}`).catch(() => undefined);
        else if (zones && zones.get(plan.zone) !== 'running') void this.ended(id, null, 'the zone halted').catch(() => undefined);
      }
    } catch {
      // The next poll tries again; a failing zoneadm shows up in the operations that need it.
    } finally {
      this.polling = false;
    }
  }

  /** The workload ended on its own (or the zone went down): halt what is left, record it, restart by policy. */
  private ended(id: string, code: number | null, reason: string): Promise<void> {
    return this.serialize(id, async () => {
      if (this.store.readState(id).state !== 'running') return;
      const spec = this.store.readSpec(id);
      const plan = this.deps.plan(spec);
      if ((await this.host.zone(plan.zone))?.state === 'running') await this.host.halt(plan.zone);
      const failed = code !== 0;
      const { policy, max_retries: maxRetries, backoff_seconds: backoff } = spec.restart;
      const wantsRestart = policy === 'always' || (policy === 'on-failure' && failed);
      const restarts = this.store.readState(id).restarts;
      const canRestart = wantsRestart && restarts < maxRetries;
      const limit = wantsRestart && !canRestart ? `; restart limit of ${maxRetries} reached` : '';
      this.setState(id, { state: failed ? 'crashed' : 'stopped', desired: canRestart ? 'running' : 'stopped', exit_code: code, reason: `${reason}${limit}` });
      if (canRestart) {
        const t = setTimeout(() => {
          this.restartTimers.delete(id);
          this.start(id, true).catch((err: unknown) => this.setState(id, { state: 'failed', reason: `restart failed: ${(err as Error).message}` }));
        }, backoff * 1000);
        this.restartTimers.set(id, t);
      }
    });
  }

  private cancelRestart(id: string): void {
    const t = this.restartTimers.get(id);
    if (t) clearTimeout(t);
    this.restartTimers.delete(id);
  }
}

/** The console log from `offset`, for the ready pattern (CR removed: the console is a terminal). */
function consoleTextSince(file: string, offset: number): string {
  if (!existsSync(file) || statSync(file).size <= offset) return '';
  return readFileSync(file).subarray(offset).toString('utf8').replace(/\r/g, '');
}

import type { InstanceSpec, InstanceStateFrame, InstanceStatus } from '@hostplane/protocol';
import { InstanceStore, isActiveState, PersistedState } from '../instances/instance-store';
import { ReadyPatternDetector } from './ready-pattern';
import { decideAfterExit } from './restart-policy';

/** Output of the current run, as a driver observes it (a followed log file, an engine log stream). */
export interface OutputObserver {
  onData(listener: (chunk: Buffer) => void): void;
  close(): void;
}

/**
 * What a driver supplies per instance; the supervisor decides when to use them. Exits are
 * reported back by the driver through `exited()` as soon as it observes one.
 */
export interface WorkloadPrimitives {
  /** Starts the workload; restarts of the restart policy come through here too. */
  launch(): Promise<void>;
  /** The workload's output from now on (or from the start of the run), for the ready pattern. */
  observeOutput(): OutputObserver | Promise<OutputObserver>;
}

/** One run as the driver started (or re-adopted) it. */
export interface WorkloadRun {
  pid: number | null;
  pid_start_ticks?: number | null;
  container_id?: string | null;
  started_at: string;
}

export interface WorkloadExit {
  code: number | null;
  /** Why it ended, in words (signal, code, out of memory, removed). */
  reason: string;
  /** The reason recorded when the exit was asked for (stop, kill); default "stopped". */
  stoppedReason?: string;
}

/**
 * The part of running an instance that is the same for every driver: its persisted state
 * (`state.json`, written before anyone hears of a change), the `instance:state` frames, the
 * ready pattern, the restart policy and waiting for a state. Drivers supply start, stop and
 * observe primitives and report what they observe.
 */
const WORKLOAD_ENDING_SIGNALS: ReadonlySet<string> = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT']);

export class InstanceSupervisor {
  state: PersistedState;
  /** Set before the driver stops the workload, so its exit reads as a stop and not a crash. */
  stopRequested = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private readyWatch: { observer: OutputObserver | null; cancelled: boolean } | null = null;
  private readonly exitWaiters: (() => void)[] = [];
  private readonly stateWaiters: (() => void)[] = [];

  constructor(
    private readonly store: InstanceStore,
    public spec: InstanceSpec,
    private readonly emit: (frame: InstanceStateFrame) => void,
    private readonly workload: WorkloadPrimitives,
  ) {
    this.state = store.readState(spec.instance_id);
  }

  get id(): string {
    return this.spec.instance_id;
  }

  /** A run is in progress: the driver recorded its pid and has not seen it end. */
  get running(): boolean {
    return this.state.pid !== null;
  }

  status(): InstanceStatus {
    const s = this.state;
    return {
      instance_id: this.id,
      state: s.state,
      reason: s.reason,
      exit_code: s.exit_code,
      pid: s.pid,
      container_id: s.container_id,
      started_at: s.started_at,
      restarts: s.restarts,
    };
  }

  /** Saves the change durably, then tells the listeners when the state (or its reason) changed. */
  setState(change: Partial<PersistedState>): void {
    const before = this.state.state;
    this.state = { ...this.state, ...change };
    if (this.state.reason !== null) this.state.reason = this.state.reason.slice(0, 1000);
    this.store.writeState(this.id, this.state);
    if (change.state !== undefined && (change.state !== before || change.reason !== undefined)) {
      this.emit({
        instance_id: this.id,
        state: this.state.state,
        reason: this.state.reason,
        exit_code: this.state.exit_code,
        ts: new Date().toISOString(),
      });
    }
    for (const w of this.stateWaiters.splice(0)) w();
  }

  /** The driver started a run: `starting` until the ready pattern matches (when the spec has one), else `running`. */
  launched(run: WorkloadRun): void {
    this.stopRequested = false;
    const ready = this.spec.ready_pattern !== undefined;
    this.setState({
      state: ready ? 'starting' : 'running',
      desired: 'running',
      reason: null,
      exit_code: null,
      pid: run.pid,
      pid_start_ticks: run.pid_start_ticks ?? null,
      ...(run.container_id === undefined ? {} : { container_id: run.container_id }),
      started_at: run.started_at,
    });
    if (ready) this.watchReady();
  }

  /** Follows the run's output until the ready pattern matches (also after a re-adoption while `starting`). */
  watchReady(): void {
    this.stopReadyWatch();
    const pattern = this.spec.ready_pattern;
    if (pattern === undefined) return;
    const detector = new ReadyPatternDetector(pattern);
    const watch: { observer: OutputObserver | null; cancelled: boolean } = { observer: null, cancelled: false };
    this.readyWatch = watch;
    const attach = (observer: OutputObserver) => {
      if (watch.cancelled) return observer.close();
      watch.observer = observer;
      observer.onData((chunk) => {
        if (watch.cancelled || !detector.feed(chunk)) return;
        this.stopReadyWatch();
        if (this.state.state === 'starting') this.setState({ state: 'running' });
      });
    };
    Promise.resolve()
      .then(() => this.workload.observeOutput())
      .then(attach)
      // Without output to read the instance stays `starting`; its exit or a stop still ends the wait.
      .catch(() => undefined);
  }

  /** The driver saw the run end: a requested stop, or a crash the restart policy decides about. */
  exited(exit: WorkloadExit): void {
    this.stopReadyWatch();
    const base = { pid: null, pid_start_ticks: null, exit_code: exit.code };
    if (this.stopRequested) {
      this.stopRequested = false;
      this.setState({ ...base, state: 'stopped', desired: 'stopped', reason: exit.stoppedReason ?? 'stopped' });
    } else {
      const decision = decideAfterExit(this.spec.restart, this.state.restarts, exit.code, exit.reason);
      this.setState({ ...base, state: decision.state, desired: decision.desired, reason: decision.reason });
      if (decision.restartAfterMs !== null) this.scheduleRestart(decision.restartAfterMs);
    }
    for (const w of this.exitWaiters.splice(0)) w();
  }

  /** After an agent restart with no run to adopt: a start cut short is a crash, a pending restart still happens. */
  recoverWithoutWorkload(): void {
    if (isActiveState(this.state.state))
      this.setState({ state: 'crashed', reason: 'the agent restarted while the instance was starting' });
    else if (this.state.state === 'crashed' && this.state.desired === 'running')
      this.scheduleRestart(this.spec.restart.backoff_seconds * 1000);
  }

  /** A start the hub asked for: no restart pending, the restart count starts again. */
  freshStart(): void {
    this.cancelRestart();
    this.state.restarts = 0;
  }

  /** A signal sent to end the workload (a kill): its exit is then a requested stop, not a crash. */
  killRequested(signal: NodeJS.Signals): void {
    if (!WORKLOAD_ENDING_SIGNALS.has(signal)) return;
    this.stopRequested = true;
    this.state.desired = 'stopped';
  }

  /** Marks a stop the driver is about to carry out. */
  beginStop(): void {
    this.cancelRestart();
    this.stopRequested = true;
    this.setState({ state: 'stopping', desired: 'stopped' });
  }

  scheduleRestart(afterMs: number): void {
    this.cancelRestart();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.state.restarts += 1;
      this.workload
        .launch()
        .catch((err: unknown) =>
          this.setState({ state: 'failed', reason: `restart failed: ${(err as Error).message}` }),
        );
    }, afterMs);
  }

  cancelRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  /** Calls `listener` once, at the next exit of the workload. */
  onceExited(listener: () => void): void {
    this.exitWaiters.push(listener);
  }

  /** True once the run has ended, false when `ms` passed first. */
  waitForExit(ms: number): Promise<boolean> {
    if (this.state.pid === null) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Resolves when `done` holds for the state, or after `ms`. */
  async waitForState(done: (s: PersistedState['state']) => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done(this.state.state) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.stateWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Stops watching (agent shutdown or removal); the workload itself is left as it is. */
  release(): void {
    this.cancelRestart();
    this.stopReadyWatch();
  }

  private stopReadyWatch(): void {
    const watch = this.readyWatch;
    this.readyWatch = null;
    if (!watch) return;
    watch.cancelled = true;
    watch.observer?.close();
  }
}

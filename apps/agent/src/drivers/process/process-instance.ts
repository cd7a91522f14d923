import type { ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, statSync } from 'node:fs';
import type { InstanceSpec, InstanceStateFrame, InstanceStatus } from '@hostplane/protocol';
import { CommandError, runCommand, spawnSupervised } from '../../exec/run-command';
import {
  InstancePaths,
  InstanceStore,
  isActiveState,
  PersistedState,
  writeConfigFiles,
} from '../../instances/instance-store';
import { InstanceSupervisor, OutputObserver } from '../../supervision/instance-supervisor';
import { exitReason } from '../../supervision/restart-policy';
import { DEFAULT_LOG_ROTATION, FileFollower, LogRotation, rotateIfLarge } from '../../instances/log-files';
import { ConsoleHandle, DriverError } from '../driver';
import { isOurProcess, processStartTicks, signalGroup } from './host-process';
import { directoryBytes } from '../../sandbox/disk-usage';
import { rootEnvironment } from '../../sandbox/process-sandbox';
import { InstanceConfinement, SandboxSettings, signalOfStatus } from './instance-confinement';
import { writeToConsoleFifo } from '../console-fifo';

const ADOPTED_POLL_MS = 250;
const START_WAIT_MS = 10 * 60_000;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What the workload sees: a clean environment plus the spec's own variables, nothing of the agent's. */
export function workloadEnvironment(spec: InstanceSpec, home: string): Record<string, string> {
  return { PATH: DEFAULT_PATH, HOME: home, LANG: 'C.UTF-8', TERM: 'xterm-256color', ...spec.env };
}

/** How a host command ended, without its (long, sandbox-wrapped) argv. */
function commandOutcome(err: unknown): string {
  if (!(err instanceof CommandError)) return (err as Error).message.slice(0, 400);
  if (err.failure === 'exit')
    return `${err.exitCode === null ? `killed by ${err.signal ?? 'a signal'}` : `exited with code ${err.exitCode}`}${err.stderrTail ? `: ${err.stderrTail.trim().slice(-300)}` : ''}`;
  return err.failure === 'timeout' ? 'timed out' : `could not run: ${err.message.slice(-200)}`;
}

/**
 * One process instance: spawns `/bin/sh -c <startup>` in its own process group with stdin from a
 * FIFO and output appended to a log file (descriptors it inherits, so it outlives the agent).
 * State, ready pattern and restart policy are the shared supervisor's; this class supplies the
 * primitives (launch, signal, observe output) and reports exits.
 */
export class ProcessInstance {
  private child: ChildProcess | null = null;
  private adoptedPoll: NodeJS.Timeout | null = null;
  private rotateTimer: NodeJS.Timeout | null = null;
  private diskTimer: NodeJS.Timeout | null = null;
  /** Output offset where the current run began: the ready pattern only counts what this run wrote. */
  private runOffset: number | undefined;
  /** Why the agent itself stopped the instance (a limit), kept as the stop's reason. */
  private limitStop: string | null = null;
  private readonly confinement: InstanceConfinement | null;
  private readonly consoles = new Set<ConsoleHandle>();
  readonly paths: InstancePaths;
  private readonly supervisor: InstanceSupervisor;

  constructor(
    store: InstanceStore,
    spec: InstanceSpec,
    settings: SandboxSettings | null,
    emit: (frame: InstanceStateFrame) => void,
    private readonly rotation: LogRotation = DEFAULT_LOG_ROTATION,
  ) {
    this.paths = store.paths(spec.instance_id);
    this.supervisor = new InstanceSupervisor(store, spec, emit, {
      launch: () => this.launch(),
      observeOutput: (): OutputObserver => new FileFollower(this.paths.output, { offset: this.runOffset }),
    });
    this.confinement = settings ? new InstanceConfinement(settings, store, spec.instance_id, this.paths) : null;
  }

  get id(): string {
    return this.spec.instance_id;
  }

  get spec(): InstanceSpec {
    return this.supervisor.spec;
  }

  set spec(spec: InstanceSpec) {
    this.supervisor.spec = spec;
  }

  get state(): PersistedState {
    return this.supervisor.state;
  }

  get running(): boolean {
    return this.supervisor.running;
  }

  status(): InstanceStatus {
    return { ...this.supervisor.status(), container_id: null };
  }

  /** After an agent restart: keep a process that is still ours running and watch it; otherwise it exited meanwhile. */
  adopt(): void {
    const { pid, pid_start_ticks: ticks } = this.state;
    if (pid === null) return this.supervisor.recoverWithoutWorkload();
    if (isOurProcess(pid, ticks)) {
      // OOM kills of earlier runs are not this run's.
      this.confinement?.adopted();
      this.watchAdopted(pid);
      this.runOffset = undefined;
      if (this.state.state === 'starting') this.supervisor.watchReady();
      this.startRotation();
      return;
    }
    this.onExit(null, null, 'exited while the agent was not running');
  }

  async install(signal: AbortSignal): Promise<void> {
    const script = this.spec.install?.script;
    if (script === undefined || this.state.installed) return;
    const entrypoint = this.spec.install?.entrypoint ?? '/bin/sh';
    // Workload specs allow a program name (`sh`, as in eggs and templates): it is looked up on PATH, never run by a
    // shell.
    if (!/^(\/[A-Za-z0-9_./-]{1,254}|[A-Za-z0-9_.-]{1,128})$/.test(entrypoint)) {
      throw new DriverError(
        'invalid_spec',
        `install entrypoint "${entrypoint}" must be an absolute path or a program name of letters, digits, '_', '.', '/', '-'`,
      );
    }
    this.supervisor.setState({ state: 'installing', reason: null });
    const fd = openSync(this.paths.install, 'w', 0o600);
    try {
      signal.throwIfAborted();
      const timeoutMs = 30 * 60_000;
      // Confined like the workload, with the instance root at /mnt/server as in Pterodactyl's install containers.
      if (this.confinement)
        await runCommand(await this.confinedCommand('/mnt/server', [entrypoint, '-c', script]), {
          cwd: '/',
          env: rootEnvironment(),
          outputFd: fd,
          timeoutMs,
        });
      else
        await runCommand([entrypoint, '-c', script], {
          cwd: this.paths.data,
          env: workloadEnvironment(this.spec, this.paths.data),
          outputFd: fd,
          timeoutMs,
        });
    } catch (err) {
      const reason = `install script failed: ${commandOutcome(err)}`;
      this.supervisor.setState({ state: 'failed', reason });
      throw new DriverError('install_failed', reason);
    } finally {
      closeSync(fd);
    }
    this.supervisor.setState({ state: 'stopped', reason: null, installed: true });
  }

  async start(): Promise<InstanceStatus> {
    if (this.state.state === 'installing')
      throw new DriverError('instance_busy', `instance ${this.id} is still installing`);
    if (this.state.state === 'failed' && !this.state.installed && this.spec.install)
      throw new DriverError('install_failed', `instance ${this.id} failed to install: ${this.state.reason ?? ''}`);
    if (!this.running) {
      this.supervisor.freshStart();
      const over = this.diskOverLimit();
      if (over) throw new DriverError('start_failed', `instance ${this.id} cannot start: ${over}`);
      await this.launch();
    }
    await this.supervisor.waitForState((s) => s !== 'starting', START_WAIT_MS);
    if (!this.running && this.state.state !== 'running')
      throw new DriverError('start_failed', `instance ${this.id} did not start: ${this.state.reason ?? 'it exited'}`);
    return this.status();
  }

  async stop(graceSeconds: number): Promise<InstanceStatus> {
    const pid = this.state.pid;
    if (pid === null) {
      this.supervisor.cancelRestart();
      if (this.state.state === 'crashed' || isActiveState(this.state.state))
        this.supervisor.setState({ state: 'stopped', desired: 'stopped' });
      return this.status();
    }
    this.supervisor.beginStop();
    if (this.spec.stop.type === 'command') this.writeConsole(Buffer.from(`${this.spec.stop.value}\n`));
    else await this.signalWorkload(pid, this.spec.stop.value as NodeJS.Signals);
    if (!(await this.supervisor.waitForExit(graceSeconds * 1000))) {
      await this.signalWorkload(pid, 'SIGKILL');
      await this.supervisor.waitForExit(10_000);
    }
    return this.status();
  }

  async kill(signal: NodeJS.Signals): Promise<InstanceStatus> {
    const pid = this.state.pid;
    if (pid === null) return this.status();
    this.supervisor.killRequested(signal);
    await this.signalWorkload(pid, signal);
    if (signal === 'SIGKILL') await this.supervisor.waitForExit(10_000);
    return this.status();
  }

  openConsole(): ConsoleHandle {
    if (!this.running)
      throw new DriverError('start_failed', `instance ${this.id} is not running; start it to use its console`);
    const follower = new FileFollower(this.paths.output);
    const handle: ConsoleHandle = {
      write: (data) => this.writeConsole(data),
      onData: (l) => follower.onData(l),
      onClose: (l) => follower.onClose(l),
      pause: () => follower.pause(),
      resume: () => follower.resume(),
      close: () => {
        this.consoles.delete(handle);
        follower.close('closed');
      },
    };
    this.consoles.add(handle);
    follower.onClose(() => this.consoles.delete(handle));
    // The last lines written before the exit are still read and sent before the close.
    this.supervisor.onceExited(() => follower.closeAfterDrain(`the instance ${this.state.reason ?? 'stopped'}`));
    return handle;
  }

  /** Stops watching (agent shutdown); the process itself keeps running. */
  release(): void {
    for (const t of [this.adoptedPoll, this.rotateTimer, this.diskTimer]) if (t) clearInterval(t);
    this.supervisor.release();
    for (const c of [...this.consoles]) c.close();
    this.child?.removeAllListeners('exit');
  }
  private writeConsole(data: Buffer): void {
    writeToConsoleFifo(this.paths.consoleFifo, data);
  }

  private async launch(): Promise<void> {
    const spec = this.spec;
    try {
      writeConfigFiles(this.paths.data, spec.config_files);
    } catch (err) {
      this.supervisor.setState({ state: 'failed', reason: (err as Error).message });
      throw err;
    }
    if (!existsSync(this.paths.consoleFifo)) await runCommand(['mkfifo', '-m', '0600', this.paths.consoleFifo]);
    this.rotateOutput();
    const startOffset = existsSync(this.paths.output) ? statSync(this.paths.output).size : 0;
    // O_RDWR on the FIFO: the workload holds a writer itself, so its stdin never sees EOF between consoles.
    const stdin = openSync(this.paths.consoleFifo, constants.O_RDWR);
    const out = openSync(this.paths.output, 'a', 0o600);
    let child: ChildProcess;
    try {
      const argv = ['/bin/sh', '-c', spec.startup] as const;
      if (this.confinement)
        child = spawnSupervised(await this.confinedCommand('/home/container', argv), {
          cwd: '/',
          env: rootEnvironment(),
          stdio: [stdin, out, out],
        });
      else
        child = spawnSupervised(argv, {
          cwd: this.paths.data,
          env: workloadEnvironment(spec, this.paths.data),
          stdio: [stdin, out, out],
        });
    } finally {
      closeSync(stdin);
      closeSync(out);
    }
    const pid = child.pid;
    if (pid === undefined) {
      this.supervisor.setState({ state: 'failed', reason: 'the process could not be spawned' });
      throw new DriverError('start_failed', `instance ${this.id}: /bin/sh could not be spawned`);
    }
    this.child = child;
    child.on('exit', (code, signal) => {
      this.child = null;
      this.onExit(code, signal);
    });
    this.runOffset = startOffset;
    this.supervisor.launched({ pid, pid_start_ticks: processStartTicks(pid), started_at: new Date().toISOString() });
    this.startRotation();
  }

  /** Confined, with the instance root at `mountAt`; a new run, so no limit has stopped it yet. */
  private confinedCommand(
    mountAt: '/home/container' | '/mnt/server',
    argv: readonly [string, ...string[]],
  ): Promise<[string, ...string[]]> {
    if (!this.confinement) throw new Error('not confined');
    this.limitStop = null;
    return this.confinement.command(this.spec, mountAt, workloadEnvironment(this.spec, mountAt), argv);
  }

  private async signalWorkload(pid: number, signal: NodeJS.Signals): Promise<void> {
    if (this.confinement) await this.confinement.signal(pid, signal, () => this.state.pid === pid);
    else signalGroup(pid, signal);
  }

  /** Why the instance root is over its disk limit, or null. */
  private diskOverLimit(): string | null {
    const limit = this.spec.resources.disk_bytes;
    if (limit === undefined) return null;
    const used = directoryBytes(this.paths.data);
    return used > limit ? `its files use ${used} bytes, over its disk limit of ${limit} bytes` : null;
  }

  /** A running instance that grows past its disk limit is stopped (as Wings does), with that reason. */
  private startDiskWatch(): void {
    if (this.diskTimer || !this.confinement || this.spec.resources.disk_bytes === undefined) return;
    this.diskTimer = setInterval(() => {
      const over = this.diskOverLimit();
      if (!over || this.state.pid === null || this.limitStop) return;
      this.limitStop = `stopped by the agent: ${over}`;
      void this.stop(Math.min(this.spec.stop.grace_seconds, 10)).catch(() => undefined);
    }, this.confinement.settings.diskCheckMs);
    this.diskTimer.unref();
  }

  private startRotation(): void {
    this.startDiskWatch();
    if (this.rotateTimer) return;
    this.rotateTimer = setInterval(() => this.rotateOutput(), this.rotation.checkMs);
    this.rotateTimer.unref();
  }

  private rotateOutput(): void {
    rotateIfLarge(this.paths.output, this.rotation.maxBytes, this.rotation.keep);
  }

  private watchAdopted(pid: number): void {
    const ticks = this.state.pid_start_ticks;
    this.adoptedPoll = setInterval(() => {
      if (isOurProcess(pid, ticks)) return;
      if (this.adoptedPoll) clearInterval(this.adoptedPoll);
      this.adoptedPoll = null;
      this.onExit(null, null);
    }, ADOPTED_POLL_MS);
    this.adoptedPoll.unref();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, why?: string): void {
    for (const t of [this.rotateTimer, this.diskTimer]) if (t) clearInterval(t);
    this.rotateTimer = null;
    this.diskTimer = null;
    const bySignal = signal ?? (this.confinement ? signalOfStatus(code) : null);
    const reason =
      why ??
      this.confinement?.limitExitReason(this.spec.resources.memory_bytes) ??
      exitReason(bySignal ? null : code, bySignal);
    this.confinement?.ended();
    this.supervisor.exited({
      code,
      reason,
      stoppedReason: this.limitStop ?? (bySignal === 'SIGKILL' ? 'killed by SIGKILL' : 'stopped'),
    });
  }
}

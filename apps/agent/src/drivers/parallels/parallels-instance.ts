import type { ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import type { InstanceSpec, InstanceStateFrame, InstanceStatus } from '@hostplane/protocol';
import { CommandError, runCommand, spawnSupervised } from '../../exec/run-command';
import { InstancePaths, InstanceStore, PersistedState } from '../../instances/instance-store';
import { DEFAULT_LOG_ROTATION, FileFollower, LogRotation, rotateIfLarge } from '../../instances/log-files';
import { PrlHost } from '../../parallels/prl-host';
import { InstanceSupervisor, OutputObserver } from '../../supervision/instance-supervisor';
import { exitReason } from '../../supervision/restart-policy';
import { ConsoleHandle, DriverError } from '../driver';
import { vmNameOf } from './parallels-plan';
import { writeToConsoleFifo } from '../console-fifo';

const ADOPTED_POLL_MS = 250;
const START_WAIT_MS = 10 * 60_000;

function procStat(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The pid is alive and, where /proc tells, the process recorded (macOS has no /proc: liveness only). */
function processAlive(pid: number, startTicks: number | null): boolean {
  if (existsSync('/proc/self/stat')) {
    const fields = procStat(pid);
    return fields !== null && fields[0] !== 'Z' && (startTicks === null || Number(fields[19]) === startTicks);
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function startTicksOf(pid: number): number | null {
  const fields = procStat(pid);
  return fields ? Number(fields[19]) : null;
}

/** The guest command: the spec's variables through env(1), then the line for the guest's shell. */
export function guestCommand(spec: InstanceSpec, line: string): string[] {
  const env = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  return ['/usr/bin/env', ...env, '/bin/sh', '-c', line];
}

function outcome(err: unknown): string {
  if (!(err instanceof CommandError)) return (err as Error).message.slice(0, 400);
  if (err.failure === 'exit')
    return `exited with code ${err.exitCode ?? 'unknown'}${err.stderrTail ? `: ${err.stderrTail.trim().slice(-300)}` : ''}`;
  return err.failure === 'timeout' ? 'timed out' : err.message.slice(-300);
}

/**
 * One VM instance: the VM (a clone named `hp-<instance id>`) is booted, and the workload runs in
 * the guest through `prlctl exec` (guest tools), a host process in its own group with stdin from
 * the console FIFO and output appended to the instance's log, as a process instance is run: its
 * exit status is the workload's. A stop is the guest's own shutdown (`prlctl stop`, ACPI) for the
 * grace period, then `prlctl stop --kill`; when the workload ends by itself the VM is powered off,
 * so the instance's state and the VM's agree. The VM commands of one instance run one at a time.
 */
export class ParallelsInstance {
  private child: ChildProcess | null = null;
  private adoptedPoll: NodeJS.Timeout | null = null;
  private runOffset: number | undefined;
  /** Set when a stop had to power the VM off: the grace period waited, or -1 for a kill. */
  private forcedAfter: number | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly consoles = new Set<ConsoleHandle>();
  readonly paths: InstancePaths;
  readonly supervisor: InstanceSupervisor;

  constructor(
    store: InstanceStore,
    spec: InstanceSpec,
    private readonly host: PrlHost,
    readonly owner: string | null,
    emit: (frame: InstanceStateFrame) => void,
    private readonly rotation: LogRotation = DEFAULT_LOG_ROTATION,
  ) {
    this.paths = store.paths(spec.instance_id);
    this.supervisor = new InstanceSupervisor(store, spec, emit, {
      launch: () => this.serialize(() => this.launch()),
      observeOutput: (): OutputObserver => new FileFollower(this.paths.output, { offset: this.runOffset }),
    });
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

  get vm(): string {
    return vmNameOf(this.id);
  }

  status(): InstanceStatus {
    return this.supervisor.status();
  }

  /** Runs `fn` after every earlier VM command of this instance. */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.catch(() => undefined).then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Boots the VM once and runs the install script in the guest, its output in install.log. */
  async install(signal: AbortSignal): Promise<void> {
    const script = this.spec.install?.script;
    if (script === undefined) return;
    const fd = openSync(this.paths.install, 'w', 0o600);
    try {
      await this.ensureRunning();
      signal.throwIfAborted();
      await runCommand(this.host.execArgv(this.vm, guestCommand(this.spec, script), this.owner), {
        env: this.host.exec.options.env,
        outputFd: fd,
        timeoutMs: 30 * 60_000,
      });
    } catch (err) {
      throw new DriverError('install_failed', `install script failed: ${outcome(err)}`);
    } finally {
      closeSync(fd);
      await this.powerOff().catch(() => undefined);
    }
  }

  private async vmState(): Promise<string | null> {
    return (await this.host.machine(this.vm, this.owner))?.state ?? null;
  }

  private async ensureRunning(): Promise<void> {
    const state = await this.vmState();
    if (state === null) throw new DriverError('start_failed', `VM ${this.vm} does not exist on this host`);
    if (state === 'paused' || state === 'suspended') await this.host.prlctl(['resume', this.vm], { owner: this.owner });
    else if (state !== 'running') await this.host.start(this.vm, this.owner);
  }

  async powerOff(): Promise<void> {
    const state = await this.vmState();
    if (state === null || state === 'stopped') return;
    await this.host.stop(this.vm, state === 'suspended' ? 'drop-state' : 'kill', { owner: this.owner });
  }

  /** After an agent restart: a `prlctl exec` still running is this run; otherwise the run ended meanwhile. */
  adopt(): void {
    const { pid, pid_start_ticks: ticks } = this.state;
    if (pid === null) return this.supervisor.recoverWithoutWorkload();
    if (processAlive(pid, ticks)) {
      this.watchAdopted(pid);
      this.runOffset = undefined;
      if (this.state.state === 'starting') this.supervisor.watchReady();
      return;
    }
    this.onExit(null, 'exited while the agent was not running');
  }

  async start(): Promise<InstanceStatus> {
    if (this.state.state === 'installing')
      throw new DriverError('instance_busy', `instance ${this.id} is still installing`);
    await this.serialize(async () => {
      if (this.supervisor.running) return;
      this.supervisor.freshStart();
      await this.launch();
    });
    await this.supervisor.waitForState((s) => s !== 'starting', START_WAIT_MS);
    return this.status();
  }

  stop(graceSeconds: number): Promise<InstanceStatus> {
    return this.serialize(async () => {
      if (this.state.pid === null) {
        this.supervisor.cancelRestart();
        await this.powerOff();
        if (this.state.state !== 'stopped' || this.state.desired !== 'stopped')
          this.supervisor.setState({ state: 'stopped', desired: 'stopped' });
        return this.status();
      }
      this.supervisor.beginStop();
      let clean: boolean;
      if (this.spec.stop.type === 'command') {
        this.writeConsole(Buffer.from(`${this.spec.stop.value}\n`));
        clean = await this.supervisor.waitForExit(graceSeconds * 1000);
      } else {
        clean = await this.host
          .stop(this.vm, 'acpi', { owner: this.owner, timeoutMs: Math.max(1, graceSeconds) * 1000 })
          .then(() => true)
          .catch(() => false);
      }
      if (!clean) {
        this.forcedAfter = graceSeconds;
        await this.host.stop(this.vm, 'kill', { owner: this.owner }).catch(() => undefined);
      }
      await this.supervisor.waitForExit(10_000);
      await this.powerOff();
      return this.status();
    });
  }

  kill(): Promise<InstanceStatus> {
    return this.serialize(async () => {
      this.supervisor.cancelRestart();
      if (this.state.pid === null) {
        await this.powerOff();
        if (this.state.state !== 'stopped')
          this.supervisor.setState({ state: 'stopped', desired: 'stopped', reason: 'killed' });
        return this.status();
      }
      this.supervisor.killRequested('SIGKILL');
      this.forcedAfter = -1;
      await this.powerOff();
      await this.supervisor.waitForExit(10_000);
      return this.status();
    });
  }

  openConsole(): ConsoleHandle {
    if (!this.supervisor.running)
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
    this.supervisor.onceExited(() => follower.closeAfterDrain(`the instance ${this.state.reason ?? 'stopped'}`));
    return handle;
  }

  /** Stops watching (agent shutdown); the VM and its workload keep running. */
  release(): void {
    if (this.adoptedPoll) clearInterval(this.adoptedPoll);
    this.adoptedPoll = null;
    this.supervisor.release();
    for (const c of [...this.consoles]) c.close();
    this.child?.removeAllListeners('exit');
  }

  private writeConsole(data: Buffer): void {
    writeToConsoleFifo(this.paths.consoleFifo, data);
  }

  /** Boots the VM when it is down and starts the workload in the guest (called in the instance's queue). */
  private async launch(): Promise<void> {
    const spec = this.spec;
    if (spec.config_files.length > 0) {
      this.supervisor.setState({ state: 'failed', reason: 'config files are not supported for parallels instances' });
      throw new DriverError('invalid_spec', 'config files are not supported for parallels instances');
    }
    // Booting takes a while: say so before it.
    this.supervisor.setState({ state: 'starting', desired: 'running', reason: null, exit_code: null });
    try {
      await this.ensureRunning();
    } catch (err) {
      this.supervisor.setState({ state: 'failed', reason: `VM start failed: ${outcome(err)}` });
      throw err;
    }
    if (!existsSync(this.paths.consoleFifo)) await runCommand(['mkfifo', '-m', '0600', this.paths.consoleFifo]);
    rotateIfLarge(this.paths.output, this.rotation.maxBytes, this.rotation.keep);
    const startOffset = existsSync(this.paths.output) ? statSync(this.paths.output).size : 0;
    // O_RDWR on the FIFO: the workload holds a writer itself, so its stdin never sees EOF between consoles.
    const stdin = openSync(this.paths.consoleFifo, constants.O_RDWR);
    const out = openSync(this.paths.output, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawnSupervised(this.host.execArgv(this.vm, guestCommand(spec, spec.startup), this.owner), {
        cwd: this.paths.root,
        env: (this.host.exec.options.env ?? process.env) as Record<string, string>,
        stdio: [stdin, out, out],
      });
    } finally {
      closeSync(stdin);
      closeSync(out);
    }
    const pid = child.pid;
    if (pid === undefined) {
      this.supervisor.setState({ state: 'failed', reason: 'prlctl could not be spawned' });
      throw new DriverError('start_failed', `instance ${this.id}: prlctl exec could not be spawned`);
    }
    this.child = child;
    this.forcedAfter = null;
    child.on('exit', (code, signal) => {
      this.child = null;
      this.onExit(signal ? null : code, signal ? exitReason(null, signal) : undefined);
    });
    this.runOffset = startOffset;
    this.supervisor.launched({ pid, pid_start_ticks: startTicksOf(pid), started_at: new Date().toISOString() });
  }

  private watchAdopted(pid: number): void {
    const ticks = this.state.pid_start_ticks;
    this.adoptedPoll = setInterval(() => {
      if (processAlive(pid, ticks)) return;
      if (this.adoptedPoll) clearInterval(this.adoptedPoll);
      this.adoptedPoll = null;
      this.onExit(null);
    }, ADOPTED_POLL_MS);
    this.adoptedPoll.unref();
  }

  private onExit(code: number | null, why?: string): void {
    const forced = this.forcedAfter;
    // A workload that ended by itself powers its VM off (queued before any restart of the policy).
    if (!this.supervisor.stopRequested) void this.serialize(() => this.powerOff()).catch(() => undefined);
    this.supervisor.exited({
      code,
      reason: why ?? exitReason(code, null),
      stoppedReason:
        forced === null ? 'stopped' : forced < 0 ? 'killed' : `stopped with --kill after a grace period of ${forced} s`,
    });
  }
}

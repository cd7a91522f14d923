import type { LogHistory, LogRange, LogsCleared } from './log-history';
import type {
  InstanceSpec,
  InstanceState,
  InstanceStateFrame,
  InstanceStats,
  InstanceStatus,
} from '@hostplane/protocol';

export type DriverName = InstanceSpec['driver'];

/** Credentials for a registry an image comes from, sent by the hub with a job; never saved on the host. */
export interface RegistryCredentials {
  server: string;
  username: string;
  password: string;
}

export interface CreateContext {
  progress(percent: number, message?: string): void;
  signal: AbortSignal;
  /** For drivers that pull images: the credentials of the image's registry, when it needs any. */
  registryAuth?: RegistryCredentials;
  /** The data comes next from a backup restore (a migration's target): a driver may leave out what it brings. */
  restoreFollows?: boolean;
}

/** What an update may bring besides the spec (drivers that pull a changed image use it). */
export interface UpdateContext {
  progress?(percent: number, message?: string): void;
  registryAuth?: RegistryCredentials;
}

/** The interactive console of a running instance: its stdin and its output. */
export interface ConsoleHandle {
  write(data: Buffer): void;
  onData(listener: (chunk: Buffer) => void): void;
  /**
   * Called once when the console ends (the instance stopped, or the handle was closed). `exitCode`:
   * the status of a shell that ended by itself (a zone shell), passed on to the client as `exit N`.
   */
  onClose(listener: (reason: string, exitCode?: number) => void): void;
  /** Stop producing output until `resume` (flow control). */
  pause(): void;
  resume(): void;
  close(): void;
  /** Present where the console is a tty (docker): sets its window size. A process console has no tty. */
  resize?(cols: number, rows: number): void;
}

/** Live output: the last lines first, then new output as it comes. Same shape as a console without input. */
export type LogFollower = Omit<ConsoleHandle, 'write'>;

export interface InstanceSummary {
  instance_id: string;
  state: InstanceState;
}

export type StateListener = (frame: InstanceStateFrame) => void;

/**
 * One driver interface: every instance driver (process, docker, …) implements it and passes the
 * same contract suite. Drivers never know the tunnel; the runtime forwards their `state` events.
 */
export interface InstanceDriver {
  readonly name: DriverName;
  /** Null when usable here, otherwise why not. */
  available(): Promise<string | null>;
  /** Creates the instance (directory or container, config files, install script); idempotent. */
  create(spec: InstanceSpec, ctx: CreateContext): Promise<InstanceStatus>;
  /** Saves a changed spec; it takes effect at the next start. */
  update(spec: InstanceSpec, ctx?: UpdateContext): Promise<InstanceStatus>;
  /** Starts and waits until running (ready pattern) or failed; a running instance is left alone. */
  start(id: string): Promise<InstanceStatus>;
  stop(id: string, graceSeconds?: number): Promise<InstanceStatus>;
  kill(id: string, signal: NodeJS.Signals): Promise<InstanceStatus>;
  /** Stops and removes everything of the instance; false when there was nothing to remove. */
  remove(id: string): Promise<boolean>;
  inspect(id: string): Promise<InstanceStatus>;
  stats(id: string): Promise<InstanceStats>;
  logs(id: string, lines: number, source: 'output' | 'install'): Promise<string[]>;
  /** The output log history (rotated files, then the current one), oldest first, LF line ends. */
  logHistory(id: string, range: LogRange): Promise<LogHistory>;
  /** Removes the output log history on the host. */
  clearLogs(id: string): Promise<LogsCleared>;
  openConsole(id: string): Promise<ConsoleHandle>;
  followLogs(id: string, tail: number): Promise<LogFollower>;
  /** Every instance of this driver on the host; also re-adopts what survived an agent restart. */
  list(): Promise<InstanceSummary[]>;
  onState(listener: StateListener): void;
  /** Releases watchers and timers; running instances keep running. */
  close(): Promise<void>;
}

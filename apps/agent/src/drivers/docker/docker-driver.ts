import { writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { InstanceSpec, InstanceStateFrame, InstanceStats, InstanceStatus } from '@hostplane/protocol';
import { InstanceStore, isActiveState, PersistedState, writeConfigFiles } from '../../instances/instance-store';
import { DEFAULT_LOG_ROTATION, type LogRotation, tailLines } from '../../instances/log-files';
import type { LogHistory, LogRange, LogsCleared } from '../../instances/log-history';
import { clearDockerLogs, dockerLogHistory, withLogRotation } from './docker-log-history';
import { demultiplexDockerStream, dockerEngineAttach, dockerEngineGet, dockerEngineStream } from '../docker-engine';
import { ConsoleHandle, CreateContext, DriverError, InstanceDriver, InstanceSummary, LogFollower, StateListener } from '../driver';
import { assertImageName, containerName, ContainerInspect, DockerApi, installContainerBody, instanceContainerBody } from './docker-api';
import { exitReason } from '../process/process-instance';
import { directoryBytes } from '../process/process-driver';
import { dockerStats } from './docker-stats';
import { streamHandle } from './stream-handle';
import { confineContainer } from './container-sandbox';
import { DEFAULT_IDENTITY_OPTIONS, giveDataTo, IdentityOptions, instanceIdentity, SandboxIdentity } from '../../sandbox/sandbox-identity';

const MONITOR_MS = 400;

/** Docker reports a death by signal N as exit code 128 + N. */
function signalOfExitCode(code: number | null): NodeJS.Signals | null {
  if (code === null || code <= 128 || code > 128 + 31) return null;
  const found = Object.entries(osConstants.signals).find(([, n]) => n === code - 128);
  return found ? (found[0] as NodeJS.Signals) : null;
}
const START_WAIT_MS = 10 * 60_000;

interface Tracked {
  spec: InstanceSpec;
  state: PersistedState;
  stopRequested: boolean;
  restartTimer: NodeJS.Timeout | null;
  /** The spec changed while running: recreate the container at the next start. */
  stale: boolean;
}

/** Containers through the Docker Engine API; the agent (not Docker) applies the restart policy. */
export class DockerDriver implements InstanceDriver {
  readonly name = 'docker' as const;
  private readonly api: DockerApi;
  private readonly tracked = new Map<string, Tracked>();
  private readonly listeners: StateListener[] = [];
  private monitor: NodeJS.Timeout | null = null;
  private loaded = false;
  private availability: { at: number; problem: string | null } | null = null;

  constructor(
    private readonly store: InstanceStore,
    socketPath: string,
    private readonly options: { bindAddress?: string; identity?: IdentityOptions; pidsLimit?: number; logRotation?: LogRotation } = {},
  ) {
    this.api = new DockerApi(socketPath);
  }

  async available(): Promise<string | null> {
    if (this.availability && Date.now() - this.availability.at < 5000) return this.availability.problem;
    let problem: string | null = null;
    try {
      await dockerEngineGet(this.api.socketPath, '/version');
    } catch (err) {
      problem = (err as Error).message;
    }
    this.availability = { at: Date.now(), problem };
    return problem;
  }

  onState(listener: StateListener): void {
    this.listeners.push(listener);
  }

  async create(spec: InstanceSpec, ctx: CreateContext): Promise<InstanceStatus> {
    await this.load();
    const image = assertImageName(spec.image);
    await this.api.requireImage(image);
    let t = this.tracked.get(spec.instance_id);
    if (!t) {
      this.store.prepare(spec.instance_id);
      this.store.writeSpec(spec);
      t = { spec, state: this.store.readState(spec.instance_id), stopRequested: false, restartTimer: null, stale: false };
      this.tracked.set(spec.instance_id, t);
      this.store.writeState(spec.instance_id, t.state);
    }
    ctx.progress(10, 'instance directory ready');
    if (spec.install && !t.state.installed) await this.install(t, ctx.signal);
    if (!(await this.api.inspect(containerName(spec.instance_id)))) await this.createContainer(t);
    ctx.progress(100, 'created');
    return this.status(t);
  }

  async update(spec: InstanceSpec): Promise<InstanceStatus> {
    const t = await this.get(spec.instance_id);
    assertImageName(spec.image);
    this.store.writeSpec(spec);
    t.spec = spec;
    t.stale = true;
    if (!isActiveState(t.state.state)) await this.recreate(t);
    return this.status(t);
  }

  async start(id: string): Promise<InstanceStatus> {
    const t = await this.get(id);
    if (t.state.state === 'installing') throw new DriverError('instance_busy', `instance ${id} is still installing`);
    const current = await this.api.inspect(containerName(id));
    if (!current?.State.Running) {
      if (t.restartTimer) clearTimeout(t.restartTimer);
      t.restartTimer = null;
      t.state.restarts = 0;
      await this.launch(t);
    }
    await this.waitFor(t, () => t.state.state !== 'starting', START_WAIT_MS);
    if (t.state.state !== 'running') throw new DriverError('start_failed', `instance ${id} did not start: ${t.state.reason ?? 'it exited'}`);
    return this.status(t);
  }

  async stop(id: string, graceSeconds?: number): Promise<InstanceStatus> {
    const t = await this.get(id);
    if (t.restartTimer) clearTimeout(t.restartTimer);
    t.restartTimer = null;
    const name = containerName(id);
    const current = await this.api.inspect(name);
    if (!current?.State.Running) {
      if (t.state.state !== 'stopped' && t.state.state !== 'failed') this.setState(t, { state: 'stopped', desired: 'stopped', pid: null });
      return this.status(t);
    }
    const grace = graceSeconds ?? t.spec.stop.grace_seconds;
    t.stopRequested = true;
    this.setState(t, { state: 'stopping', desired: 'stopped' });
    if (t.spec.stop.type === 'command') {
      const socket = await dockerEngineAttach(this.api.socketPath, `/containers/${name}/attach?stream=1&stdin=1`);
      socket.write(`${t.spec.stop.value}\n`);
      setTimeout(() => socket.destroy(), 500);
    } else {
      await this.api.call('POST', `/containers/${name}/kill?signal=${t.spec.stop.value}`, undefined, [409]);
    }
    if (!(await this.waitFor(t, () => t.state.state === 'stopped', grace * 1000))) {
      await this.api.call('POST', `/containers/${name}/kill?signal=SIGKILL`, undefined, [409]);
      await this.waitFor(t, () => t.state.state === 'stopped', 15_000);
    }
    return this.status(t);
  }

  async kill(id: string, signal: NodeJS.Signals): Promise<InstanceStatus> {
    const t = await this.get(id);
    if (!(await this.api.inspect(containerName(id)))?.State.Running) return this.status(t);
    if (['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT'].includes(signal)) {
      t.stopRequested = true;
      t.state.desired = 'stopped';
    }
    await this.api.call('POST', `/containers/${containerName(id)}/kill?signal=${signal}`, undefined, [409]);
    if (signal === 'SIGKILL') await this.waitFor(t, () => t.state.pid === null, 15_000);
    return this.status(t);
  }

  async remove(id: string): Promise<boolean> {
    await this.load();
    const t = this.tracked.get(id);
    if (t?.restartTimer) clearTimeout(t.restartTimer);
    this.tracked.delete(id);
    await this.api.remove(containerName(id));
    const existed = this.store.exists(id) || t !== undefined;
    this.store.remove(id);
    return existed;
  }

  async inspect(id: string): Promise<InstanceStatus> {
    return this.status(await this.get(id));
  }

  async stats(id: string): Promise<InstanceStats> {
    const t = await this.get(id);
    const running = t.state.pid !== null;
    const raw = running ? await this.api.json<Record<string, unknown>>('GET', `/containers/${containerName(id)}/stats?stream=false`) : null;
    const started = t.state.started_at ? Date.parse(t.state.started_at) : Date.now();
    return {
      instance_id: id,
      ts: new Date().toISOString(),
      ...dockerStats(raw),
      memory_limit_bytes: t.spec.resources.memory_bytes ?? null,
      disk_bytes: directoryBytes(this.store.paths(id).data),
      uptime_seconds: running ? Math.max(0, (Date.now() - started) / 1000) : 0,
    };
  }

  async logs(id: string, lines: number, source: 'output' | 'install'): Promise<string[]> {
    await this.get(id);
    if (source === 'install') return tailLines(this.store.paths(id).install, lines);
    const text = await this.api.logs(containerName(id), lines, true);
    return text.replace(/\r\n/g, '\n').split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  }

  async logHistory(id: string, range: LogRange): Promise<LogHistory> {
    await this.get(id);
    return dockerLogHistory(this.api, containerName(id), range);
  }

  async clearLogs(id: string): Promise<LogsCleared> {
    await this.get(id);
    return clearDockerLogs(this.api, containerName(id));
  }

  async openConsole(id: string): Promise<ConsoleHandle> {
    const t = await this.get(id);
    if (t.state.pid === null) throw new DriverError('start_failed', `instance ${id} is not running; start it to use its console`);
    const socket = await dockerEngineAttach(this.api.socketPath, `/containers/${containerName(id)}/attach?stream=1&stdin=1&stdout=1&stderr=1`);
    const handle = streamHandle(socket, (data) => socket.write(data), () => socket.destroy());
    // Instance containers are ttys (Tty: true): the window size is the container's.
    handle.resize = (cols, rows) => void this.api.call('POST', `/containers/${containerName(id)}/resize?h=${rows}&w=${cols}`, undefined, [404, 409]).catch(() => undefined);
    return handle;
  }

  async followLogs(id: string, tail: number): Promise<LogFollower> {
    await this.get(id);
    const { response, abort } = await dockerEngineStream(this.api.socketPath, `/containers/${containerName(id)}/logs?stdout=1&stderr=1&follow=1&tail=${tail}`);
    return streamHandle(response, null, abort);
  }

  async list(): Promise<InstanceSummary[]> {
    await this.load();
    return [...this.tracked.values()].map((t) => ({ instance_id: t.spec.instance_id, state: t.state.state }));
  }

  close(): Promise<void> {
    if (this.monitor) clearInterval(this.monitor);
    this.monitor = null;
    for (const t of this.tracked.values()) if (t.restartTimer) clearTimeout(t.restartTimer);
    this.tracked.clear();
    this.loaded = false;
    return Promise.resolve();
  }

  private async install(t: Tracked, signal: AbortSignal): Promise<void> {
    const spec = t.spec;
    const image = assertImageName(spec.install?.image ?? spec.image);
    await this.api.requireImage(image);
    const paths = this.store.paths(spec.instance_id);
    this.setState(t, { state: 'installing', reason: null });
    const name = `${containerName(spec.instance_id)}-install`;
    await this.api.remove(name);
    try {
      signal.throwIfAborted();
      const identity = await this.prepareData(spec);
      await this.api.call('POST', `/containers/create?name=${name}`, confineContainer(installContainerBody(spec, image, paths.data), spec, identity, this.pidsLimit));
      await this.api.call('POST', `/containers/${name}/start`, undefined, [304]);
      const waited = JSON.parse((await this.api.call('POST', `/containers/${name}/wait`, undefined, [], 30 * 60_000)).body.toString('utf8')) as { StatusCode?: number };
      const out = await this.api.call('GET', `/containers/${name}/logs?stdout=1&stderr=1`);
      writeFileSync(paths.install, demultiplexDockerStream(out.body).payload, { mode: 0o600 });
      if (waited.StatusCode !== 0) throw new DriverError('install_failed', `install script failed: exited with code ${waited.StatusCode ?? -1}`);
    } catch (err) {
      const reason = err instanceof DriverError && err.code === 'install_failed' ? err.message : `install script failed: ${(err as Error).message}`;
      this.setState(t, { state: 'failed', reason });
      throw new DriverError('install_failed', reason);
    } finally {
      await this.api.remove(name).catch(() => undefined);
    }
    this.setState(t, { state: 'stopped', reason: null, installed: true });
  }

  private async createContainer(t: Tracked): Promise<void> {
    const paths = this.store.paths(t.spec.instance_id);
    await this.api.requireImage(assertImageName(t.spec.image));
    const identity = await this.prepareData(t.spec);
    const body = withLogRotation(confineContainer(instanceContainerBody(t.spec, paths.data, this.options.bindAddress ?? '0.0.0.0'), t.spec, identity, this.pidsLimit), this.options.logRotation ?? DEFAULT_LOG_ROTATION);
    const res = await this.api.json<{ Id: string }>('POST', `/containers/create?name=${containerName(t.spec.instance_id)}`, body);
    t.stale = false;
    this.setState(t, { container_id: res.Id });
  }

  private get pidsLimit(): number {
    return this.options.pidsLimit ?? 512;
  }

  /** The instance's own uid/gid, and its root handed to it (files the agent wrote, uploads) so the non-root container can write there. */
  private async prepareData(spec: InstanceSpec): Promise<SandboxIdentity> {
    const identity = instanceIdentity(this.store, spec.instance_id, this.options.identity ?? DEFAULT_IDENTITY_OPTIONS);
    await giveDataTo(this.store.paths(spec.instance_id).data, identity);
    return identity;
  }

  private async recreate(t: Tracked): Promise<void> {
    await this.api.remove(containerName(t.spec.instance_id));
    await this.createContainer(t);
  }

  private async launch(t: Tracked): Promise<void> {
    const id = t.spec.instance_id;
    writeConfigFiles(this.store.paths(id).data, t.spec.config_files);
    const limit = t.spec.resources.disk_bytes;
    const used = limit === undefined ? 0 : directoryBytes(this.store.paths(id).data);
    if (limit !== undefined && used > limit) throw new DriverError('start_failed', `instance ${id} cannot start: its files use ${used} bytes, over its disk limit of ${limit} bytes`);
    if (t.stale || !(await this.api.inspect(containerName(id)))) await this.recreate(t);
    // Files written by the agent since (config files, uploads) belong to the instance's user too.
    else await this.prepareData(t.spec);
    t.stopRequested = false;
    try {
      await this.api.call('POST', `/containers/${containerName(id)}/start`, undefined, [304]);
    } catch (err) {
      this.setState(t, { state: 'failed', reason: (err as Error).message });
      throw new DriverError('start_failed', `instance ${id} did not start: ${(err as Error).message}`);
    }
    const info = await this.api.inspect(containerName(id));
    const ready = t.spec.ready_pattern !== undefined;
    this.setState(t, { state: ready ? 'starting' : 'running', desired: 'running', reason: null, exit_code: null, pid: info?.State.Pid ?? null, started_at: info?.State.StartedAt ?? new Date().toISOString() });
    this.ensureMonitor();
  }

  /** One poll over every tracked container: exits (then the restart policy), and ready patterns. */
  private async poll(): Promise<void> {
    for (const t of [...this.tracked.values()]) {
      if (t.state.pid === null) continue;
      const info = await this.api.inspect(containerName(t.spec.instance_id)).catch(() => undefined);
      if (info === undefined) continue;
      if (info && info.State.Running && info.State.StartedAt === t.state.started_at) {
        // A failed log read is retried on the next poll; it must not end the monitor.
        if (t.state.state === 'starting') await this.checkReady(t).catch(() => undefined);
        continue;
      }
      this.onExit(t, info);
    }
  }

  private async checkReady(t: Tracked): Promise<void> {
    const since = Math.floor(Date.parse(t.state.started_at ?? '') / 1000) || 0;
    const text = (await this.api.call('GET', `/containers/${containerName(t.spec.instance_id)}/logs?stdout=1&stderr=1&since=${since}`)).body.toString('utf8');
    const pattern = new RegExp(t.spec.ready_pattern ?? '');
    if (text.split(/\r?\n/).some((line) => pattern.test(line)) && t.state.state === 'starting') this.setState(t, { state: 'running' });
  }

  private onExit(t: Tracked, info: ContainerInspect | null): void {
    const code = info ? info.State.ExitCode : null;
    const reason = info?.State.OOMKilled ? 'killed by the kernel: out of memory' : info ? exitReason(code, signalOfExitCode(code)) : 'the container was removed';
    const base = { pid: null, exit_code: code };
    if (t.stopRequested) {
      t.stopRequested = false;
      this.setState(t, { ...base, state: 'stopped', desired: 'stopped', reason: code === 137 ? 'killed by SIGKILL' : 'stopped' });
      return;
    }
    const failed = code !== 0;
    const { policy, max_retries: maxRetries, backoff_seconds: backoff } = t.spec.restart;
    const wants = policy === 'always' || (policy === 'on-failure' && failed);
    const can = wants && t.state.restarts < maxRetries;
    this.setState(t, { ...base, state: failed ? 'crashed' : 'stopped', desired: can ? 'running' : 'stopped', reason: `${reason}${wants && !can ? `; restart limit of ${maxRetries} reached` : ''}` });
    if (!can) return;
    t.restartTimer = setTimeout(() => {
      t.restartTimer = null;
      t.state.restarts += 1;
      this.launch(t).catch((err: unknown) => this.setState(t, { state: 'failed', reason: `restart failed: ${(err as Error).message}` }));
    }, backoff * 1000);
  }

  private ensureMonitor(): void {
    if (this.monitor) return;
    let busy = false;
    this.monitor = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.poll().finally(() => (busy = false));
    }, MONITOR_MS);
    this.monitor.unref();
  }

  private status(t: Tracked): InstanceStatus {
    const s = t.state;
    return { instance_id: t.spec.instance_id, state: s.state, reason: s.reason, exit_code: s.exit_code, pid: s.pid, container_id: s.container_id, started_at: s.started_at, restarts: s.restarts };
  }

  private setState(t: Tracked, change: Partial<PersistedState>): void {
    const before = t.state.state;
    t.state = { ...t.state, ...change };
    if (t.state.reason !== null) t.state.reason = t.state.reason.slice(0, 1000);
    this.store.writeState(t.spec.instance_id, t.state);
    if (change.state !== undefined && (change.state !== before || change.reason !== undefined)) {
      const frame: InstanceStateFrame = { instance_id: t.spec.instance_id, state: t.state.state, reason: t.state.reason, exit_code: t.state.exit_code, ts: new Date().toISOString() };
      for (const l of this.listeners) l(frame);
    }
  }

  private async waitFor(_t: Tracked, done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  }

  /** Loads the docker instances of the state dir once; a container still running with the recorded start time is re-adopted as is. */
  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    for (const id of this.store.ids()) {
      let spec: InstanceSpec;
      try {
        spec = this.store.readSpec(id);
      } catch {
        continue;
      }
      if (spec.driver !== this.name) continue;
      const t: Tracked = { spec, state: this.store.readState(id), stopRequested: false, restartTimer: null, stale: false };
      this.tracked.set(id, t);
      const info = await this.api.inspect(containerName(id)).catch(() => undefined);
      if (info === undefined || t.state.pid === null) continue;
      if (info?.State.Running && info.State.StartedAt === t.state.started_at) this.ensureMonitor();
      else this.onExit(t, info);
    }
  }

  private async get(id: string): Promise<Tracked> {
    await this.load();
    const t = this.tracked.get(id);
    if (!t) throw new DriverError('instance_not_found', `instance ${id} does not exist on this host`);
    return t;
  }
}

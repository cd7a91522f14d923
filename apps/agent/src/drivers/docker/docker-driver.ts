import type { InstanceSpec, InstanceStats, InstanceStatus } from '@hostplane/protocol';
import { InstanceStore, isActiveState, writeConfigFiles } from '../../instances/instance-store';
import { tailLines } from '../../instances/log-files';
import type { LogHistory, LogRange, LogsCleared } from '../../instances/log-history';
import { InstanceSupervisor, OutputObserver } from '../../supervision/instance-supervisor';
import { clearDockerLogs, dockerLogHistory } from './docker-log-history';
import { dockerEngineGet } from '../docker-engine';
import {
  ConsoleHandle,
  CreateContext,
  DriverError,
  InstanceDriver,
  InstanceSummary,
  LogFollower,
  StateListener,
  UpdateContext,
} from '../driver';
import { assertImageName, containerName, ContainerInspect, DockerApi } from './docker-api';
import { ContainerEventStream, InstanceContainerEvent } from './container-events';
import {
  attachContainer,
  containerExit,
  containerStats,
  followOutput,
  isRecordedRun,
  openContainerConsole,
} from './container-io';
import { ContainerSetup, ContainerSetupOptions } from './container-setup';
import { directoryBytes } from '../../sandbox/disk-usage';
import { streamHandle } from './stream-handle';

const START_WAIT_MS = 10 * 60_000;

interface Tracked {
  supervisor: InstanceSupervisor;
  /** The spec changed while running: recreate the container at the next start. */
  stale: boolean;
  /** When this agent last asked the engine to start the container (same host clock as the engine). */
  startRequestedAt?: number;
}

/**
 * Containers through the Docker Engine API (dockerode). Exits come from the engine's event
 * stream and ready patterns from a followed log stream, so nothing polls; the shared supervisor
 * (not Docker) applies the restart policy.
 */
export class DockerDriver implements InstanceDriver {
  readonly name = 'docker' as const;
  private readonly api: DockerApi;
  private readonly setup: ContainerSetup;
  private readonly tracked = new Map<string, Tracked>();
  private readonly listeners: StateListener[] = [];
  private readonly events: ContainerEventStream;
  private loaded = false;
  private availability: { at: number; problem: string | null } | null = null;

  constructor(
    private readonly store: InstanceStore,
    socketPath: string,
    options: ContainerSetupOptions = {},
  ) {
    this.api = new DockerApi(socketPath);
    this.setup = new ContainerSetup(this.api, store, options);
    this.events = new ContainerEventStream(
      this.api.docker,
      (e) => void this.onContainerEvent(e),
      () => void this.resync(),
    );
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
    await this.setup.pull(image, ctx);
    let t = this.tracked.get(spec.instance_id);
    if (!t) {
      this.store.prepare(spec.instance_id);
      this.store.writeSpec(spec);
      t = this.track(spec);
      this.store.writeState(spec.instance_id, t.supervisor.state);
    }
    ctx.progress(70, 'instance directory ready');
    if (spec.install && !t.supervisor.state.installed) await this.install(t, ctx);
    if (!(await this.api.inspect(containerName(spec.instance_id)))) await this.recreate(t);
    ctx.progress(100, 'created');
    return this.status(t);
  }

  async update(spec: InstanceSpec, ctx?: UpdateContext): Promise<InstanceStatus> {
    const t = await this.get(spec.instance_id);
    const image = assertImageName(spec.image);
    await this.setup.pull(image, { progress: ctx?.progress ?? (() => undefined), registryAuth: ctx?.registryAuth });
    this.store.writeSpec(spec);
    t.supervisor.spec = spec;
    t.stale = true;
    if (!isActiveState(t.supervisor.state.state)) await this.recreate(t);
    return this.status(t);
  }

  async start(id: string): Promise<InstanceStatus> {
    const t = await this.get(id);
    if (t.supervisor.state.state === 'installing')
      throw new DriverError('instance_busy', `instance ${id} is still installing`);
    const current = await this.api.inspect(containerName(id));
    if (!current?.State.Running) {
      t.supervisor.freshStart();
      await this.launch(t);
    }
    await t.supervisor.waitForState((s) => s !== 'starting', START_WAIT_MS);
    if (t.supervisor.state.state !== 'running')
      throw new DriverError(
        'start_failed',
        `instance ${id} did not start: ${t.supervisor.state.reason ?? 'it exited'}`,
      );
    return this.status(t);
  }

  async stop(id: string, graceSeconds?: number): Promise<InstanceStatus> {
    const t = await this.get(id);
    const sup = t.supervisor;
    sup.cancelRestart();
    const name = containerName(id);
    const current = await this.api.inspect(name);
    if (!current?.State.Running) {
      if (sup.state.state !== 'stopped' && sup.state.state !== 'failed')
        sup.setState({ state: 'stopped', desired: 'stopped', pid: null });
      return this.status(t);
    }
    const grace = graceSeconds ?? sup.spec.stop.grace_seconds;
    sup.beginStop();
    if (sup.spec.stop.type === 'command') {
      const socket = await attachContainer(this.api, name, false);
      socket.write(`${sup.spec.stop.value}\n`);
      setTimeout(() => socket.destroy(), 500);
    } else {
      await this.signal(name, sup.spec.stop.value);
    }
    if (!(await sup.waitForExit(grace * 1000))) {
      await this.signal(name, 'SIGKILL');
      await sup.waitForExit(15_000);
    }
    return this.status(t);
  }

  async kill(id: string, signal: NodeJS.Signals): Promise<InstanceStatus> {
    const t = await this.get(id);
    if (!(await this.api.inspect(containerName(id)))?.State.Running) return this.status(t);
    t.supervisor.killRequested(signal);
    await this.signal(containerName(id), signal);
    if (signal === 'SIGKILL') await t.supervisor.waitForExit(15_000);
    return this.status(t);
  }

  async remove(id: string): Promise<boolean> {
    await this.load();
    const t = this.tracked.get(id);
    t?.supervisor.release();
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
    return containerStats(this.api, t.supervisor, directoryBytes(this.store.paths(id).data));
  }

  async logs(id: string, lines: number, source: 'output' | 'install'): Promise<string[]> {
    await this.get(id);
    if (source === 'install') return tailLines(this.store.paths(id).install, lines);
    const text = await this.api.logs(containerName(id), lines, true);
    return text
      .replace(/\r\n/g, '\n')
      .split('\n')
      .filter((l, i, all) => l !== '' || i < all.length - 1);
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
    if (t.supervisor.state.pid === null)
      throw new DriverError('start_failed', `instance ${id} is not running; start it to use its console`);
    return openContainerConsole(this.api, id);
  }

  async followLogs(id: string, tail: number): Promise<LogFollower> {
    await this.get(id);
    const stream = await followOutput(this.api, containerName(id), { tail });
    return streamHandle(stream, null, () => stream.destroy());
  }

  async list(): Promise<InstanceSummary[]> {
    await this.load();
    return [...this.tracked.values()].map((t) => ({ instance_id: t.supervisor.id, state: t.supervisor.state.state }));
  }

  close(): Promise<void> {
    this.events.close();
    for (const t of this.tracked.values()) t.supervisor.release();
    this.tracked.clear();
    this.loaded = false;
    return Promise.resolve();
  }

  private async install(t: Tracked, ctx: CreateContext): Promise<void> {
    const spec = t.supervisor.spec;
    const image = assertImageName(spec.install?.image ?? spec.image);
    await this.setup.pull(image, ctx);
    t.supervisor.setState({ state: 'installing', reason: null });
    try {
      await this.setup.runInstall(spec, image, ctx.signal);
    } catch (err) {
      t.supervisor.setState({ state: 'failed', reason: (err as Error).message });
      throw err;
    }
    t.supervisor.setState({ state: 'stopped', reason: null, installed: true });
  }

  /** (Re)creates the instance's container from its current spec. */
  private async recreate(t: Tracked): Promise<void> {
    const containerId = await this.setup.createInstanceContainer(t.supervisor.spec);
    t.stale = false;
    t.supervisor.setState({ container_id: containerId });
  }

  private async launch(t: Tracked): Promise<void> {
    const spec = t.supervisor.spec;
    const id = spec.instance_id;
    writeConfigFiles(this.store.paths(id).data, spec.config_files);
    const limit = spec.resources.disk_bytes;
    const used = limit === undefined ? 0 : directoryBytes(this.store.paths(id).data);
    if (limit !== undefined && used > limit)
      throw new DriverError(
        'start_failed',
        `instance ${id} cannot start: its files use ${used} bytes, over its disk limit of ${limit} bytes`,
      );
    if (t.stale || !(await this.api.inspect(containerName(id)))) await this.recreate(t);
    // Files written by the agent since (config files, uploads) belong to the instance's user too.
    else await this.setup.prepareData(spec);
    // Listening before the start: an exit right after it is an event we must hear.
    await this.events.ensureConnected();
    t.startRequestedAt = Date.now();
    try {
      await this.api.engine(`start ${id}`, () => this.api.docker.getContainer(containerName(id)).start(), [304]);
    } catch (err) {
      t.supervisor.setState({ state: 'failed', reason: (err as Error).message });
      throw new DriverError('start_failed', `instance ${id} did not start: ${(err as Error).message}`);
    }
    const info = await this.api.inspect(containerName(id));
    // Exited already (its `die` event may come before this answer): the supervisor hears it as an exit.
    t.supervisor.launched({
      pid: info?.State.Pid || null,
      container_id: info?.Id,
      started_at: info?.State.StartedAt ?? new Date().toISOString(),
    });
    if (!info?.State.Running) this.onExit(t, info);
  }

  /**
   * The run's output from its start, for the ready pattern (the engine stamps lines, so `since` cuts
   * per line). From the start request, not the engine's StartedAt: the engine records StartedAt
   * after the process runs, so a fast first line can be stamped before it and would be missed.
   */
  private async observeOutput(t: Tracked): Promise<OutputObserver> {
    const started = t.startRequestedAt ?? (Date.parse(t.supervisor.state.started_at ?? '') || Date.now());
    const since = (started / 1000 - 0.001).toFixed(3);
    const stream = await followOutput(this.api, containerName(t.supervisor.id), { since });
    return { onData: (l) => stream.on('data', l), close: () => stream.destroy() };
  }

  /** An engine event about one of our containers: only exits and removals change what we know. */
  private async onContainerEvent(event: InstanceContainerEvent): Promise<void> {
    if (event.action !== 'die' && event.action !== 'destroy') return;
    const t = this.tracked.get(event.instanceId);
    if (!t || t.supervisor.state.pid === null) return;
    await this.reconcile(t);
  }

  /** Compares one tracked run with the engine's view: a container not running the recorded run has exited. */
  private async reconcile(t: Tracked): Promise<void> {
    const info = await this.api.inspect(containerName(t.supervisor.id)).catch(() => undefined);
    if (info === undefined || t.supervisor.state.pid === null) return;
    if (!isRecordedRun(info, t.supervisor.state.started_at)) this.onExit(t, info);
  }

  /** After the event stream came back (dockerd restarted): what ran may have ended meanwhile. */
  private async resync(): Promise<void> {
    for (const t of [...this.tracked.values()]) if (t.supervisor.state.pid !== null) await this.reconcile(t);
  }

  private onExit(t: Tracked, info: ContainerInspect | null): void {
    if (t.supervisor.state.pid === null && info !== null && !isActiveState(t.supervisor.state.state)) return;
    t.supervisor.exited(containerExit(info));
  }

  private async signal(name: string, signal: string): Promise<void> {
    await this.api.engine(`kill ${name}`, () => this.api.docker.getContainer(name).kill({ signal }), [404, 409]);
  }

  private status(t: Tracked): InstanceStatus {
    return t.supervisor.status();
  }

  private track(spec: InstanceSpec): Tracked {
    const t: Tracked = {
      stale: false,
      supervisor: new InstanceSupervisor(
        this.store,
        spec,
        (frame) => {
          for (const l of this.listeners) l(frame);
        },
        { launch: () => this.launch(t), observeOutput: () => this.observeOutput(t) },
      ),
    };
    this.tracked.set(spec.instance_id, t);
    return t;
  }

  /**
   * Loads the docker instances of the state dir once; a container still running with the recorded start time is
   * re-adopted as is.
   */
  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    await this.events.ensureConnected().catch(() => undefined);
    for (const spec of this.store.specsOf(this.name)) {
      const id = spec.instance_id;
      const t = this.track(spec);
      const info = await this.api.inspect(containerName(id)).catch(() => undefined);
      if (info === undefined || t.supervisor.state.pid === null) continue;
      if (isRecordedRun(info, t.supervisor.state.started_at)) {
        if (t.supervisor.state.state === 'starting') t.supervisor.watchReady();
      } else this.onExit(t, info);
    }
  }

  private async get(id: string): Promise<Tracked> {
    await this.load();
    const t = this.tracked.get(id);
    if (!t) throw new DriverError('instance_not_found', `instance ${id} does not exist on this host`);
    return t;
  }
}

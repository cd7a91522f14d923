import { join } from 'node:path';
import os from 'node:os';
import { Hello, isJobKind, JOB_KINDS, JobAck, PROTOCOL_VERSION, STREAM_KINDS } from '@hostplane/protocol';
import type { AgentConfig } from '../config/agent-config';
import { ensureStateDir, lockStateDir } from '../config/state-dir';
import { ContainerControl } from '../containers/container-control';
import { detectDrivers } from '../drivers/detect';
import { ZoneConsoles } from '../drivers/zone/zone-consoles';
import { parallelsDriverOptions } from '../drivers/parallels/parallels-settings';
import { MachineEventFollower, MachineEventRelay } from '../parallels/machine-events';
import { MachineGuest } from '../drivers/parallels/machine-guest';
import { zoneDriverOptions } from '../drivers/zone/zone-settings';
import { createFileServices, FileServices } from '../transfers/file-services';
import { collectInventory } from '../inventory/collect-inventory';
import { ParallelsInventoryCollector } from '../parallels/prl-host-views';
import { createInstanceManager } from '../drivers/create-instance-manager';
import type { InstanceManager } from '../instances/instance-manager';
import { InstanceMetricsReporter } from '../instances/instance-metrics-reporter';
import type { Welcome } from '@hostplane/protocol';
import { InstanceStateRelay } from '../instances/state-relay';
import { IllumosInventoryCollector } from '../inventory/illumos';
import { InventoryReporter } from '../inventory/inventory-reporter';
import { MetricsSampler } from '../inventory/metrics';
import { hostOsName } from '../inventory/system';
import { assertHandlersMatchJobKinds } from '../jobs/handler-registry';
import { createJobHandlers } from '../jobs/job-handlers';
import { JobJournal } from '../jobs/journal';
import { JobService } from '../jobs/job-service';
import type { AgentLogger } from '../logging/logger';
import { StreamManager } from '../streams/stream-manager';
import { runTunnel, TunnelExit } from '../tunnel/connection-loop';
import { SessionHooks } from '../tunnel/hub-connection';
import { HubSession } from '../tunnel/hub-session';
import { AGENT_VERSION } from '../version';
import { ReverseProxy } from '../reverse-proxy/reverse-proxy';
import { VmAddressBook } from '../reverse-proxy/vm-addresses';

export interface AgentRuntimeOptions {
  config: AgentConfig;
  hubUrl: string;
  token: string;
  log: AgentLogger;
  stop: AbortSignal;
}

/** What this agent can do, announced in hello so the hub sends only what it understands. */
export const AGENT_CAPABILITIES: readonly string[] = [
  ...Object.keys(JOB_KINDS).map((k) => `job:${k}`),
  ...Object.keys(STREAM_KINDS).map((k) => `stream:${k}`),
  'inventory',
  'metrics',
];

/** The `run` command: journal, job service, inventory and streams behind a tunnel that reconnects forever. */
export async function runAgent(options: AgentRuntimeOptions): Promise<TunnelExit> {
  const { config, log } = options;
  const zone = zoneDriverOptions(config.zone);
  const illumosInventory = zone ? new IllumosInventoryCollector(zone.exec) : null;
  const parallels = parallelsDriverOptions(config.parallels);
  const parallelsInventory = parallels ? new ParallelsInventoryCollector(parallels.host) : null;
  const inventory = new InventoryReporter(
    () =>
      collectInventory({
        dockerSocket: config.docker.socketPath,
        log,
        stateDir: config.stateDir,
        illumos: illumosInventory,
        parallels: parallelsInventory ? () => parallelsInventory.collect() : null,
      }),
    config.inventory.checkIntervalMs,
    log,
    config.inventory.volatileMaxAgeMs,
  );
  const instances = createInstanceManager({
    zone,
    parallels,
    stateDir: config.stateDir,
    dockerSocket: config.docker.socketPath,
    sandbox: {
      pidsLimit: config.sandbox.pidsLimit,
      identity: {
        uidBase: config.sandbox.uidBase,
        uidCount: 65_536,
        ...(config.sandbox.user ? { fixed: config.sandbox.user } : {}),
      },
      logRotation: { maxBytes: config.logs.maxBytes, keep: config.logs.keep, checkMs: config.logs.rotateCheckMs },
    },
  });
  const files = createFileServices(config.stateDir, instances.store);
  const reverseProxy = new ReverseProxy(
    config.stateDir,
    new VmAddressBook({ list: parallels ? () => parallels.host.machines() : null }),
    log,
  );
  const containers = new ContainerControl(config.docker.socketPath);
  const zones = zone ? new ZoneConsoles(zone.exec) : undefined;
  const machines = parallels ? new MachineGuest(parallels.host, join(config.stateDir, 'machine-uploads')) : undefined;
  const handlers = createJobHandlers({
    stateDir: config.stateDir,
    refreshInventory: () => inventory.refresh(),
    instances,
    files,
    containers,
    illumos: zone?.exec ?? null,
    hostChanged: () => {
      illumosInventory?.invalidate();
      inventory.refreshSoon();
    },
    parallels: parallels?.host ?? null,
    reverseProxy,
  });
  assertHandlersMatchJobKinds(handlers);

  ensureStateDir(config.stateDir);
  const lock = lockStateDir(config.stateDir);
  const relay = new InstanceStateRelay();
  instances.onState((frame) => relay.push(frame));
  const machineEvents = new MachineEventRelay();
  const machineFollower = parallels
    ? new MachineEventFollower(
        parallels.host,
        (frame) => {
          machineEvents.push(frame);
          // A VM started, stopped, added or removed changes the resources the hub places by.
          inventory.refreshSoon();
        },
        log,
      )
    : null;
  if (machineFollower) machineFollower.onVmEvent = (vmId) => reverseProxy.book.changed(vmId);
  machineFollower?.start();
  // Re-adopts instances that kept running while the agent was away, before the hub asks about them.
  const adopted = await instances.list();
  log.info(
    { instances: adopted.length, running: adopted.filter((i) => i.state === 'running').length },
    'instances loaded',
  );
  await reverseProxy
    .restore()
    .catch((err: Error) => log.warn({ err: err.message }, 'the saved reverse-proxy configuration could not be served'));
  const journal = await JobJournal.open(config.stateDir, { retentionDays: config.journal.retentionDays });
  const { records, skipped, tornTail } = journal.loadReport;
  if (skipped > 0 || tornTail)
    log.warn({ records, skipped, torn_tail: tornTail }, 'job journal had damaged records; they were dropped');
  log.info({ state_dir: config.stateDir, ...journal.counts() }, 'job journal open');

  const jobs = new JobService({
    journal,
    handlers,
    maxConcurrentJobs: config.maxConcurrentJobs,
    maxQueuedJobs: config.maxQueuedJobs,
    log,
  });
  const metrics = new MetricsSampler();
  const instanceMetrics = new InstanceMetricsReporter(instances, log);

  const hooks: SessionHooks = {
    buildHello: async (): Promise<Hello> => ({
      protocol_version: PROTOCOL_VERSION,
      agent_version: AGENT_VERSION,
      hostname: os.hostname().slice(0, 255),
      os: hostOsName(),
      arch: process.arch,
      drivers: await detectDrivers({
        dockerSocket: config.docker.socketPath,
        stateDir: config.stateDir,
        zone,
        parallels,
      }),
      capabilities: [...AGENT_CAPABILITIES],
      max_concurrent_jobs: config.maxConcurrentJobs,
      running_jobs: jobs.activeJobIds().slice(0, 1000),
      instances: (await instances.list()).slice(0, 10_000),
    }),
    heartbeatBody: async () => {
      // Each heartbeat also retries results the hub has not acknowledged while connected.
      jobs.retryUndelivered();
      return { metrics: await metrics.sample(), running_jobs: jobs.activeJobIds().slice(0, 1000) };
    },
    openSession: (session) =>
      wireSession(session, {
        jobs,
        inventory,
        instances,
        files,
        containers,
        zones,
        machines,
        relay,
        machineEvents,
        instanceMetrics,
        config,
        log,
      }),
  };

  try {
    return await runTunnel({
      target: { hubUrl: options.hubUrl, token: options.token, agentVersion: AGENT_VERSION },
      hooks,
      log,
      backoff: config.reconnect,
      timeouts: { connectTimeoutMs: 20_000, helloTimeoutMs: 15_000, ackTimeoutMs: 30_000 },
      stop: options.stop,
    });
  } finally {
    machineFollower?.close();
    await reverseProxy.close().catch((err: unknown) => log.error({ err }, 'closing the reverse proxy failed'));
    await instances.close().catch((err: unknown) => log.error({ err }, 'releasing instances failed'));
    await journal.close().catch((err: unknown) => log.error({ err }, 'closing the job journal failed'));
    lock.release();
  }
}

interface SessionDeps {
  jobs: JobService;
  inventory: InventoryReporter;
  instances: InstanceManager;
  files: FileServices;
  containers: ContainerControl;
  zones: ZoneConsoles | undefined;
  machines: MachineGuest | undefined;
  relay: InstanceStateRelay;
  machineEvents: MachineEventRelay;
  instanceMetrics: InstanceMetricsReporter;
  config: AgentConfig;
  log: AgentLogger;
}

function wireSession(session: HubSession, deps: SessionDeps) {
  const { jobs, inventory, relay, log } = deps;
  const streams = new StreamManager(session, {
    shell: deps.config.terminal.shell,
    log,
    instances: deps.instances,
    transfers: deps.files.transfers,
    containers: deps.containers,
    zones: deps.zones,
    machines: deps.machines,
  });

  session.onJob((frame, reply) => jobs.receive(frame, reply), rejectUnknownKind);
  session.on('job:cancel', (frame) => jobs.cancel(frame.job_id));
  session.onStreamOpen((frame) => streams.open(frame));
  session.on('stream:data', (frame) => {
    const problem = streams.data(frame);
    if (problem) session.sendError(problem);
  });
  session.on('stream:credit', (frame) => streams.credit(frame));
  session.on('stream:control', (frame) => {
    const problem = streams.control(frame);
    if (problem) session.sendError(problem);
  });
  session.on('stream:close', (frame) => streams.close(frame));
  session.on('error', (frame) =>
    log.warn({ code: frame.code, event: frame.event, problem: frame.message }, 'the hub reported a protocol error'),
  );

  return {
    onWelcome: (welcome: Pick<Welcome, 'heartbeat_interval_ms'>) => {
      jobs.attach(session);
      inventory.attach(session);
      relay.attach(session);
      deps.machineEvents.attach(session);
      // Instance samples go at the pace of the heartbeats that carry the node's own metrics.
      deps.instanceMetrics.attach(session, welcome.heartbeat_interval_ms);
    },
    onClose: () => {
      relay.detach(session);
      deps.machineEvents.detach(session);
      deps.instanceMetrics.detach();
      jobs.detach(session);
      inventory.detach();
      streams.closeAll('the tunnel to the hub closed');
    },
  };
}

/** A kind this agent does not know deserves a clearer answer than "invalid frame". */
function rejectUnknownKind(raw: unknown): JobAck | null {
  if (raw === null || typeof raw !== 'object') return null;
  const kind = (raw as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || isJobKind(kind)) return null;
  const known = Object.keys(JOB_KINDS).join(', ');
  return {
    status: 'rejected',
    error: {
      code: 'unknown_kind',
      message: `this agent (${AGENT_VERSION}) has no job kind "${kind.slice(0, 100)}"; it runs: ${known}`,
    },
  };
}

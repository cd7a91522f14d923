import { z } from 'zod';
import { backupInfo, CONTAINER_ACTIONS, containerRef, fileEntry, instanceFilePath, transferId } from './files';
import { instanceId, instanceSpec, instanceStats, instanceStatus, registryAuth } from './instances';
import { proxyHostStatus, reverseProxyConfig } from './reverse-proxy';

const signal = z.enum(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']);

export interface JobKindSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  description: string;
  payload: P;
  result: R;
  /** The resource the job acts on: jobs on the same resource run one at a time, in order. */
  resource: (payload: z.infer<P>) => string | null;
  /** Whether a running job of this kind can be asked to stop. */
  cancellable: boolean;
}

function kind<P extends z.ZodType, R extends z.ZodType>(spec: JobKindSpec<P, R>): JobKindSpec<P, R> {
  return spec;
}

/**
 * Every job the hub can send to an agent. The agent checks at start that each kind has exactly
 * one handler; adding a kind here without a handler fails that check.
 */
export const JOB_KINDS = {
  'agent.selftest': kind({
    description:
      "Append a line to the agent's self-test log after an optional delay, reporting progress: proves the job pipeline end to end",
    payload: z.object({
      marker: z
        .string()
        .min(1)
        .max(200)
        .regex(/^[^\n\r]*$/, { message: 'must be a single line' }),
      delay_ms: z.number().int().min(0).max(600_000).default(0),
      steps: z.number().int().min(1).max(100).default(1),
      resource: z
        .string()
        .regex(/^[A-Za-z0-9_.:-]{1,128}$/)
        .optional(),
      fail_with: z.string().max(200).optional(),
    }),
    result: z.object({ line: z.string(), file: z.string() }),
    resource: (p) => (p.resource ? `selftest:${p.resource}` : null),
    cancellable: true,
  }),
  'node.process.kill': kind({
    description: 'Send a signal to a process on the host',
    payload: z.object({ pid: z.number().int().min(2), signal: signal.default('SIGTERM') }),
    result: z.object({ pid: z.number().int(), signal, delivered: z.boolean() }),
    resource: (p) => `process:${p.pid}`,
    cancellable: false,
  }),
  'node.inventory.refresh': kind({
    description: 'Collect and send the host inventory now',
    payload: z.object({}),
    result: z.object({ collected_at: z.string() }),
    resource: () => 'node:inventory',
    cancellable: false,
  }),
  'instance.create': kind({
    description: 'Create the instance on the host: its directory or container, config files, then the install script',
    payload: z.object({
      spec: instanceSpec,
      registry_auth: registryAuth.optional(),
      /**
       * The instance's data follows in an `instance.backup.restore` (a migration's target): a driver
       * may leave out what the restore brings (a zone is configured, not installed, and attached after
       * its datasets are received).
       */
      restore_follows: z.boolean().optional(),
    }),
    result: instanceStatus,
    resource: (p) => `instance:${p.spec.instance_id}`,
    cancellable: false,
  }),
  'instance.update': kind({
    description: 'Apply a changed spec (env, ports, resources, files); takes effect at the next start',
    payload: z.object({ spec: instanceSpec, registry_auth: registryAuth.optional() }),
    result: instanceStatus,
    resource: (p) => `instance:${p.spec.instance_id}`,
    cancellable: false,
  }),
  'instance.start': kind({
    description: 'Start the instance and wait until it runs (or its ready pattern appears)',
    payload: z.object({ instance_id: instanceId }),
    result: instanceStatus,
    resource: (p) => `instance:${p.instance_id}`,
    cancellable: false,
  }),
  'instance.stop': kind({
    description: 'Stop with the configured signal or console command, then SIGKILL after the grace period',
    payload: z.object({ instance_id: instanceId, grace_seconds: z.number().int().min(0).max(3600).optional() }),
    result: instanceStatus,
    resource: (p) => `instance:${p.instance_id}`,
    cancellable: false,
  }),
  'instance.restart': kind({
    description: 'Stop, then start',
    payload: z.object({ instance_id: instanceId }),
    result: instanceStatus,
    resource: (p) => `instance:${p.instance_id}`,
    cancellable: false,
  }),
  'instance.kill': kind({
    description: 'Send a signal now (default SIGKILL)',
    payload: z.object({ instance_id: instanceId, signal: signal.default('SIGKILL') }),
    result: instanceStatus,
    resource: (p) => `instance:${p.instance_id}`,
    cancellable: false,
  }),
  'instance.delete': kind({
    description: 'Stop the instance and remove it with its data from the host',
    payload: z.object({ instance_id: instanceId }),
    result: z.object({ instance_id: instanceId, deleted: z.boolean() }),
    resource: (p) => `instance:${p.instance_id}`,
    cancellable: false,
  }),
  'instance.inspect': kind({
    description: "Report the instance's state as the host sees it",
    payload: z.object({ instance_id: instanceId }),
    result: instanceStatus,
    resource: () => null,
    cancellable: false,
  }),
  'instance.stats': kind({
    description: 'CPU, memory, disk and network of the instance now',
    payload: z.object({ instance_id: instanceId }),
    result: instanceStats,
    resource: () => null,
    cancellable: false,
  }),
  'instance.logs': kind({
    description: "The last lines of the instance's output (or of its install script)",
    payload: z.object({
      instance_id: instanceId,
      lines: z.number().int().min(1).max(10_000).default(200),
      source: z.enum(['output', 'install']).default('output'),
    }),
    result: z.object({ instance_id: instanceId, lines: z.array(z.string()) }),
    resource: () => null,
    cancellable: false,
  }),
  'instance.files.list': kind({
    description: 'List a directory of the instance root (entries sorted: directories first, then by name)',
    payload: z.object({ instance_id: instanceId, path: instanceFilePath.default('.') }),
    result: z.object({ path: z.string(), entries: z.array(fileEntry), truncated: z.boolean() }),
    resource: () => null,
    cancellable: false,
  }),
  'instance.files.stat': kind({
    description: 'Describe one path of the instance root',
    payload: z.object({ instance_id: instanceId, path: instanceFilePath }),
    result: fileEntry,
    resource: () => null,
    cancellable: false,
  }),
  'instance.files.delete': kind({
    description: 'Delete files and directories (recursively) of the instance root',
    payload: z.object({ instance_id: instanceId, paths: z.array(instanceFilePath).min(1).max(100) }),
    result: z.object({ deleted: z.array(z.string()), missing: z.array(z.string()) }),
    resource: (p) => `files:${p.instance_id}`,
    cancellable: false,
  }),
  'instance.logs.clear': kind({
    description:
      "Remove the instance's output log history on the host (rotated files removed, the current one truncated)",
    payload: z.object({ instance_id: instanceId }),
    result: z.object({
      instance_id: instanceId,
      files_removed: z.number().int().min(0),
      bytes_removed: z.number().int().min(0),
    }),
    resource: (p) => `instance:${p.instance_id}`,
    cancellable: false,
  }),
  'instance.files.mkdir': kind({
    description: 'Create a directory (and missing parents) in the instance root',
    payload: z.object({ instance_id: instanceId, path: instanceFilePath }),
    result: fileEntry,
    resource: (p) => `files:${p.instance_id}`,
    cancellable: false,
  }),
  'instance.files.move': kind({
    description: 'Move or rename paths inside the instance root; an existing target is refused unless overwrite',
    payload: z.object({
      instance_id: instanceId,
      moves: z
        .array(z.object({ from: instanceFilePath, to: instanceFilePath }))
        .min(1)
        .max(100),
      overwrite: z.boolean().default(false),
    }),
    result: z.object({ moved: z.array(z.object({ from: z.string(), to: z.string() })) }),
    resource: (p) => `files:${p.instance_id}`,
    cancellable: false,
  }),
  'instance.files.commit-upload': kind({
    description: 'Move a completed staged upload (written through a file.write stream with an upload_id) to its path',
    payload: z.object({
      instance_id: instanceId,
      upload_id: transferId,
      path: instanceFilePath,
      overwrite: z.boolean().default(true),
    }),
    result: fileEntry,
    resource: (p) => `files:${p.instance_id}`,
    cancellable: false,
  }),
  'instance.files.abort-upload': kind({
    description: 'Remove a staged upload that will not be completed',
    payload: z.object({ instance_id: instanceId, upload_id: transferId }),
    result: z.object({ removed: z.boolean() }),
    resource: () => null,
    cancellable: false,
  }),
  'instance.backup.create': kind({
    description: 'Archive the instance root into a .tar.gz on the host and report its size and SHA-256',
    payload: z.object({
      instance_id: instanceId,
      backup_id: transferId,
      ignore: z.array(z.string().min(1).max(512)).max(100).default([]),
    }),
    result: backupInfo,
    resource: (p) => `instance:${p.instance_id}`,
    cancellable: true,
  }),
  'instance.backup.restore': kind({
    description: 'Replace the instance root with a backup stored on the host; the instance must be stopped',
    payload: z.object({
      instance_id: instanceId,
      backup_id: transferId,
      sha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .optional(),
      truncate: z.boolean().default(true),
    }),
    result: z.object({ instance_id: instanceId, backup_id: transferId, file_count: z.number().int().min(0) }),
    resource: (p) => `instance:${p.instance_id}`,
    cancellable: false,
  }),
  'instance.backup.delete': kind({
    description: 'Remove a backup archive from the host',
    payload: z.object({ instance_id: instanceId, backup_id: transferId }),
    result: z.object({ backup_id: transferId, deleted: z.boolean() }),
    resource: (p) => `backup:${p.backup_id}`,
    cancellable: false,
  }),
  'node.container.action': kind({
    description: 'Start, stop, restart or kill a Docker container on the host',
    payload: z.object({
      container_id: containerRef,
      action: z.enum(CONTAINER_ACTIONS),
      signal: signal.optional(),
      timeout_seconds: z.number().int().min(0).max(3600).optional(),
    }),
    result: z.object({ container_id: z.string(), name: z.string(), state: z.string(), running: z.boolean() }),
    resource: (p) => `container:${p.container_id}`,
    cancellable: false,
  }),
  'node.container.logs': kind({
    description: "The last lines of a Docker container's output",
    payload: z.object({
      container_id: containerRef,
      lines: z.number().int().min(1).max(10_000).default(200),
      timestamps: z.boolean().default(false),
    }),
    result: z.object({ container_id: z.string(), lines: z.array(z.string()) }),
    resource: () => null,
    cancellable: false,
  }),
  'host.operation': kind({
    description:
      'Run one host operation by name: illumos zones, boot environments, network, storage, system (docs/api/zones.md) or Parallels machines (docs/api/machines.md); its parameters checked on the agent before any command',
    payload: z.object({
      operation: z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*){1,3}$/, {
        message: 'an operation name such as storage.datasets.create',
      }),
      params: z.record(z.string().max(64), z.unknown()).default({}),
    }),
    result: z.object({ operation: z.string(), data: z.unknown() }),
    // Operations of one group (storage.datasets, network.vnics, …) on a host run one at a time, in order;
    // machine operations one at a time per VM (a start and a stop of one VM never overtake each other).
    resource: (p) =>
      p.operation.startsWith('machines.') && typeof p.params.vm === 'string'
        ? `machine:${p.params.vm.replace(/^\{|\}$/g, '')}`
        : `host:${p.operation.split('.').slice(0, 2).join('.')}`,
    cancellable: false,
  }),
  'reverse_proxy.apply': kind({
    description:
      "Serve the node's full desired reverse-proxy configuration (docs/api/machines.md, Reverse proxy): hosts not named are closed; fails naming each listener that could not open",
    payload: reverseProxyConfig,
    result: z.object({ hosts: z.array(proxyHostStatus) }),
    // One apply at a time per node, in order: the last one queued is what the node serves.
    resource: () => 'node:reverse-proxy',
    cancellable: false,
  }),
} satisfies Record<string, JobKindSpec>;

export type JobKind = keyof typeof JOB_KINDS;
export type JobPayload<K extends JobKind> = z.infer<(typeof JOB_KINDS)[K]['payload']>;
export type JobPayloadInput<K extends JobKind> = z.input<(typeof JOB_KINDS)[K]['payload']>;
export type JobResult<K extends JobKind> = z.infer<(typeof JOB_KINDS)[K]['result']>;
/** `{ kind, payload }` for one kind; the union over all kinds is what `enqueue` accepts. */
export type JobOf<K extends JobKind> = { kind: K; payload: JobPayloadInput<K> };
export type AnyJob = { [K in JobKind]: JobOf<K> }[JobKind];

export const jobKindName = z.enum(Object.keys(JOB_KINDS) as [JobKind, ...JobKind[]]);

export function isJobKind(k: string): k is JobKind {
  return Object.prototype.hasOwnProperty.call(JOB_KINDS, k);
}

export const jobError = z.object({ code: z.string().min(1).max(64), message: z.string().max(4000) });
export type JobError = z.infer<typeof jobError>;

/** What the hub sends; `job_id` is the operation id and the idempotency key. */
export const jobEnvelope = z.object({
  job_id: z.uuid(),
  kind: jobKindName,
  payload: z.unknown(),
  resource: z.string().nullable(),
  attempt: z.number().int().min(1),
  deadline_at: z.iso.datetime().nullable(),
  created_at: z.iso.datetime(),
});
export type JobEnvelope = z.infer<typeof jobEnvelope>;

/** The agent's answer to a `job` frame, sent once the job id is durably in its journal. */
export const jobAck = z.discriminatedUnion('status', [
  z.object({ status: z.literal('accepted') }),
  /** Already running from an earlier delivery: the result will follow. */
  z.object({ status: z.literal('running') }),
  /** Already finished: here is the recorded outcome again. */
  z.object({ status: z.literal('done'), outcome: z.lazy(() => jobOutcome) }),
  z.object({ status: z.literal('rejected'), error: jobError }),
]);
export type JobAck = z.infer<typeof jobAck>;

export const jobProgress = z.object({
  job_id: z.uuid(),
  percent: z.number().min(0).max(100),
  message: z.string().max(500).optional(),
});
export type JobProgress = z.infer<typeof jobProgress>;

export const jobOutcome = z.discriminatedUnion('status', [
  z.object({ job_id: z.uuid(), status: z.literal('succeeded'), result: z.unknown(), finished_at: z.iso.datetime() }),
  z.object({ job_id: z.uuid(), status: z.literal('failed'), error: jobError, finished_at: z.iso.datetime() }),
  z.object({ job_id: z.uuid(), status: z.literal('cancelled'), finished_at: z.iso.datetime() }),
]);
export type JobOutcome = z.infer<typeof jobOutcome>;

export const jobCancel = z.object({ job_id: z.uuid() });

/** Validates a payload against its kind's schema (both sides call it). */
export function parseJobPayload<K extends JobKind>(kindName: K, payload: unknown): z.ZodSafeParseResult<JobPayload<K>> {
  return (JOB_KINDS[kindName].payload as unknown as z.ZodType<JobPayload<K>>).safeParse(payload);
}

import { z } from 'zod';
import { parallelsInstanceConfig } from './machines';
import { zoneInstanceConfig } from './zones';

/** What an agent needs to run one instance: rendered by the hub from a workload and its variables. */
export const INSTANCE_STATES = [
  'installing',
  'stopped',
  'starting',
  'running',
  'stopping',
  'crashed',
  'failed',
] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];
export const instanceState = z.enum(INSTANCE_STATES);

export const instanceId = z.uuid();

/** Capabilities a workload may declare (Docker's names, without CAP_); the rest stay dropped. */
export const CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SYS_CHROOT',
  'MKNOD',
  'AUDIT_WRITE',
  'SETFCAP',
  'SYS_NICE',
  'SYS_RESOURCE',
  'IPC_LOCK',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

const relativePath = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => !p.startsWith('/') && !p.split('/').some((part) => part === '..' || part === ''), {
    message: "must be a relative path inside the instance directory (no '..', no leading '/')",
  });

/**
 * Credentials of the registry a docker image comes from. The hub keeps them encrypted and adds
 * them to the job only when it hands the job to the agent; the agent uses them for the pull and
 * never writes them down.
 */
export const registryAuth = z.object({
  server: z.string().min(1).max(255),
  username: z.string().min(1).max(255),
  password: z.string().min(1).max(4096),
});
export type RegistryAuth = z.infer<typeof registryAuth>;

/**
 * The registry host of an image reference, as Docker reads it: the first component when it has a
 * dot or a port or is `localhost`, else Docker Hub (`docker.io`).
 */
export function registryHostOf(image: string): string {
  const slash = image.indexOf('/');
  const first = slash === -1 ? '' : image.slice(0, slash);
  if (first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    const host = first.toLowerCase();
    return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
  }
  return 'docker.io';
}

/** The image is pulled from `server` (a registry host as credentials name it): only then do its credentials go. */
export function imageIsOnRegistry(image: string, server: string): boolean {
  return registryHostOf(image) === registryHostOf(`${server}/x`);
}

export const instanceSpec = z.object({
  instance_id: instanceId,
  driver: z.enum(['process', 'docker', 'zone', 'parallels']),
  /** Zone driver: brand, memory, CPUs, disks, VNICs, attrs. */
  zone: zoneInstanceConfig.optional(),
  /** Parallels driver: the VM to clone, CPUs, memory, disk, network, owner. */
  parallels: parallelsInstanceConfig.optional(),
  /** Docker image (docker driver); must already be present on the host or pullable by it. */
  image: z.string().max(255).optional(),
  /**
   * The hub's registry credentials for `image`: the hub adds them to the job as `registry_auth` when it hands the job
   * over.
   */
  registry_id: z.uuid().optional(),
  /** The startup command, run by `/bin/sh -c` inside the instance directory (or container). */
  startup: z.string().min(1).max(8192),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(65_536)).default({}),
  ports: z
    .array(
      z.object({
        name: z.string().max(64),
        container_port: z.number().int().min(1).max(65535),
        host_port: z.number().int().min(1).max(65535),
        protocol: z.enum(['tcp', 'udp']),
        /** The allocation's address on the host; absent: the agent's bind address (all interfaces). */
        host_ip: z.string().max(64).optional(),
      }),
    )
    .max(64)
    .default([]),
  resources: z
    .object({
      cpu_cores: z.number().positive().max(4096).optional(),
      memory_bytes: z.number().int().positive().optional(),
      disk_bytes: z.number().int().positive().optional(),
      /** Processes (and threads) the workload may have at once; the agent's default when absent. */
      pids_limit: z.number().int().min(8).max(1_000_000).optional(),
    })
    .default({}),
  stop: z
    .object({
      type: z.enum(['signal', 'command']),
      value: z.string().min(1).max(1024),
      grace_seconds: z.number().int().min(0).max(3600),
    })
    .default({ type: 'signal', value: 'SIGTERM', grace_seconds: 30 }),
  restart: z
    .object({
      policy: z.enum(['never', 'on-failure', 'always']),
      max_retries: z.number().int().min(0).max(1000),
      backoff_seconds: z.number().min(0).max(3600),
    })
    .default({ policy: 'on-failure', max_retries: 3, backoff_seconds: 5 }),
  /**
   * Written before every start, inside the instance directory: `content` replaces the file; for
   * structured parsers, `replacements` set keys in the existing file (`match` is the key, dotted
   * for json/yaml, `[section]key` style for ini), as Pterodactyl's file parser does.
   */
  config_files: z
    .array(
      z.object({
        path: relativePath,
        parser: z.enum(['file', 'properties', 'json', 'yaml', 'ini', 'xml']).default('file'),
        content: z
          .string()
          .max(1024 * 1024)
          .optional(),
        replacements: z
          .array(z.object({ match: z.string().min(1).max(512), value: z.string().max(65_536) }))
          .max(200)
          .optional(),
      }),
    )
    .max(100)
    .default([]),
  install: z
    .object({
      script: z.string().max(256 * 1024),
      image: z.string().max(255).optional(),
      entrypoint: z.string().max(255).default('/bin/sh'),
    })
    .optional(),
  /** Regex: the instance counts as running once a log line matches it (else as soon as it starts). */
  ready_pattern: z.string().max(1024).optional(),
  /** How the workload is confined (docs/security.md, "Workload sandbox"). */
  sandbox: z
    .object({
      /** Linux capabilities the workload keeps (docker); every other one is dropped. */
      capabilities: z.array(z.enum(CAPABILITIES)).max(CAPABILITIES.length).default([]),
      /** The container's root filesystem is read-only (the instance root and /tmp stay writable). */
      read_only_root: z.boolean().default(false),
      /**
       * Set by the hub only for platform admins: a process workload may run without a sandbox on
       * a node that cannot provide one. Tenants' workloads are refused there.
       */
      allow_unsandboxed: z.boolean().default(false),
    })
    .optional(),
});
export type InstanceSpec = z.infer<typeof instanceSpec>;
export type InstanceSpecInput = z.input<typeof instanceSpec>;

export const instanceStatus = z.object({
  instance_id: instanceId,
  state: instanceState,
  reason: z.string().max(1000).nullable(),
  exit_code: z.number().int().nullable(),
  pid: z.number().int().nullable(),
  container_id: z.string().nullable(),
  started_at: z.iso.datetime().nullable(),
  restarts: z.number().int().min(0),
});
export type InstanceStatus = z.infer<typeof instanceStatus>;

export const instanceStats = z.object({
  instance_id: instanceId,
  ts: z.iso.datetime(),
  cpu_percent: z.number().min(0),
  memory_bytes: z.number().min(0),
  memory_limit_bytes: z.number().min(0).nullable(),
  disk_bytes: z.number().min(0),
  net_rx_bytes: z.number().min(0),
  net_tx_bytes: z.number().min(0),
  uptime_seconds: z.number().min(0),
});
export type InstanceStats = z.infer<typeof instanceStats>;

/** Agent → hub whenever an instance changes state on its own (crash, ready, restart) or by a job. */
export const instanceStateFrame = z.object({
  instance_id: instanceId,
  state: instanceState,
  reason: z.string().max(1000).nullable(),
  exit_code: z.number().int().nullable(),
  ts: z.iso.datetime(),
});
export type InstanceStateFrame = z.infer<typeof instanceStateFrame>;

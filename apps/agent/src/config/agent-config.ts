import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import {
  ConfigError,
  int,
  loadSettings,
  oneOf,
  readYamlFile,
  setting,
  url,
  withoutTrailingSlash,
} from '@hostplane/config';
import { LOG_LEVELS } from '../logging/logger';

export { ConfigError };
export const DEFAULT_CONFIG_FILE = '/etc/hostplane/agent.yaml';
export const CONFIG_FILE_ENV = 'HOSTPLANE_AGENT_CONFIG';

const absolutePath = () => z.string().refine((p) => isAbsolute(p), { message: 'must be an absolute path' });

/**
 * Every agent setting, once. YAML keys are the property names in snake_case (`maxConcurrentJobs`
 * → `max_concurrent_jobs`); the table in docs/agent.md is generated from this schema.
 */
export const agentConfigSchema = z.object({
  hubUrl: setting(
    'HOSTPLANE_AGENT_HUB_URL',
    url(['http:', 'https:']).transform(withoutTrailingSlash).nullable().default(null),
    'Hub URL; overrides the saved one (e.g. after the hub moved)',
    {
      defaultText: 'from registration',
    },
  ),
  /** An agent token given directly (container deployments); otherwise credentials.json holds it. */
  token: setting(
    'HOSTPLANE_AGENT_TOKEN',
    z
      .string()
      .regex(/^hp_agt_[A-Za-z0-9_]{8,190}$/, { message: 'must be an agent token starting with hp_agt_' })
      .nullable()
      .default(null),
    'Agent token (`hp_agt_…`), for deployments that inject secrets instead of registering',
    { secret: true, defaultText: 'from registration' },
  ),
  stateDir: setting(
    'HOSTPLANE_AGENT_STATE_DIR',
    absolutePath().default('/var/lib/hostplane-agent'),
    'Credentials, job journal, lock',
  ),
  maxConcurrentJobs: setting(
    'HOSTPLANE_AGENT_MAX_CONCURRENT_JOBS',
    int(1, 256).default(4),
    'Jobs running at once (1–256), on different resources',
  ),
  maxQueuedJobs: setting(
    'HOSTPLANE_AGENT_MAX_QUEUED_JOBS',
    int(1, 10_000).default(1000),
    'Accepted, unfinished jobs; beyond it new jobs are rejected with `agent_busy`',
  ),
  logLevel: setting(
    'HOSTPLANE_AGENT_LOG_LEVEL',
    oneOf(LOG_LEVELS).default('info'),
    LOG_LEVELS.map((l) => `\`${l}\``).join(' '),
  ),
  terminal: z.object({
    shell: setting(
      'HOSTPLANE_AGENT_TERMINAL_SHELL',
      absolutePath().nullable().default(null),
      'Shell of host terminals, started as a login shell (`-l`)',
      {
        defaultText: '`$SHELL`, then `/bin/sh`',
      },
    ),
  }),
  docker: z.object({
    socketPath: setting(
      'HOSTPLANE_AGENT_DOCKER_SOCKET',
      absolutePath().default('/var/run/docker.sock'),
      'Docker Engine API (containers in inventory, docker driver detection)',
      {
        fileKey: 'socket',
      },
    ),
  }),
  /** Confinement of process workloads (docs/security.md, "Workload sandbox"). */
  sandbox: z.object({
    uidBase: setting(
      'HOSTPLANE_AGENT_SANDBOX_UID_BASE',
      int(1000, 2_000_000_000).default(1_000_000),
      'First uid/gid given to instances: each instance gets the lowest free one from here (65,536 of them), kept in `<instance>/sandbox.json`',
    ),
    user: setting(
      'HOSTPLANE_AGENT_SANDBOX_USER',
      z
        .string()
        .regex(/^[1-9][0-9]{0,9}:[1-9][0-9]{0,9}$/, { message: 'must be uid:gid, both numbers above 0 (never root)' })
        .transform((v) => {
          const [uid, gid] = v.split(':').map(Number) as [number, number];
          return { uid, gid };
        })
        .nullable()
        .default(null),
      '`uid:gid` (never 0) for every instance instead, e.g. to match an existing host user',
      { defaultText: 'one uid per instance' },
    ),
    pidsLimit: setting(
      'HOSTPLANE_AGENT_SANDBOX_PIDS_LIMIT',
      int(16, 1_000_000).default(512),
      'Processes (and threads) an instance may have unless its spec says otherwise',
    ),
  }),
  reconnect: z
    .object({
      initialDelayMs: setting(
        'HOSTPLANE_AGENT_RECONNECT_INITIAL_DELAY_MS',
        int(10, 60_000).default(500),
        'First reconnect delay ceiling (doubles per attempt, full jitter)',
      ),
      maxDelayMs: setting(
        'HOSTPLANE_AGENT_RECONNECT_MAX_DELAY_MS',
        int(100, 3_600_000).default(30_000),
        'Cap of the reconnect delay',
      ),
    })
    .check((ctx) => {
      const { initialDelayMs, maxDelayMs } = ctx.value;
      if (maxDelayMs < initialDelayMs) {
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: `reconnect.max_delay_ms (${maxDelayMs}) must not be below reconnect.initial_delay_ms (${initialDelayMs})`,
        });
      }
    }),
  inventory: z.object({
    checkIntervalMs: setting(
      'HOSTPLANE_AGENT_INVENTORY_CHECK_INTERVAL_MS',
      int(1000, 86_400_000).default(60_000),
      'How often inventory is checked for changes',
    ),
    volatileMaxAgeMs: setting(
      'HOSTPLANE_AGENT_INVENTORY_VOLATILE_MAX_AGE_MS',
      int(1000, 86_400_000).default(60_000),
      'Processes, containers and network counters are not in the change check: the inventory is sent again at the first check after the last one sent is this old',
    ),
  }),
  journal: z.object({
    retentionDays: setting(
      'HOSTPLANE_AGENT_JOURNAL_RETENTION_DAYS',
      int(1, 365).default(7),
      'How long job outcomes are kept to answer redeliveries',
    ),
  }),
  /** Rotation of process instances' output logs. */
  logs: z.object({
    maxBytes: setting(
      'HOSTPLANE_AGENT_LOGS_MAX_BYTES',
      int(1024, 1024 ** 4).default(10 * 1024 * 1024),
      "A process instance's `logs/output.log` is rotated once larger than this (1 KiB – 1 TiB); docker containers are created with a json-file log of the same `max-size`",
    ),
    keep: setting(
      'HOSTPLANE_AGENT_LOGS_KEEP',
      int(1, 100).default(3),
      'Rotated output logs kept per instance (`output.log.1` … `.N`; docker: `max-file` = keep + 1)',
    ),
    rotateCheckMs: setting(
      'HOSTPLANE_AGENT_LOGS_ROTATE_CHECK_MS',
      int(100, 3_600_000).default(10_000),
      "How often a running process instance's log size is checked (also at every start)",
    ),
  }),
  /** The illumos zone driver and host resources (docs/agent.md, "illumos"). */
  zone: z.object({
    enabled: setting(
      'HOSTPLANE_AGENT_ZONE_ENABLED',
      z.enum(['auto', 'on', 'off'], { message: 'must be auto, on or off' }).default('auto'),
      'The zone driver and host resources: auto (on illumos), on, off',
    ),
    privilege: setting(
      'HOSTPLANE_AGENT_ZONE_PRIVILEGE',
      z
        .string()
        .regex(/^(none|[A-Za-z0-9_./-]{1,128})$/, { message: 'must be a command name or path (pfexec), or none' })
        .default('pfexec')
        .transform((v) => (v === 'none' ? [] : [v])),
      'Prefix of every illumos command (pfexec with the Zone Management and ZFS profiles), none when the agent holds the rights',
    ),
    zonepathRoot: setting(
      'HOSTPLANE_AGENT_ZONE_ZONEPATH_ROOT',
      absolutePath().default('/zones'),
      "Instances' zonepaths are <this>/<zone>; the mountpoint of zone.dataset_root",
    ),
    datasetRoot: setting(
      'HOSTPLANE_AGENT_ZONE_DATASET_ROOT',
      z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,62}(\/[A-Za-z0-9][A-Za-z0-9_.:-]{0,254})*$/, {
          message: 'must be a ZFS dataset such as rpool/zones',
        })
        .default('rpool/zones'),
      "Dataset under which instances' zone datasets and boot disks are created",
    ),
    consoleLogDir: setting(
      'HOSTPLANE_AGENT_ZONE_CONSOLE_LOG_DIR',
      absolutePath().default('/var/log/zones'),
      'Where zoneadmd logs zone consoles (<zone>.console): the instance output log',
    ),
    commandTimeoutMs: setting(
      'HOSTPLANE_AGENT_ZONE_COMMAND_TIMEOUT_MS',
      int(1000, 3_600_000).default(120_000),
      'Timeout of one illumos command (installs and sends have their own, longer ones)',
    ),
  }),
  /** The Parallels Desktop driver and machines (docs/agent.md, "macOS"). */
  parallels: z.object({
    enabled: setting(
      'HOSTPLANE_AGENT_PARALLELS_ENABLED',
      z.enum(['auto', 'on', 'off'], { message: 'must be auto, on or off' }).default('auto'),
      'The parallels driver and machines: auto (on macOS when prlctl is on PATH), on, off',
    ),
    owner: setting(
      'HOSTPLANE_AGENT_PARALLELS_OWNER',
      z
        .string()
        .regex(/^(none|[a-z_][a-z0-9_.-]{0,31})$/, { message: 'must be a macOS user name, or none' })
        .default('none')
        .transform((v) => (v === 'none' ? null : v)),
      'The macOS user owning the VMs; an agent running as root runs prlctl as this user (sudo -n -u); none: the agent user',
    ),
    commandTimeoutMs: setting(
      'HOSTPLANE_AGENT_PARALLELS_COMMAND_TIMEOUT_MS',
      int(1000, 3_600_000).default(180_000),
      'Timeout of one prlctl/prlsrvctl command (clones and install scripts have their own, longer ones)',
    ),
    serviceLogFile: setting(
      'HOSTPLANE_AGENT_PARALLELS_SERVICE_LOG_FILE',
      absolutePath().default('/Library/Logs/parallels.log'),
      'The Parallels Desktop service log whose tail GET /v1/nodes/{id}/machines/host/logs answers',
    ),
    macosVmLimit: setting(
      'HOSTPLANE_AGENT_PARALLELS_MACOS_VM_LIMIT',
      z
        .string()
        .regex(/^(license|\d{1,3})$/, { message: 'must be license or a whole number' })
        .default('license')
        .transform((v) => (v === 'license' ? null : Number(v))),
      'macOS guests (registered, not templates) placement lets this host hold: license (the term prlsrvctl info prints) or a number that overrides it',
    ),
  }),
});

/** The parallels driver's settings (`parallels:` in the agent's YAML). */
export type ParallelsSettings = z.infer<typeof agentConfigSchema>['parallels'];

/** The zone driver's settings (`zone:` in the agent's YAML). */
export type ZoneSettings = z.infer<typeof agentConfigSchema>['zone'];

export type AgentConfig = z.infer<typeof agentConfigSchema> & {
  /** The YAML file that was read, or null when only defaults and the environment apply. */
  configFile: string | null;
};

export interface LoadAgentConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** `--config`; falls back to HOSTPLANE_AGENT_CONFIG, then /etc/hostplane/agent.yaml when it exists. */
  file?: string;
}

export function loadAgentConfig(options: LoadAgentConfigOptions = {}): AgentConfig {
  const env = options.env ?? process.env;
  const explicitFile = options.file ?? (env[CONFIG_FILE_ENV] || undefined);
  const file = explicitFile ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : null);
  const doc = file ? readYamlFile(file) : {};
  const settings = loadSettings(agentConfigSchema, {
    env,
    doc,
    file,
    fileKeys: 'snake_case',
    rejectUnknownFileKeys: true,
  });
  return { ...settings, configFile: file };
}

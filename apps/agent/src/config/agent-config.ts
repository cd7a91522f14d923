import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LOG_LEVELS, LogLevel } from '../logging/logger';

export const DEFAULT_CONFIG_FILE = '/etc/hostplane/agent.yaml';
export const CONFIG_FILE_ENV = 'HOSTPLANE_AGENT_CONFIG';

export interface AgentConfig {
  /** The YAML file that was read, or null when only defaults and the environment apply. */
  configFile: string | null;
  hubUrl: string | null;
  /** An agent token given directly (container deployments); otherwise credentials.json holds it. */
  token: string | null;
  stateDir: string;
  maxConcurrentJobs: number;
  maxQueuedJobs: number;
  logLevel: LogLevel;
  terminal: { shell: string | null };
  docker: { socketPath: string };
  /** Confinement of process workloads (docs/security.md, "Workload sandbox"). */
  sandbox: { uidBase: number; user: { uid: number; gid: number } | null; pidsLimit: number };
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  inventory: { checkIntervalMs: number; volatileMaxAgeMs: number };
  journal: { retentionDays: number };
  /** Rotation of process instances' output logs. */
  logs: { maxBytes: number; keep: number; rotateCheckMs: number };
  /** The illumos zone driver and host resources (docs/agent.md, "illumos"). */
  zone: ZoneSettings;
}

export interface ZoneSettings {
  /** `auto`: on illumos only. */
  enabled: 'auto' | 'on' | 'off';
  /** Prepended to every illumos command (`pfexec` with a Zone Management profile); empty for none. */
  privilege: string[];
  zonepathRoot: string;
  datasetRoot: string;
  consoleLogDir: string;
  commandTimeoutMs: number;
}

/** A configuration problem: one line naming the setting, meant for the operator. */
export class ConfigError extends Error {}

interface ConfigField {
  env: string;
  schema: z.ZodType;
  default: unknown;
  description: string;
  secret?: boolean;
}

const int = (min: number, max: number) => {
  const message = `must be an integer between ${min} and ${max}`;
  return z.coerce.number({ message }).int({ message }).min(min, { message }).max(max, { message });
};
const absolutePath = z.string().refine((p) => isAbsolute(p), { message: 'must be an absolute path' });
const httpUrl = z.string().refine(
  (v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  },
  { message: 'must be a URL starting with http:// or https://' },
);

/** Every setting, by its key in the YAML file. */
export const AGENT_CONFIG_FIELDS = {
  hub_url: { env: 'HOSTPLANE_AGENT_HUB_URL', schema: httpUrl, default: null, description: 'Hub URL; overrides the one saved at registration' },
  token: {
    env: 'HOSTPLANE_AGENT_TOKEN',
    schema: z.string().regex(/^hp_agt_[A-Za-z0-9_]{8,190}$/, { message: 'must be an agent token starting with hp_agt_' }),
    default: null,
    secret: true,
    description: 'Agent token; overrides the one saved at registration',
  },
  state_dir: { env: 'HOSTPLANE_AGENT_STATE_DIR', schema: absolutePath, default: '/var/lib/hostplane-agent', description: 'Credentials, job journal, logs of self-tests' },
  max_concurrent_jobs: { env: 'HOSTPLANE_AGENT_MAX_CONCURRENT_JOBS', schema: int(1, 256), default: 4, description: 'Jobs running at once (on different resources)' },
  max_queued_jobs: { env: 'HOSTPLANE_AGENT_MAX_QUEUED_JOBS', schema: int(1, 10_000), default: 1000, description: 'Jobs accepted but not finished; more are rejected with agent_busy' },
  log_level: {
    env: 'HOSTPLANE_AGENT_LOG_LEVEL',
    schema: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }),
    default: 'info',
    description: 'Log level',
  },
  'terminal.shell': { env: 'HOSTPLANE_AGENT_TERMINAL_SHELL', schema: absolutePath, default: null, description: 'Shell of host terminals (default $SHELL, then /bin/sh)' },
  'docker.socket': { env: 'HOSTPLANE_AGENT_DOCKER_SOCKET', schema: absolutePath, default: '/var/run/docker.sock', description: 'Docker Engine API socket' },
  'sandbox.uid_base': { env: 'HOSTPLANE_AGENT_SANDBOX_UID_BASE', schema: int(1000, 2_000_000_000), default: 1_000_000, description: 'First uid/gid given to instances (one each, from here up)' },
  'sandbox.user': {
    env: 'HOSTPLANE_AGENT_SANDBOX_USER',
    schema: z.string().regex(/^[1-9][0-9]{0,9}:[1-9][0-9]{0,9}$/, { message: 'must be uid:gid, both numbers above 0 (never root)' }),
    default: null,
    description: 'One uid:gid for every instance instead of one uid each',
  },
  'sandbox.pids_limit': { env: 'HOSTPLANE_AGENT_SANDBOX_PIDS_LIMIT', schema: int(16, 1_000_000), default: 512, description: 'Processes an instance may have unless its spec says otherwise' },
  'reconnect.initial_delay_ms': { env: 'HOSTPLANE_AGENT_RECONNECT_INITIAL_DELAY_MS', schema: int(10, 60_000), default: 500, description: 'First reconnect delay (doubles per attempt, full jitter)' },
  'reconnect.max_delay_ms': { env: 'HOSTPLANE_AGENT_RECONNECT_MAX_DELAY_MS', schema: int(100, 3_600_000), default: 30_000, description: 'Cap of the reconnect delay' },
  'inventory.check_interval_ms': { env: 'HOSTPLANE_AGENT_INVENTORY_CHECK_INTERVAL_MS', schema: int(1000, 86_400_000), default: 60_000, description: 'How often the inventory is checked for changes' },
  'inventory.volatile_max_age_ms': {
    env: 'HOSTPLANE_AGENT_INVENTORY_VOLATILE_MAX_AGE_MS',
    schema: int(1000, 86_400_000),
    default: 60_000,
    description: 'Processes, containers and network counters change all the time and are not part of the change check: the inventory is sent again at the first check once the last one sent is this old',
  },
  'journal.retention_days': { env: 'HOSTPLANE_AGENT_JOURNAL_RETENTION_DAYS', schema: int(1, 365), default: 7, description: 'How long job outcomes are kept to answer redeliveries' },
  'logs.max_bytes': { env: 'HOSTPLANE_AGENT_LOGS_MAX_BYTES', schema: int(1024, 1024 ** 4), default: 10 * 1024 * 1024, description: "A process instance's output log is rotated once larger than this" },
  'logs.keep': { env: 'HOSTPLANE_AGENT_LOGS_KEEP', schema: int(1, 100), default: 3, description: 'Rotated output logs kept per process instance (output.log.1 … .N)' },
  'logs.rotate_check_ms': { env: 'HOSTPLANE_AGENT_LOGS_ROTATE_CHECK_MS', schema: int(100, 3_600_000), default: 10_000, description: 'How often a running process instance\'s output log size is checked' },
  'zone.enabled': { env: 'HOSTPLANE_AGENT_ZONE_ENABLED', schema: z.enum(['auto', 'on', 'off'], { message: 'must be auto, on or off' }), default: 'auto', description: 'The zone driver and host resources: auto (on illumos), on, off' },
  'zone.privilege': {
    env: 'HOSTPLANE_AGENT_ZONE_PRIVILEGE',
    schema: z.string().regex(/^(none|[A-Za-z0-9_./-]{1,128})$/, { message: 'must be a command name or path (pfexec), or none' }),
    default: 'pfexec',
    description: 'Prefix of every illumos command (pfexec with the Zone Management and ZFS profiles), none when the agent holds the rights',
  },
  'zone.zonepath_root': { env: 'HOSTPLANE_AGENT_ZONE_ZONEPATH_ROOT', schema: absolutePath, default: '/zones', description: "Instances' zonepaths are <this>/<zone>; the mountpoint of zone.dataset_root" },
  'zone.dataset_root': {
    env: 'HOSTPLANE_AGENT_ZONE_DATASET_ROOT',
    schema: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,62}(\/[A-Za-z0-9][A-Za-z0-9_.:-]{0,254})*$/, { message: 'must be a ZFS dataset such as rpool/zones' }),
    default: 'rpool/zones',
    description: "Dataset under which instances' zone datasets and boot disks are created",
  },
  'zone.console_log_dir': { env: 'HOSTPLANE_AGENT_ZONE_CONSOLE_LOG_DIR', schema: absolutePath, default: '/var/log/zones', description: 'Where zoneadmd logs zone consoles (<zone>.console): the instance output log' },
  'zone.command_timeout_ms': { env: 'HOSTPLANE_AGENT_ZONE_COMMAND_TIMEOUT_MS', schema: int(1000, 3_600_000), default: 120_000, description: 'Timeout of one illumos command (installs and sends have their own, longer ones)' },
} satisfies Record<string, ConfigField>;
type ConfigKey = keyof typeof AGENT_CONFIG_FIELDS;

export interface LoadAgentConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** `--config`; falls back to HOSTPLANE_AGENT_CONFIG, then /etc/hostplane/agent.yaml when it exists. */
  file?: string;
}

export function loadAgentConfig(options: LoadAgentConfigOptions = {}): AgentConfig {
  const env = options.env ?? process.env;
  const explicitFile = options.file ?? (env[CONFIG_FILE_ENV] || undefined);
  const file = explicitFile ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : null);
  const fromFile = file ? readYamlFile(file) : {};
  rejectUnknownKeys(fromFile, file ?? '');

  const values = new Map<ConfigKey, unknown>();
  for (const [key, field] of Object.entries(AGENT_CONFIG_FIELDS) as [ConfigKey, ConfigField][]) {
    const envValue = env[field.env];
    const fileValue = getPath(fromFile, key);
    const fromEnv = envValue !== undefined && envValue !== '';
    const raw = fromEnv ? envValue : fileValue;
    if (raw === undefined || raw === null) {
      values.set(key, field.default);
      continue;
    }
    const parsed = field.schema.safeParse(raw);
    if (!parsed.success) {
      const source = fromEnv ? field.env : `${file}: ${key}`;
      const shown = field.secret ? '' : ` (got ${JSON.stringify(raw)})`;
      throw new ConfigError(`config: ${source} ${parsed.error.issues[0]?.message ?? 'is invalid'}${shown}`);
    }
    values.set(key, parsed.data);
  }
  const get = <T>(key: ConfigKey) => values.get(key) as T;
  const reconnect = { initialDelayMs: get<number>('reconnect.initial_delay_ms'), maxDelayMs: get<number>('reconnect.max_delay_ms') };
  if (reconnect.maxDelayMs < reconnect.initialDelayMs) {
    throw new ConfigError(`config: reconnect.max_delay_ms (${reconnect.maxDelayMs}) must not be below reconnect.initial_delay_ms (${reconnect.initialDelayMs})`);
  }
  return {
    configFile: file,
    hubUrl: get<string | null>('hub_url')?.replace(/\/+$/, '') ?? null,
    token: get('token'),
    stateDir: get('state_dir'),
    maxConcurrentJobs: get('max_concurrent_jobs'),
    maxQueuedJobs: get('max_queued_jobs'),
    logLevel: get('log_level'),
    terminal: { shell: get('terminal.shell') },
    docker: { socketPath: get('docker.socket') },
    sandbox: { uidBase: get('sandbox.uid_base'), user: parseUser(get<string | null>('sandbox.user')), pidsLimit: get('sandbox.pids_limit') },
    reconnect,
    inventory: { checkIntervalMs: get('inventory.check_interval_ms'), volatileMaxAgeMs: get('inventory.volatile_max_age_ms') },
    journal: { retentionDays: get('journal.retention_days') },
    logs: { maxBytes: get('logs.max_bytes'), keep: get('logs.keep'), rotateCheckMs: get('logs.rotate_check_ms') },
    zone: {
      enabled: get('zone.enabled'),
      privilege: get<string>('zone.privilege') === 'none' ? [] : [get<string>('zone.privilege')],
      zonepathRoot: get('zone.zonepath_root'),
      datasetRoot: get('zone.dataset_root'),
      consoleLogDir: get('zone.console_log_dir'),
      commandTimeoutMs: get('zone.command_timeout_ms'),
    },
  };
}

function parseUser(value: string | null): { uid: number; gid: number } | null {
  if (value === null) return null;
  const [uid, gid] = value.split(':').map(Number) as [number, number];
  return { uid, gid };
}

function readYamlFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config: cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config: ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config: ${file} must hold a YAML mapping`);
  return doc as Record<string, unknown>;
}

/** A misspelt key would otherwise be ignored silently and the default used. */
function rejectUnknownKeys(doc: Record<string, unknown>, file: string): void {
  const known = Object.keys(AGENT_CONFIG_FIELDS);
  const sections = new Set(known.filter((k) => k.includes('.')).map((k) => k.split('.')[0]));
  for (const [key, value] of Object.entries(doc)) {
    if (sections.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const sub of Object.keys(value)) {
        if (!known.includes(`${key}.${sub}`)) throw new ConfigError(`config: ${file}: unknown setting "${key}.${sub}" (known: ${known.join(', ')})`);
      }
    } else if (!known.includes(key)) {
      throw new ConfigError(`config: ${file}: unknown setting "${key}" (known: ${known.join(', ')})`);
    }
  }
}

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { CONFIG_FIELDS, ConfigField, ConfigPath } from './config.schema';
import { ensureDevSecrets } from './dev-secrets';

export interface JwtKey {
  kid: string;
  secret: Buffer;
}

export interface HubConfig {
  env: 'production' | 'development' | 'test';
  http: {
    host: string;
    port: number;
    publicUrl: string;
    bodyLimitBytes: number;
    trustProxy: string[];
    shutdownTimeoutSeconds: number;
  };
  database: { url: string; autoMigrate: boolean; connectTimeoutSeconds: number; poolSize: number };
  redis: { url: string; prefix: string };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  dataDir: string;
  secrets: { encryptionKey: Buffer; jwtKeys: JwtKey[] };
  rateLimit: { max: number; windowSeconds: number; authMax: number };
  agents: { heartbeatSeconds: number; offlineAfterMissed: number; registrationTokenTtlSeconds: number; defaultAllocations: string };
  metrics: { rawRetentionHours: number; rollupRetentionDays: number };
  events: { maxLength: number; maxAgeSeconds: number };
  files: { maxEditBytes: number; maxUploadBytes: number; maxUploadRequestBytes: number; uploadTtlHours: number };
  console: { scrollbackLines: number };
  relay: { listen: { host: string; port: number }; internalUrl?: string };
  jobs: { lockSeconds: number; stalledCheckSeconds: number; ackTimeoutSeconds: number; defaultDeadlineSeconds: number; retentionHours: number };
  migrations: { concurrency: number; stepDeadlineSeconds: number; sweepSeconds: number; stallSeconds: number; transferBytesPerSecond: number };
  backups: { maxPerInstance: number };
  outbound: { allow: string[]; connectTimeoutSeconds: number };
  auth: AuthConfig;
  /** Absent when no SMTP host is configured: mail is then not sent. */
  smtp?: SmtpConfig;
  github: GithubOAuthConfig;
}

export type RegistrationPolicy = 'open' | 'invite-only' | 'closed';

export interface AuthConfig {
  bootstrapEnabled: boolean;
  bootstrapToken?: string;
  registration: RegistrationPolicy;
  passwordMinLength: number;
  refreshTokenTtlDays: number;
  passwordResetTtlMinutes: number;
  inviteTtlHours: number;
  cacheSeconds: number;
  recheckSeconds: number;
  lockout: { maxFailures: number; ipMaxFailures: number; windowSeconds: number; durationSeconds: number };
}

export interface SmtpConfig {
  host: string;
  port: number;
  secure: boolean;
  requireTls: boolean;
  user?: string;
  password?: string;
  from: string;
}

export interface GithubOAuthConfig {
  /** Both set, or GitHub sign-in is off. */
  clientId?: string;
  clientSecret?: string;
  authorizeUrl: string;
  tokenUrl: string;
  userUrl: string;
}

/** A configuration problem: the message is one line naming the variable, meant for the operator. */
export class ConfigError extends Error {}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Path of a YAML file; falls back to HOSTPLANE_CONFIG. */
  file?: string;
}

export function loadConfig(options: LoadConfigOptions = {}): HubConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.HOSTPLANE_CONFIG;
  const fromFile = file ? readYamlFile(file) : {};
  const flat = new Map<ConfigPath, unknown>();
  const production = resolveEnvName(env, fromFile) === 'production';

  for (const [path, field] of Object.entries(CONFIG_FIELDS) as [ConfigPath, ConfigField][]) {
    const envValue = env[field.env];
    const fileValue = getPath(fromFile, path);
    const source = envValue !== undefined && envValue !== '' ? field.env : fileValue !== undefined ? `${file}: ${path}` : null;
    let raw = source === field.env ? envValue : fileValue;
    if (raw === undefined) raw = field.default ?? (production ? undefined : field.devDefault);
    if (raw === undefined) {
      if (production && field.requiredInProduction) {
        throw new ConfigError(`config: ${field.env} is required in production (${field.description})`);
      }
      continue;
    }
    const parsed = field.schema.safeParse(raw);
    if (!parsed.success) {
      const shown = field.secret ? '' : ` (got ${JSON.stringify(raw)})`;
      throw new ConfigError(`config: ${source ?? field.env} ${parsed.error.issues[0]?.message ?? 'is invalid'}${shown}`);
    }
    flat.set(path, parsed.data);
  }

  if (!production) ensureDevSecrets(flat, String(flat.get('dataDir')));
  return toHubConfig(flat);
}

function resolveEnvName(env: NodeJS.ProcessEnv, fromFile: Record<string, unknown>): string {
  return env.HOSTPLANE_ENV || String(fromFile.env ?? CONFIG_FIELDS.env.default);
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

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function toHubConfig(flat: Map<ConfigPath, unknown>): HubConfig {
  const get = <T>(p: ConfigPath) => flat.get(p) as T;
  const jwtKeys = get<string[]>('secrets.jwtKeys').map((entry) => {
    const [kid, secret] = entry.split(':') as [string, string];
    return { kid, secret: Buffer.from(secret, 'base64') };
  });
  return {
    env: get('env'),
    http: {
      host: get('http.host'),
      port: get('http.port'),
      publicUrl: get<string>('http.publicUrl').replace(/\/+$/, ''),
      bodyLimitBytes: get('http.bodyLimitBytes'),
      trustProxy: get('http.trustProxy'),
      shutdownTimeoutSeconds: get('http.shutdownTimeoutSeconds'),
    },
    database: {
      url: get('database.url'),
      autoMigrate: get('database.autoMigrate'),
      connectTimeoutSeconds: get('database.connectTimeoutSeconds'),
      poolSize: get('database.poolSize'),
    },
    redis: { url: get('redis.url'), prefix: get('redis.prefix') },
    log: { level: get('log.level') },
    dataDir: get('dataDir'),
    secrets: { encryptionKey: Buffer.from(get<string>('secrets.encryptionKey'), 'base64'), jwtKeys },
    rateLimit: { max: get('rateLimit.max'), windowSeconds: get('rateLimit.windowSeconds'), authMax: get('rateLimit.authMax') },
    agents: {
      heartbeatSeconds: get('agents.heartbeatSeconds'),
      offlineAfterMissed: get('agents.offlineAfterMissed'),
      registrationTokenTtlSeconds: get('agents.registrationTokenTtlSeconds'),
      defaultAllocations: get('agents.defaultAllocations'),
    },
    metrics: { rawRetentionHours: get('metrics.rawRetentionHours'), rollupRetentionDays: get('metrics.rollupRetentionDays') },
    events: { maxLength: get('events.maxLength'), maxAgeSeconds: get('events.maxAgeSeconds') },
    files: {
      maxEditBytes: get('files.maxEditBytes'),
      maxUploadBytes: get('files.maxUploadBytes'),
      maxUploadRequestBytes: get('files.maxUploadRequestBytes'),
      uploadTtlHours: get('files.uploadTtlHours'),
    },
    console: {
      scrollbackLines: get('console.scrollbackLines'),
    },
    relay: { listen: get('relay.listen'), internalUrl: get('relay.internalUrl') },
    jobs: {
      lockSeconds: get('jobs.lockSeconds'),
      stalledCheckSeconds: get('jobs.stalledCheckSeconds'),
      ackTimeoutSeconds: get('jobs.ackTimeoutSeconds'),
      defaultDeadlineSeconds: get('jobs.defaultDeadlineSeconds'),
      retentionHours: get('jobs.retentionHours'),
    },
    migrations: {
      concurrency: get('migrations.concurrency'),
      stepDeadlineSeconds: get('migrations.stepDeadlineSeconds'),
      sweepSeconds: get('migrations.sweepSeconds'),
      stallSeconds: get('migrations.stallSeconds'),
      transferBytesPerSecond: get('migrations.transferBytesPerSecond'),
    },
    backups: { maxPerInstance: get('backups.maxPerInstance') },
    outbound: { allow: get('outbound.allow'), connectTimeoutSeconds: get('outbound.connectTimeoutSeconds') },
    auth: {
      bootstrapEnabled: get('auth.bootstrapEnabled'),
      bootstrapToken: get('auth.bootstrapToken'),
      registration: get('auth.registration'),
      passwordMinLength: get('auth.passwordMinLength'),
      refreshTokenTtlDays: get('auth.refreshTokenTtlDays'),
      passwordResetTtlMinutes: get('auth.passwordResetTtlMinutes'),
      inviteTtlHours: get('auth.inviteTtlHours'),
      cacheSeconds: get('auth.cacheSeconds'),
      recheckSeconds: get('auth.recheckSeconds'),
      lockout: {
        maxFailures: get('auth.lockout.maxFailures'),
        ipMaxFailures: get('auth.lockout.ipMaxFailures'),
        windowSeconds: get('auth.lockout.windowSeconds'),
        durationSeconds: get('auth.lockout.durationSeconds'),
      },
    },
    smtp: flat.has('smtp.host')
      ? {
          host: get('smtp.host'),
          port: get('smtp.port'),
          secure: get('smtp.secure'),
          requireTls: get('smtp.requireTls'),
          user: get('smtp.user'),
          password: get('smtp.password'),
          from: get('smtp.from'),
        }
      : undefined,
    github: {
      clientId: get('github.clientId'),
      clientSecret: get('github.clientSecret'),
      authorizeUrl: get('github.authorizeUrl'),
      tokenUrl: get('github.tokenUrl'),
      userUrl: get('github.userUrl'),
    },
  };
}

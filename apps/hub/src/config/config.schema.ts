import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Every setting is declared once: its path in the YAML file, its environment variable, its schema
 * and its defaults. The loader reports a bad value by naming the variable (or the YAML key).
 */
export interface ConfigField {
  env: string;
  schema: z.ZodType;
  description: string;
  default?: unknown;
  /** Used only outside production (development and test). */
  devDefault?: unknown;
  requiredInProduction?: boolean;
  secret?: boolean;
}

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) =>
  z.coerce
    .number({ message: `must be an integer between ${min} and ${max}` })
    .int({ message: `must be an integer between ${min} and ${max}` })
    .min(min, { message: `must be an integer between ${min} and ${max}` })
    .max(max, { message: `must be an integer between ${min} and ${max}` });
const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => p + '//').join(' or ')}` },
  );
const csv = z.union([z.array(z.string()), z.string()]).transform((v) =>
  (Array.isArray(v) ? v : v.split(','))
    .map((s) => s.trim())
    .filter(Boolean),
);
/** An address, CIDR, host name or `*.domain`: what `HOSTPLANE_OUTBOUND_ALLOW` lists. */
const outboundAllow = csv.pipe(
  z.array(
    z.string().refine(
      (entry) => {
        const e = entry.toLowerCase().replace(/^\[(.*)\]$/, '$1');
        const [addr = '', prefix] = e.split('/');
        const family = isIP(addr);
        if (family) return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
        return prefix === undefined && /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(e);
      },
      { message: 'each entry must be an address, a CIDR (10.0.0.0/8, fd00::/8), a host name or *.domain' },
    ),
  ),
);
const jwtKeys = csv.pipe(
  z
    .array(
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=_-]{43,}$/, {
          message: 'each key must be "kid:secret" with a secret of at least 32 bytes (base64)',
        }),
    )
    .min(1, { message: 'must list at least one "kid:secret" key' }),
);

export const CONFIG_FIELDS = {
  env: {
    env: 'HOSTPLANE_ENV',
    schema: z.enum(['production', 'development', 'test'], {
      message: 'must be one of production, development, test',
    }),
    default: 'production',
    description: 'production requires explicit secrets; development generates them under the data dir',
  },
  'http.host': { env: 'HOSTPLANE_HOST', schema: z.string().min(1), default: '0.0.0.0', description: 'Address to listen on' },
  'http.port': { env: 'HOSTPLANE_PORT', schema: int(0, 65535), default: 8080, description: 'HTTP port (0 = any free port)' },
  'http.publicUrl': {
    env: 'HOSTPLANE_PUBLIC_URL',
    schema: url(['http:', 'https:']),
    devDefault: 'http://localhost:8080',
    requiredInProduction: true,
    description: 'URL users and agents reach the hub at (links in mail, agent install commands)',
  },
  'http.bodyLimitBytes': {
    env: 'HOSTPLANE_BODY_LIMIT_BYTES',
    schema: int(1024, 1024 * 1024 * 1024),
    default: 1024 * 1024,
    description: 'Largest JSON body accepted; larger ones get 413',
  },
  'http.trustProxy': {
    env: 'HOSTPLANE_TRUST_PROXY',
    schema: csv,
    default: [],
    description: 'Comma-separated proxy addresses/CIDRs whose X-Forwarded-For is trusted',
  },
  'http.shutdownTimeoutSeconds': {
    env: 'HOSTPLANE_SHUTDOWN_TIMEOUT_SECONDS',
    schema: int(1, 600),
    default: 25,
    description: 'How long SIGTERM waits for in-flight requests before closing them',
  },
  'database.url': {
    env: 'HOSTPLANE_DATABASE_URL',
    schema: url(['postgres:', 'postgresql:']),
    devDefault: 'postgres://postgres@127.0.0.1:5432/hostplane',
    requiredInProduction: true,
    secret: true,
    description: 'PostgreSQL connection URL',
  },
  'database.autoMigrate': {
    env: 'HOSTPLANE_DATABASE_AUTO_MIGRATE',
    schema: bool,
    default: true,
    description: 'Apply pending migrations at start',
  },
  'database.connectTimeoutSeconds': {
    env: 'HOSTPLANE_DATABASE_CONNECT_TIMEOUT_SECONDS',
    schema: int(1, 3600),
    default: 60,
    description: 'How long start-up retries an unreachable database (with backoff) before giving up',
  },
  'database.poolSize': { env: 'HOSTPLANE_DATABASE_POOL_SIZE', schema: int(1, 500), default: 20, description: 'Connections per hub process' },
  'redis.url': {
    env: 'HOSTPLANE_REDIS_URL',
    schema: url(['redis:', 'rediss:']),
    devDefault: 'redis://127.0.0.1:6379',
    requiredInProduction: true,
    secret: true,
    description: 'Redis URL (queues, rate limits, fan-out)',
  },
  'redis.prefix': {
    env: 'HOSTPLANE_REDIS_PREFIX',
    schema: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be 1-64 letters, digits, "_", "-" or "."' }),
    default: 'hp',
    description: 'Prefix of every Redis key, so several hubs or test runs share one Redis',
  },
  'log.level': {
    env: 'HOSTPLANE_LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'must be one of fatal, error, warn, info, debug, trace, silent',
    }),
    default: 'info',
    description: 'Log level (JSON lines on stdout)',
  },
  dataDir: {
    env: 'HOSTPLANE_DATA_DIR',
    schema: z.string().min(1),
    default: '/var/lib/hostplane',
    devDefault: '.hostplane',
    description: 'Where development secrets are persisted',
  },
  'secrets.encryptionKey': {
    env: 'HOSTPLANE_ENCRYPTION_KEY',
    schema: z.string().refine((v) => Buffer.from(v, 'base64').length === 32, {
      message: 'must be 32 random bytes, base64-encoded (openssl rand -base64 32)',
    }),
    requiredInProduction: true,
    secret: true,
    description: 'Key that encrypts stored credentials (AES-256-GCM)',
  },
  'secrets.jwtKeys': {
    env: 'HOSTPLANE_JWT_KEYS',
    schema: jwtKeys,
    requiredInProduction: true,
    secret: true,
    description: 'Comma-separated "kid:secret" signing keys; the first signs, all verify (rotation)',
  },
  'rateLimit.max': {
    env: 'HOSTPLANE_RATE_LIMIT_MAX',
    schema: int(1, 10_000_000),
    default: 600,
    description: 'Requests per client per window on every route',
  },
  'rateLimit.windowSeconds': {
    env: 'HOSTPLANE_RATE_LIMIT_WINDOW_SECONDS',
    schema: int(1, 86_400),
    default: 60,
    description: 'Rate-limit window',
  },
  'rateLimit.authMax': {
    env: 'HOSTPLANE_RATE_LIMIT_AUTH_MAX',
    schema: int(1, 10_000_000),
    default: 20,
    description: 'Requests per client per window on login, MFA and password routes',
  },
  'auth.bootstrapEnabled': {
    env: 'HOSTPLANE_BOOTSTRAP_ENABLED',
    schema: bool,
    default: true,
    description: 'Allow POST /v1/auth/bootstrap to create the first platform admin while no user exists',
  },
  'auth.bootstrapToken': {
    env: 'HOSTPLANE_BOOTSTRAP_TOKEN',
    schema: z.string().min(16, { message: 'must be at least 16 characters' }),
    secret: true,
    description: 'When set, bootstrap also requires this value as setup_token (protects a hub exposed before setup)',
  },
  'auth.registration': {
    env: 'HOSTPLANE_REGISTRATION',
    schema: z.enum(['open', 'invite-only', 'closed'], { message: 'must be one of open, invite-only, closed' }),
    default: 'invite-only',
    description: 'Who may sign up: anyone (open), holders of an organization invite (invite-only), nobody (closed)',
  },
  'auth.passwordMinLength': {
    env: 'HOSTPLANE_PASSWORD_MIN_LENGTH',
    schema: int(8, 128),
    default: 12,
    description: 'Shortest password accepted',
  },
  'auth.refreshTokenTtlDays': {
    env: 'HOSTPLANE_REFRESH_TOKEN_TTL_DAYS',
    schema: int(1, 365),
    default: 30,
    description: 'How long a login session (refresh token family) lasts without being refreshed',
  },
  'auth.passwordResetTtlMinutes': {
    env: 'HOSTPLANE_PASSWORD_RESET_TTL_MINUTES',
    schema: int(5, 1440),
    default: 60,
    description: 'Lifetime of a password reset link',
  },
  'auth.inviteTtlHours': {
    env: 'HOSTPLANE_INVITE_TTL_HOURS',
    schema: int(1, 24 * 90),
    default: 168,
    description: 'Lifetime of an organization invite',
  },
  'auth.cacheSeconds': {
    env: 'HOSTPLANE_AUTH_CACHE_SECONDS',
    schema: int(0, 10),
    default: 2,
    description: 'How long a replica may reuse a user\'s status and memberships; changes are also pushed to every replica at once (0 = no cache)',
  },
  'auth.recheckSeconds': {
    env: 'HOSTPLANE_AUTH_RECHECK_SECONDS',
    schema: int(1, 3600),
    default: 10,
    description: 'How often open WebSockets and event streams re-check their access on their own, behind the pushed invalidations that close them at once',
  },
  'auth.lockout.maxFailures': {
    env: 'HOSTPLANE_LOGIN_MAX_FAILURES',
    schema: int(1, 1000),
    default: 5,
    description: 'Failed logins for one account within the failure window before it is locked',
  },
  'auth.lockout.ipMaxFailures': {
    env: 'HOSTPLANE_LOGIN_IP_MAX_FAILURES',
    schema: int(1, 100_000),
    default: 50,
    description: 'Failed logins from one IP address within the failure window before it is locked out',
  },
  'auth.lockout.windowSeconds': {
    env: 'HOSTPLANE_LOGIN_FAILURE_WINDOW_SECONDS',
    schema: int(1, 86_400),
    default: 900,
    description: 'Window in which failed logins are counted',
  },
  'auth.lockout.durationSeconds': {
    env: 'HOSTPLANE_LOGIN_LOCKOUT_SECONDS',
    schema: int(1, 86_400),
    default: 900,
    description: 'How long a locked account or IP address is refused (429 with Retry-After)',
  },
  'smtp.host': {
    env: 'HOSTPLANE_SMTP_HOST',
    schema: z.string().min(1),
    description: 'SMTP server for password reset and invite mail (unset: no mail is sent)',
  },
  'smtp.port': { env: 'HOSTPLANE_SMTP_PORT', schema: int(1, 65535), default: 587, description: 'SMTP port' },
  'smtp.secure': {
    env: 'HOSTPLANE_SMTP_SECURE',
    schema: bool,
    default: false,
    description: 'Implicit TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it',
  },
  'smtp.requireTls': {
    env: 'HOSTPLANE_SMTP_REQUIRE_TLS',
    schema: bool,
    default: false,
    description: 'Refuse to send unless the connection is upgraded with STARTTLS',
  },
  'smtp.user': { env: 'HOSTPLANE_SMTP_USER', schema: z.string().min(1), description: 'SMTP user name (unset: no AUTH)' },
  'smtp.password': { env: 'HOSTPLANE_SMTP_PASSWORD', schema: z.string().min(1), secret: true, description: 'SMTP password' },
  'smtp.from': {
    env: 'HOSTPLANE_SMTP_FROM',
    schema: z.string().min(3),
    default: 'Hostplane <hostplane@localhost>',
    description: 'From address of the hub\'s mail',
  },
  'github.clientId': { env: 'HOSTPLANE_GITHUB_CLIENT_ID', schema: z.string().min(1), description: 'GitHub OAuth app client id (unset: GitHub sign-in is off)' },
  'github.clientSecret': { env: 'HOSTPLANE_GITHUB_CLIENT_SECRET', schema: z.string().min(1), secret: true, description: 'GitHub OAuth app client secret' },
  'github.authorizeUrl': {
    env: 'HOSTPLANE_GITHUB_AUTHORIZE_URL',
    schema: url(['http:', 'https:']),
    default: 'https://github.com/login/oauth/authorize',
    description: 'GitHub (Enterprise) authorization endpoint',
  },
  'github.tokenUrl': {
    env: 'HOSTPLANE_GITHUB_TOKEN_URL',
    schema: url(['http:', 'https:']),
    default: 'https://github.com/login/oauth/access_token',
    description: 'GitHub (Enterprise) token endpoint',
  },
  'github.userUrl': {
    env: 'HOSTPLANE_GITHUB_USER_URL',
    schema: url(['http:', 'https:']),
    default: 'https://api.github.com/user',
    description: 'GitHub (Enterprise) API user endpoint; its /emails sub-path gives verified addresses',
  },
  'agents.heartbeatSeconds': {
    env: 'HOSTPLANE_AGENT_HEARTBEAT_SECONDS',
    schema: int(1, 3600),
    default: 10,
    description: 'How often agents send a heartbeat (told to them at connect)',
  },
  'agents.offlineAfterMissed': {
    env: 'HOSTPLANE_AGENT_OFFLINE_AFTER_MISSED',
    schema: int(1, 100),
    default: 3,
    description: 'Missed heartbeats after which a node is marked offline',
  },
  'agents.registrationTokenTtlSeconds': {
    env: 'HOSTPLANE_AGENT_REGISTRATION_TTL_SECONDS',
    schema: int(60, 30 * 86_400),
    default: 3600,
    description: 'Default lifetime of a node registration token',
  },
  'agents.defaultAllocations': {
    env: 'HOSTPLANE_AGENT_DEFAULT_ALLOCATIONS',
    schema: z.string().regex(/^$|^(\[[0-9A-Fa-f:.]+\]|[0-9.]+):\d{1,5}-\d{1,5}$/, { message: 'must be "ip:from-to" (0.0.0.0:30000-30099), or empty for no default pool' }),
    default: '0.0.0.0:30000-30099',
    description: 'Allocation pool (ip:from-to) every newly registered node gets; empty: none (add them with POST /v1/nodes/{id}/allocations)',
  },
  'metrics.rawRetentionHours': {
    env: 'HOSTPLANE_METRICS_RAW_RETENTION_HOURS',
    schema: int(1, 24 * 365),
    default: 48,
    description: 'How long per-heartbeat node and instance metrics are kept before only 5-minute averages remain',
  },
  'metrics.rollupRetentionDays': {
    env: 'HOSTPLANE_METRICS_ROLLUP_RETENTION_DAYS',
    schema: int(1, 3650),
    default: 90,
    description: 'How long 5-minute averages of node and instance metrics are kept',
  },
  'jobs.lockSeconds': {
    env: 'HOSTPLANE_JOBS_LOCK_SECONDS',
    schema: int(2, 3600),
    default: 30,
    description: 'BullMQ lock duration: a job whose hub dies is redelivered after this',
  },
  'jobs.stalledCheckSeconds': {
    env: 'HOSTPLANE_JOBS_STALLED_CHECK_SECONDS',
    schema: int(1, 3600),
    default: 15,
    description: 'How often stalled jobs (their hub died) are looked for',
  },
  'jobs.ackTimeoutSeconds': {
    env: 'HOSTPLANE_JOBS_ACK_TIMEOUT_SECONDS',
    schema: int(1, 600),
    default: 10,
    description: 'How long the hub waits for an agent to acknowledge a job before redelivering it',
  },
  'jobs.defaultDeadlineSeconds': {
    env: 'HOSTPLANE_JOBS_DEFAULT_DEADLINE_SECONDS',
    schema: int(1, 30 * 86_400),
    default: 86_400,
    description: 'A job not delivered within this (node offline) expires',
  },
  'jobs.retentionHours': {
    env: 'HOSTPLANE_OPERATIONS_RETENTION_HOURS',
    schema: int(1, 24 * 3650),
    default: 168,
    description: 'How long finished operations stay queryable before a periodic job removes them',
  },
  'migrations.concurrency': {
    env: 'HOSTPLANE_MIGRATIONS_CONCURRENCY',
    schema: int(1, 256),
    default: 4,
    description: 'Migrations one hub process runs at once (each also respects its own max_parallel)',
  },
  'migrations.stepDeadlineSeconds': {
    env: 'HOSTPLANE_MIGRATIONS_STEP_DEADLINE_SECONDS',
    schema: int(10, 86_400),
    default: 900,
    description: 'An agent job of a migration step not delivered within this (node away) fails the migration',
  },
  'migrations.stallSeconds': {
    env: 'HOSTPLANE_MIGRATIONS_STALL_SECONDS',
    schema: int(2, 86_400),
    default: 300,
    description: 'A migration step with no progress (no bytes moved, no change in its agent job) for this long fails, and the migration rolls back',
  },
  'migrations.transferBytesPerSecond': {
    env: 'HOSTPLANE_MIGRATIONS_TRANSFER_BYTES_PER_SECOND',
    schema: int(0, 1_000_000_000_000),
    default: 0,
    description: 'Caps each migration transfer at this many bytes per second (0: no cap), so a drain leaves bandwidth for the instances that run',
  },
  'migrations.sweepSeconds': {
    env: 'HOSTPLANE_MIGRATIONS_SWEEP_SECONDS',
    schema: int(1, 3600),
    default: 5,
    description: 'How often drains advance, lost instances are looked for and migration jobs Redis lost are queued again',
  },
  'backups.maxPerInstance': {
    env: 'HOSTPLANE_BACKUPS_MAX_PER_INSTANCE',
    schema: int(1, 10_000),
    default: 10,
    description: 'Backups an instance may have (failed ones do not count); one more gets 409 backup_limit_reached',
  },
  'outbound.allow': {
    env: 'HOSTPLANE_OUTBOUND_ALLOW',
    schema: outboundAllow,
    default: [],
    description: 'Non-public addresses (CIDRs) and host names the hub may reach for tenants (S3 endpoints, webhooks); all others are refused',
  },
  'outbound.connectTimeoutSeconds': {
    env: 'HOSTPLANE_OUTBOUND_CONNECT_TIMEOUT_SECONDS',
    schema: int(1, 60),
    default: 5,
    description: 'Connect timeout of outbound requests; every failed connection answers after this long, so timing does not tell closed from filtered ports',
  },
  'events.maxLength': {
    env: 'HOSTPLANE_EVENTS_MAX_LENGTH',
    schema: int(10, 100_000_000),
    default: 100_000,
    description: 'Events kept for replay (approximate cap of the Redis stream)',
  },
  'events.maxAgeSeconds': {
    env: 'HOSTPLANE_EVENTS_MAX_AGE_SECONDS',
    schema: int(60, 365 * 86_400),
    default: 86_400,
    description: 'Events older than this are dropped from the replay window',
  },
  'files.maxEditBytes': {
    env: 'HOSTPLANE_FILES_MAX_EDIT_BYTES',
    schema: int(1024, 1024 * 1024 * 1024),
    default: 4 * 1024 * 1024,
    description: 'Largest file GET …/files/content returns (the editor view); larger ones get 413 file_too_large (use …/files/download)',
  },
  'files.maxUploadBytes': {
    env: 'HOSTPLANE_FILES_MAX_UPLOAD_BYTES',
    schema: int(1024, 1024 ** 4),
    default: 10 * 1024 ** 3,
    description: 'Largest single file accepted by PUT …/files/content, a multipart upload or a TUS upload (Tus-Max-Size)',
  },
  'files.maxUploadRequestBytes': {
    env: 'HOSTPLANE_FILES_MAX_UPLOAD_REQUEST_BYTES',
    schema: int(1024, 1024 ** 4),
    default: 20 * 1024 ** 3,
    description: 'Largest total of all files of one multipart upload request',
  },
  'files.uploadTtlHours': {
    env: 'HOSTPLANE_FILES_UPLOAD_TTL_HOURS',
    schema: int(1, 24 * 30),
    default: 24,
    description: 'How long an unfinished TUS upload can be resumed before it and its staged bytes on the node are removed',
  },
  'console.scrollbackLines': {
    env: 'HOSTPLANE_CONSOLE_SCROLLBACK_LINES',
    schema: int(0, 1000),
    default: 100,
    description: 'Output lines an instance console sends as scrollback when a client connects (a client may ask for fewer or more with ?scrollback=, up to 1000)',
  },
  'relay.listen': {
    env: 'HOSTPLANE_RELAY_LISTEN',
    schema: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/, { message: 'must be host:port (or [v6]:port)' })
      .transform((v) => {
        const at = v.lastIndexOf(':');
        return { host: v.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(v.slice(at + 1)) };
      })
      .refine((v) => v.port <= 65535, { message: 'port must be at most 65535' }),
    default: '127.0.0.1:0',
    description:
      'Internal listener where other hub replicas open streams to nodes whose agent is connected to this one (port 0: any free port). Keep it off the public network: callers authenticate with a key derived from HOSTPLANE_ENCRYPTION_KEY',
  },
  'relay.internalUrl': {
    env: 'HOSTPLANE_INTERNAL_URL',
    schema: url(['ws:', 'http:']),
    description: 'How other replicas reach this one\'s relay listener (e.g. ws://10.0.3.7:8081); unset: the listen address (for a wildcard listen, the first non-loopback IPv4)',
  },
} satisfies Record<string, ConfigField>;

export type ConfigPath = keyof typeof CONFIG_FIELDS;

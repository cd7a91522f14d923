import { isIP } from 'node:net';
import { z } from 'zod';
import { bool, csv, int, oneOf, setting, url, withoutTrailingSlash } from '@hostplane/config';

/**
 * Every hub setting, once: where it sits in the YAML file (its property path), its environment
 * variable, its schema (parsing, default) and its description (docs/operations.md is generated
 * from it). The config type is `z.infer` of this schema.
 */

/** An address, CIDR, host name or `*.domain`: what `HOSTPLANE_OUTBOUND_ALLOW` lists. */
const outboundAllow = csv().pipe(
  z.array(
    z.string().refine(
      (entry) => {
        const e = entry.toLowerCase().replace(/^\[(.*)\]$/, '$1');
        const [addr = '', prefix] = e.split('/');
        const family = isIP(addr);
        if (family)
          return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
        return (
          prefix === undefined && /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(e)
        );
      },
      { message: 'each entry must be an address, a CIDR (10.0.0.0/8, fd00::/8), a host name or *.domain' },
    ),
  ),
);

const jwtKeys = csv()
  .pipe(
    z
      .array(
        z.string().regex(/^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=_-]{43,}$/, {
          message: 'each key must be "kid:secret" with a secret of at least 32 bytes (base64)',
        }),
      )
      .min(1, { message: 'must list at least one "kid:secret" key' }),
  )
  .transform((entries) =>
    entries.map((entry) => {
      const [kid, secret] = entry.split(':') as [string, string];
      return { kid, secret: Buffer.from(secret, 'base64') };
    }),
  );

const encryptionKey = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32, {
    message: 'must be 32 random bytes, base64-encoded (openssl rand -base64 32)',
  })
  .transform((v) => Buffer.from(v, 'base64'));

const nonEmpty = () => z.string().min(1);
const httpUrl = () => url(['http:', 'https:']);

export const hubConfigSchema = z.object({
  env: setting(
    'HOSTPLANE_ENV',
    oneOf(['production', 'development', 'test']).default('production'),
    'production requires explicit secrets; development generates them under the data dir',
  ),
  http: z.object({
    host: setting('HOSTPLANE_HOST', nonEmpty().default('0.0.0.0'), 'Address to listen on'),
    port: setting('HOSTPLANE_PORT', int(0, 65535).default(8080), 'HTTP port (0 = any free port)'),
    publicUrl: setting(
      'HOSTPLANE_PUBLIC_URL',
      httpUrl().transform(withoutTrailingSlash),
      'URL users and agents reach the hub at (links in mail, agent install commands)',
      {
        devDefault: 'http://localhost:8080',
      },
    ),
    bodyLimitBytes: setting(
      'HOSTPLANE_BODY_LIMIT_BYTES',
      int(1024, 1024 * 1024 * 1024).default(1024 * 1024),
      'Largest JSON body accepted; larger ones get 413',
    ),
    trustProxy: setting(
      'HOSTPLANE_TRUST_PROXY',
      csv().default([]),
      'Comma-separated proxy addresses/CIDRs whose X-Forwarded-For is trusted',
    ),
    shutdownTimeoutSeconds: setting(
      'HOSTPLANE_SHUTDOWN_TIMEOUT_SECONDS',
      int(1, 600).default(25),
      'How long SIGTERM waits for in-flight requests before closing them',
    ),
  }),
  database: z.object({
    url: setting('HOSTPLANE_DATABASE_URL', url(['postgres:', 'postgresql:']), 'PostgreSQL connection URL', {
      devDefault: 'postgres://postgres@127.0.0.1:5432/hostplane',
      secret: true,
    }),
    autoMigrate: setting('HOSTPLANE_DATABASE_AUTO_MIGRATE', bool().default(true), 'Apply pending migrations at start'),
    connectTimeoutSeconds: setting(
      'HOSTPLANE_DATABASE_CONNECT_TIMEOUT_SECONDS',
      int(1, 3600).default(60),
      'How long start-up retries an unreachable database (with backoff) before giving up',
    ),
    poolSize: setting('HOSTPLANE_DATABASE_POOL_SIZE', int(1, 500).default(20), 'Connections per hub process'),
  }),
  redis: z.object({
    url: setting(
      'HOSTPLANE_REDIS_URL',
      z
        .string()
        .refine((v) => v.split(',').every((seed) => url(['redis:', 'rediss:']).safeParse(seed.trim()).success), {
          message:
            'must be a URL starting with redis:// or rediss://, or several comma-separated (the seeds of a Redis Cluster)',
        }),
      'Redis URL (queues, rate limits, fan-out); several comma-separated URLs are the seed nodes of a Redis Cluster',
      { devDefault: 'redis://127.0.0.1:6379', secret: true },
    ),
    cluster: setting(
      'HOSTPLANE_REDIS_CLUSTER',
      bool().default(false),
      'Treat HOSTPLANE_REDIS_URL as a Redis Cluster even when it names one seed (several seeds always mean a cluster)',
    ),
    prefix: setting(
      'HOSTPLANE_REDIS_PREFIX',
      z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be 1-64 letters, digits, "_", "-" or "."' })
        .default('hp'),
      'Prefix of every Redis key, so several hubs or test runs share one Redis',
    ),
  }),
  log: z.object({
    level: setting(
      'HOSTPLANE_LOG_LEVEL',
      oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      'Log level (JSON lines on stdout)',
    ),
  }),
  dataDir: setting(
    'HOSTPLANE_DATA_DIR',
    nonEmpty().default('/var/lib/hostplane'),
    'Where development secrets are persisted',
    { devDefault: '.hostplane' },
  ),
  secrets: z.object({
    encryptionKey: setting(
      'HOSTPLANE_ENCRYPTION_KEY',
      encryptionKey,
      'Key that encrypts stored credentials (AES-256-GCM)',
      {
        secret: true,
        defaultText: 'required in production (development: generated)',
      },
    ),
    jwtKeys: setting(
      'HOSTPLANE_JWT_KEYS',
      jwtKeys,
      'Comma-separated "kid:secret" signing keys; the first signs, all verify (rotation)',
      {
        secret: true,
        defaultText: 'required in production (development: generated)',
      },
    ),
  }),
  rateLimit: z.object({
    max: setting(
      'HOSTPLANE_RATE_LIMIT_MAX',
      int(1, 10_000_000).default(600),
      'Requests per client per window on every route',
    ),
    windowSeconds: setting('HOSTPLANE_RATE_LIMIT_WINDOW_SECONDS', int(1, 86_400).default(60), 'Rate-limit window'),
    authMax: setting(
      'HOSTPLANE_RATE_LIMIT_AUTH_MAX',
      int(1, 10_000_000).default(20),
      'Requests per client per window on login, MFA and password routes',
    ),
  }),
  auth: z.object({
    bootstrapEnabled: setting(
      'HOSTPLANE_BOOTSTRAP_ENABLED',
      bool().default(true),
      'Allow POST /v1/auth/bootstrap to create the first platform admin while no user exists',
    ),
    bootstrapToken: setting(
      'HOSTPLANE_BOOTSTRAP_TOKEN',
      z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
      'When set, bootstrap also requires this value as setup_token (protects a hub exposed before setup)',
      { secret: true },
    ),
    registration: setting(
      'HOSTPLANE_REGISTRATION',
      oneOf(['open', 'invite-only', 'closed']).default('invite-only'),
      'Who may sign up: anyone (open), holders of an organization invite (invite-only), nobody (closed)',
    ),
    passwordMinLength: setting('HOSTPLANE_PASSWORD_MIN_LENGTH', int(8, 128).default(12), 'Shortest password accepted'),
    refreshTokenTtlDays: setting(
      'HOSTPLANE_REFRESH_TOKEN_TTL_DAYS',
      int(1, 365).default(30),
      'How long a login session (refresh token family) lasts without being refreshed',
    ),
    passwordResetTtlMinutes: setting(
      'HOSTPLANE_PASSWORD_RESET_TTL_MINUTES',
      int(5, 1440).default(60),
      'Lifetime of a password reset link',
    ),
    inviteTtlHours: setting(
      'HOSTPLANE_INVITE_TTL_HOURS',
      int(1, 24 * 90).default(168),
      'Lifetime of an organization invite',
    ),
    cacheSeconds: setting(
      'HOSTPLANE_AUTH_CACHE_SECONDS',
      int(0, 10).default(2),
      "How long a replica may reuse a user's status and memberships; changes are also pushed to every replica at once (0 = no cache)",
    ),
    recheckSeconds: setting(
      'HOSTPLANE_AUTH_RECHECK_SECONDS',
      int(1, 3600).default(10),
      'How often open WebSockets and event streams re-check their access on their own, behind the pushed invalidations that close them at once',
    ),
    lockout: z.object({
      maxFailures: setting(
        'HOSTPLANE_LOGIN_MAX_FAILURES',
        int(1, 1000).default(5),
        'Failed logins for one account within the failure window before it is locked',
      ),
      ipMaxFailures: setting(
        'HOSTPLANE_LOGIN_IP_MAX_FAILURES',
        int(1, 100_000).default(50),
        'Failed logins from one IP address within the failure window before it is locked out',
      ),
      windowSeconds: setting(
        'HOSTPLANE_LOGIN_FAILURE_WINDOW_SECONDS',
        int(1, 86_400).default(900),
        'Window in which failed logins are counted',
      ),
      durationSeconds: setting(
        'HOSTPLANE_LOGIN_LOCKOUT_SECONDS',
        int(1, 86_400).default(900),
        'How long a locked account or IP address is refused (429 with Retry-After)',
      ),
    }),
  }),
  /** Undefined when no SMTP host is configured: mail is then not sent. */
  smtp: z
    .object({
      host: setting(
        'HOSTPLANE_SMTP_HOST',
        nonEmpty().optional(),
        'SMTP server for password reset and invite mail (unset: no mail is sent)',
      ),
      port: setting('HOSTPLANE_SMTP_PORT', int(1, 65535).default(587), 'SMTP port'),
      secure: setting(
        'HOSTPLANE_SMTP_SECURE',
        bool().default(false),
        'Implicit TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it',
      ),
      requireTls: setting(
        'HOSTPLANE_SMTP_REQUIRE_TLS',
        bool().default(false),
        'Refuse to send unless the connection is upgraded with STARTTLS',
      ),
      user: setting('HOSTPLANE_SMTP_USER', nonEmpty().optional(), 'SMTP user name (unset: no AUTH)'),
      password: setting('HOSTPLANE_SMTP_PASSWORD', nonEmpty().optional(), 'SMTP password', { secret: true }),
      from: setting(
        'HOSTPLANE_SMTP_FROM',
        z.string().min(3).default('Hostplane <hostplane@localhost>'),
        "From address of the hub's mail",
      ),
    })
    .transform(({ host, ...rest }) => (host === undefined ? undefined : { host, ...rest })),
  github: z.object({
    /** Both set, or GitHub sign-in is off. */
    clientId: setting(
      'HOSTPLANE_GITHUB_CLIENT_ID',
      nonEmpty().optional(),
      'GitHub OAuth app client id (unset: GitHub sign-in is off)',
    ),
    clientSecret: setting('HOSTPLANE_GITHUB_CLIENT_SECRET', nonEmpty().optional(), 'GitHub OAuth app client secret', {
      secret: true,
    }),
    authorizeUrl: setting(
      'HOSTPLANE_GITHUB_AUTHORIZE_URL',
      httpUrl().default('https://github.com/login/oauth/authorize'),
      'GitHub (Enterprise) authorization endpoint',
    ),
    tokenUrl: setting(
      'HOSTPLANE_GITHUB_TOKEN_URL',
      httpUrl().default('https://github.com/login/oauth/access_token'),
      'GitHub (Enterprise) token endpoint',
    ),
    userUrl: setting(
      'HOSTPLANE_GITHUB_USER_URL',
      httpUrl().default('https://api.github.com/user'),
      'GitHub (Enterprise) API user endpoint; its /emails sub-path gives verified addresses',
    ),
  }),
  agents: z.object({
    heartbeatSeconds: setting(
      'HOSTPLANE_AGENT_HEARTBEAT_SECONDS',
      int(1, 3600).default(10),
      'How often agents send a heartbeat (told to them at connect)',
    ),
    offlineAfterMissed: setting(
      'HOSTPLANE_AGENT_OFFLINE_AFTER_MISSED',
      int(1, 100).default(3),
      'Missed heartbeats after which a node is marked offline',
    ),
    registrationTokenTtlSeconds: setting(
      'HOSTPLANE_AGENT_REGISTRATION_TTL_SECONDS',
      int(60, 30 * 86_400).default(3600),
      'Default lifetime of a node registration token',
    ),
    defaultAllocations: setting(
      'HOSTPLANE_AGENT_DEFAULT_ALLOCATIONS',
      z
        .string()
        .regex(/^$|^(\[[0-9A-Fa-f:.]+\]|[0-9.]+):\d{1,5}-\d{1,5}$/, {
          message: 'must be "ip:from-to" (0.0.0.0:30000-30099), or empty for no default pool',
        })
        .default('0.0.0.0:30000-30099'),
      'Allocation pool (ip:from-to) every newly registered node gets; empty: none (add them with POST /v1/nodes/{id}/allocations)',
    ),
    bundleDir: setting(
      'HOSTPLANE_AGENT_BUNDLE_DIR',
      nonEmpty().nullable().default(null),
      'Directory of the agent bundles `GET /v1/agent/bundle/{os}-{arch}` serves (`hostplane-agent-<os>-<arch>.tar.gz`, built by `npm run bundle:agent`)',
      { defaultText: '`apps/hub/agent-bundles`' },
    ),
  }),
  metrics: z.object({
    rawRetentionHours: setting(
      'HOSTPLANE_METRICS_RAW_RETENTION_HOURS',
      int(1, 24 * 365).default(48),
      'How long per-heartbeat node and instance metrics are kept before only 5-minute averages remain',
    ),
    rollupRetentionDays: setting(
      'HOSTPLANE_METRICS_ROLLUP_RETENTION_DAYS',
      int(1, 3650).default(90),
      'How long 5-minute averages of node and instance metrics are kept',
    ),
  }),
  jobs: z.object({
    lockSeconds: setting(
      'HOSTPLANE_JOBS_LOCK_SECONDS',
      int(2, 3600).default(30),
      'BullMQ lock duration: a job whose hub dies is redelivered after this',
    ),
    stalledCheckSeconds: setting(
      'HOSTPLANE_JOBS_STALLED_CHECK_SECONDS',
      int(1, 3600).default(15),
      'How often stalled jobs (their hub died) are looked for',
    ),
    ackTimeoutSeconds: setting(
      'HOSTPLANE_JOBS_ACK_TIMEOUT_SECONDS',
      int(1, 600).default(10),
      'How long the hub waits for an agent to acknowledge a job before redelivering it',
    ),
    defaultDeadlineSeconds: setting(
      'HOSTPLANE_JOBS_DEFAULT_DEADLINE_SECONDS',
      int(1, 30 * 86_400).default(86_400),
      'A job not delivered within this (node offline) expires',
    ),
    retentionHours: setting(
      'HOSTPLANE_OPERATIONS_RETENTION_HOURS',
      int(1, 24 * 3650).default(168),
      'How long finished operations stay queryable before a periodic job removes them',
    ),
  }),
  migrations: z.object({
    concurrency: setting(
      'HOSTPLANE_MIGRATIONS_CONCURRENCY',
      int(1, 256).default(4),
      'Migrations one hub process runs at once (each also respects its own max_parallel)',
    ),
    stepDeadlineSeconds: setting(
      'HOSTPLANE_MIGRATIONS_STEP_DEADLINE_SECONDS',
      int(10, 86_400).default(900),
      'An agent job of a migration step not delivered within this (node away) fails the migration',
    ),
    stallSeconds: setting(
      'HOSTPLANE_MIGRATIONS_STALL_SECONDS',
      int(2, 86_400).default(300),
      'A migration step with no progress (no bytes moved, no change in its agent job) for this long fails, and the migration rolls back',
    ),
    transferBytesPerSecond: setting(
      'HOSTPLANE_MIGRATIONS_TRANSFER_BYTES_PER_SECOND',
      int(0, 1_000_000_000_000).default(0),
      'Caps each migration transfer at this many bytes per second (0: no cap), so a drain leaves bandwidth for the instances that run',
    ),
    sweepSeconds: setting(
      'HOSTPLANE_MIGRATIONS_SWEEP_SECONDS',
      int(1, 3600).default(5),
      'How often drains advance, lost instances are looked for and migration jobs Redis lost are queued again',
    ),
  }),
  backups: z.object({
    maxPerInstance: setting(
      'HOSTPLANE_BACKUPS_MAX_PER_INSTANCE',
      int(1, 10_000).default(10),
      'Backups an instance may have (failed ones do not count); one more gets 409 backup_limit_reached',
    ),
  }),
  outbound: z.object({
    allow: setting(
      'HOSTPLANE_OUTBOUND_ALLOW',
      outboundAllow.default([]),
      'Non-public addresses (CIDRs) and host names the hub may reach for tenants (S3 endpoints, webhooks); all others are refused',
    ),
    connectTimeoutSeconds: setting(
      'HOSTPLANE_OUTBOUND_CONNECT_TIMEOUT_SECONDS',
      int(1, 60).default(5),
      'Connect timeout of outbound requests; every failed connection answers after this long, so timing does not tell closed from filtered ports',
    ),
  }),
  events: z.object({
    maxLength: setting(
      'HOSTPLANE_EVENTS_MAX_LENGTH',
      int(10, 100_000_000).default(100_000),
      'Events kept for replay (approximate cap of the Redis stream)',
    ),
    maxAgeSeconds: setting(
      'HOSTPLANE_EVENTS_MAX_AGE_SECONDS',
      int(60, 365 * 86_400).default(86_400),
      'Events older than this are dropped from the replay window',
    ),
  }),
  files: z.object({
    maxEditBytes: setting(
      'HOSTPLANE_FILES_MAX_EDIT_BYTES',
      int(1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
      'Largest file GET …/files/content returns (the editor view); larger ones get 413 file_too_large (use …/files/download)',
    ),
    maxUploadBytes: setting(
      'HOSTPLANE_FILES_MAX_UPLOAD_BYTES',
      int(1024, 1024 ** 4).default(10 * 1024 ** 3),
      'Largest single file accepted by PUT …/files/content, a multipart upload or a TUS upload (Tus-Max-Size)',
    ),
    maxUploadRequestBytes: setting(
      'HOSTPLANE_FILES_MAX_UPLOAD_REQUEST_BYTES',
      int(1024, 1024 ** 4).default(20 * 1024 ** 3),
      'Largest total of all files of one multipart upload request',
    ),
    uploadTtlHours: setting(
      'HOSTPLANE_FILES_UPLOAD_TTL_HOURS',
      int(1, 24 * 30).default(24),
      'How long an unfinished TUS upload can be resumed before it and its staged bytes on the node are removed',
    ),
  }),
  console: z.object({
    scrollbackLines: setting(
      'HOSTPLANE_CONSOLE_SCROLLBACK_LINES',
      int(0, 1000).default(100),
      'Output lines an instance console sends as scrollback when a client connects (a client may ask for fewer or more with ?scrollback=, up to 1000)',
    ),
  }),
  relay: z.object({
    listen: setting(
      'HOSTPLANE_RELAY_LISTEN',
      z
        .string()
        .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/, { message: 'must be host:port (or [v6]:port)' })
        .default('127.0.0.1:0')
        .transform((v) => {
          const at = v.lastIndexOf(':');
          return { host: v.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(v.slice(at + 1)) };
        })
        .refine((v) => v.port <= 65535, { message: 'port must be at most 65535' }),
      'Internal listener where other hub replicas open streams to nodes whose agent is connected to this one (port 0: any free port). Keep it off the public network: callers authenticate with a key derived from HOSTPLANE_ENCRYPTION_KEY',
    ),
    internalUrl: setting(
      'HOSTPLANE_INTERNAL_URL',
      url(['ws:', 'http:']).optional(),
      "How other replicas reach this one's relay listener (e.g. ws://10.0.3.7:8081); unset: the listen address (for a wildcard listen, the first non-loopback IPv4)",
    ),
  }),
});

export type HubConfig = z.infer<typeof hubConfigSchema>;

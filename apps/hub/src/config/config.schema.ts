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
} satisfies Record<string, ConfigField>;

export type ConfigPath = keyof typeof CONFIG_FIELDS;

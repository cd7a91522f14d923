import pino, { DestinationStream, Logger } from 'pino';
import type { HubConfig } from '../config/load-config';

export const HUB_LOGGER = Symbol('HUB_LOGGER');

/** Header and body fields that never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-agent-token"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.current_password',
  '*.token',
  '*.refresh_token',
  '*.access_token',
  '*.secret',
];

/** Query parameters whose values are credentials (OAuth codes, WebSocket tokens, …). */
const SECRET_QUERY_KEYS = new Set([
  'code',
  'state',
  'token',
  'access_token',
  'refresh_token',
  'api_key',
  'key',
  'secret',
  'password',
]);

/**
 * The request URL as it may be logged: path parameters named `token` (invite links) and secret
 * query values are replaced, so a credential carried in a URL never reaches a log line.
 */
export function loggableUrl(url: string, routePattern: string | undefined, params: unknown): string {
  const [path = '', query] = url.split('?', 2);
  let safePath = path;
  if (routePattern?.includes(':token') && params && typeof params === 'object') {
    const token = (params as Record<string, unknown>).token;
    if (typeof token === 'string' && token)
      safePath = safePath.split(encodeURIComponent(token)).join('[redacted]').split(token).join('[redacted]');
  }
  if (query === undefined) return safePath;
  const search = new URLSearchParams(query);
  for (const key of [...search.keys()]) if (SECRET_QUERY_KEYS.has(key.toLowerCase())) search.set(key, '[redacted]');
  return `${safePath}?${search.toString()}`;
}

export function createLogger(config: Pick<HubConfig, 'log'>, destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.log.level,
      base: { service: 'hostplane-hub' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: {
        err: pino.stdSerializers.err,
        req: (req: { method: string; url: string; headers: Record<string, unknown>; ip?: string }) => ({
          method: req.method,
          url: req.url,
          ip: req.ip,
          headers: req.headers,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

import { networkInterfaces } from 'node:os';

/** Both ends of a relay connection ping this often; two missed pongs end it. */
export const RELAY_PING_MS = 5_000;

export interface RelaySettings {
  listen: { host: string; port: number };
  internalUrl?: string;
}

/**
 * What this replica tells the others to dial: `HOSTPLANE_INTERNAL_URL` when set; otherwise the
 * listen address, and for a wildcard listen (0.0.0.0, ::) this host's first non-loopback IPv4.
 */
export function advertisedRelayUrl(settings: RelaySettings, boundPort: number): string {
  if (settings.internalUrl) return settings.internalUrl.replace(/^http/, 'ws').replace(/\/+$/, '');
  let host = settings.listen.host;
  if (host === '0.0.0.0' || host === '::') {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    host = external?.address ?? '127.0.0.1';
  }
  return `ws://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
}

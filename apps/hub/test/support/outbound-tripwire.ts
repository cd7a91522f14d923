import { isIP, Socket } from 'node:net';
import { outboundNet, OpenSocketOptions, ResolvedAddress } from '../../src/outbound/guarded-connect';

function isLoopback(ip: string): boolean {
  if (isIP(ip) === 4) return ip.startsWith('127.');
  return ip === '::1';
}

/**
 * Wraps the outbound client's last step (opening a socket to a vetted address) so that a test
 * can never send traffic off the machine, even when the guard is broken: a non-loopback open
 * throws and is recorded. `names` answers lookups for test host names; unknown names fail.
 * `blackHoles` are loopback addresses whose connect never completes (a filtered port).
 */
export class OutboundTripwire {
  readonly opened: string[] = [];
  readonly blocked: string[] = [];
  readonly names = new Map<string, string[]>();
  readonly blackHoles = new Set<string>();
  private readonly original = { ...outboundNet };

  static install(): OutboundTripwire {
    const t = new OutboundTripwire();
    outboundNet.open = (o: OpenSocketOptions): Socket => {
      if (!isLoopback(o.ip)) {
        t.blocked.push(`${o.ip}:${o.port}`);
        throw new Error(`test tripwire: refused to connect to non-loopback ${o.ip}:${o.port}`);
      }
      t.opened.push(`${o.ip}:${o.port}`);
      if (t.blackHoles.has(o.ip)) return new Socket();
      return t.original.open(o);
    };
    outboundNet.lookup = async (host: string): Promise<ResolvedAddress[]> => {
      const ips = t.names.get(host.toLowerCase());
      if (!ips) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return ips.map((address) => ({ address, family: isIP(address) }));
    };
    return t;
  }

  restore(): void {
    Object.assign(outboundNet, this.original);
  }
}

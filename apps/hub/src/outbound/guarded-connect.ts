import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, Socket, connect as netConnect } from 'node:net';
import { connect as tlsConnect, ConnectionOptions } from 'node:tls';
import { DomainError } from '../http/errors';
import { decideOutbound, OutboundAllowList } from './address-policy';

export class OutboundRefusedError extends DomainError {
  constructor(host: string, reason: string) {
    super(
      `outbound connection to "${host}" refused: it resolves to a ${reason} address, which the hub does not reach on a tenant's behalf (an operator can allow it with HOSTPLANE_OUTBOUND_ALLOW)`,
      'outbound_refused',
      422,
    );
  }
}

/**
 * One message for closed, filtered, unresolvable and timed-out: the answer must not map the
 * network behind the hub. The code is not one the AWS SDK retries, so the timing stays one class.
 */
export class OutboundUnreachableError extends DomainError {
  constructor(host: string, port: number) {
    super(`could not connect to ${host}:${port}`, 'remote_unreachable', 502);
  }
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface OpenSocketOptions {
  ip: string;
  port: number;
  /** TLS with this SNI/certificate name when set. */
  tls?: ConnectionOptions & { servername: string };
}

/**
 * The only two steps through which the hub reaches the network on a tenant's behalf: name
 * resolution and opening a socket to an already-vetted address. Tests replace them (a custom
 * resolver; an opener that refuses and records anything but loopback) so that no test can send
 * traffic off the machine even when the guard itself is broken.
 */
export const outboundNet = {
  async lookup(host: string): Promise<ResolvedAddress[]> {
    return dnsLookup(host, { all: true, verbatim: true });
  },
  open(o: OpenSocketOptions): Socket {
    if (!o.tls) return netConnect({ host: o.ip, port: o.port });
    // SNI takes names only; for an address the certificate is checked against `host`, the same address.
    const { servername, ...tls } = o.tls;
    return tlsConnect({ ...tls, ...(isIP(servername) ? {} : { servername }), host: o.ip, port: o.port });
  },
};

export interface GuardedConnectTarget {
  host: string;
  port: number;
  tls?: ConnectionOptions & { servername: string };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function waitConnected(socket: Socket, secure: boolean, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('connect timeout')), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    };
    function fail(err: Error) {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    }
    socket.once(secure ? 'secureConnect' : 'connect', done);
    socket.once('error', fail);
  });
}

/**
 * Resolves `host` at connect time (so a name that rebinds between a check and the request is
 * checked on the address actually used), keeps only the addresses the policy allows, and opens
 * a socket to the first that answers. A refusal opens no socket; every other failure waits out
 * `timeoutMs` from the start and gives one message.
 */
export async function guardedConnect(
  allow: OutboundAllowList,
  target: GuardedConnectTarget,
  timeoutMs: number,
): Promise<Socket> {
  const started = Date.now();
  const host = target.host.replace(/^\[(.*)\]$/, '$1');
  const unreachable = async (): Promise<never> => {
    await sleep(Math.max(0, timeoutMs - (Date.now() - started)));
    throw new OutboundUnreachableError(target.host, target.port);
  };
  let addresses: ResolvedAddress[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await outboundNet.lookup(host);
    } catch {
      return unreachable();
    }
  }
  let refusal: string | undefined;
  const permitted = addresses.filter((a) => {
    const d = decideOutbound(allow, host, a.address);
    if (!d.allowed) refusal ??= d.reason;
    return d.allowed;
  });
  if (!permitted.length) {
    if (refusal) throw new OutboundRefusedError(target.host, refusal);
    return unreachable();
  }
  for (const a of permitted) {
    const left = timeoutMs - (Date.now() - started);
    if (left <= 0) break;
    try {
      return await waitConnected(
        outboundNet.open({ ip: a.address, port: target.port, tls: target.tls }),
        !!target.tls,
        left,
      );
    } catch {
      // Next address; the caller learns only that none answered.
    }
  }
  return unreachable();
}

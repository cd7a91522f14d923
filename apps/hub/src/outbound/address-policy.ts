import { BlockList, isIP } from 'node:net';

/**
 * Which addresses the hub may connect to on a tenant's behalf. Pure: no Nest, no sockets, so the
 * decision is tested on addresses directly. Anything not public unicast is refused unless the
 * operator allow-lists it (`HOSTPLANE_OUTBOUND_ALLOW`).
 */

const V4_RANGES: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared address space (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

const V6_RANGES: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['100::', 64, 'discard-only'],
  ['2001::', 23, 'IETF protocol assignments'],
  ['2001:db8::', 32, 'documentation'],
  ['fc00::', 7, 'private (unique local)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

function rangeList(): { list: BlockList; reasons: { list: BlockList; reason: string }[] } {
  const list = new BlockList();
  const reasons: { list: BlockList; reason: string }[] = [];
  for (const [net, prefix, reason] of V4_RANGES) {
    const one = new BlockList();
    one.addSubnet(net, prefix, 'ipv4');
    list.addSubnet(net, prefix, 'ipv4');
    reasons.push({ list: one, reason });
  }
  for (const [net, prefix, reason] of V6_RANGES) {
    const one = new BlockList();
    one.addSubnet(net, prefix, 'ipv6');
    list.addSubnet(net, prefix, 'ipv6');
    reasons.push({ list: one, reason });
  }
  return { list, reasons };
}

const FORBIDDEN = rangeList();

/** The 16 bytes of an IPv6 address (`isIP(ip) === 6` already checked); handles `::` and a dotted tail. */
function ipv6Bytes(ip: string): number[] {
  let text = ip.split('%')[0] ?? ip;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail?.[1]) {
    const v4 = tail[1].split('.').map(Number);
    text =
      text.slice(0, -tail[1].length) +
      `${(((v4[0] ?? 0) << 8) | (v4[1] ?? 0)).toString(16)}:${(((v4[2] ?? 0) << 8) | (v4[3] ?? 0)).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const groups =
    rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/**
 * The IPv4 address an IPv6 form carries to the same host: IPv4-mapped (`::ffff:a.b.c.d`),
 * IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`) and 6to4 (`2002::/16`).
 */
export function embeddedIpv4(ip: string): string | null {
  if (isIP(ip) !== 6) return null;
  const b = ipv6Bytes(ip);
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number) => b.slice(at, at + 4).join('.');
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12);
  if (zero(0, 12) && !zero(12, 14)) return v4(12);
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) return v4(12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return null;
}

/** Why `ip` is not a public unicast address, or null when it is. */
export function forbiddenReason(ip: string): string | null {
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  const inner = embeddedIpv4(ip);
  if (inner) {
    const why = forbiddenReason(inner);
    if (why) return why;
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const bare = ip.split('%')[0] ?? ip;
  if (!FORBIDDEN.list.check(bare, type)) return null;
  return FORBIDDEN.reasons.find((r) => r.list.check(bare, type))?.reason ?? 'not public';
}

export interface OutboundAllowList {
  addresses: BlockList;
  hosts: Set<string>;
  /** `*.example.com` entries, stored as `.example.com`. */
  hostSuffixes: string[];
}

/**
 * Parses `HOSTPLANE_OUTBOUND_ALLOW` entries: CIDRs (`10.0.0.0/8`, `fd00::/8`), single addresses,
 * host names (`minio.internal`) and `*.suffix` wildcards. Throws on an entry that is none of them.
 */
export function parseAllowList(entries: string[]): OutboundAllowList {
  const allow: OutboundAllowList = { addresses: new BlockList(), hosts: new Set(), hostSuffixes: [] };
  for (const raw of entries) {
    const entry = raw
      .trim()
      .toLowerCase()
      .replace(/^\[(.*)\]$/, '$1');
    if (!entry) continue;
    const [addr = '', prefixText] = entry.split('/');
    const family = isIP(addr);
    if (family) {
      const max = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max)
        throw new Error(`"${raw}" has an invalid prefix length`);
      allow.addresses.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
    } else if (/^\*\.[a-z0-9.-]+$/.test(entry)) {
      allow.hostSuffixes.push(entry.slice(1));
    } else if (
      /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry) &&
      prefixText === undefined
    ) {
      allow.hosts.add(entry);
    } else {
      throw new Error(`"${raw}" is not an address, CIDR, host name or *.domain`);
    }
  }
  return allow;
}

export type OutboundDecision = { allowed: true } | { allowed: false; reason: string };

/**
 * Whether the hub may connect to `ip`, reached as `host`. An allow-listed host name admits
 * whatever it resolves to (the operator vouches for that name); otherwise the address itself
 * must be public or inside an allow-listed range.
 */
export function decideOutbound(allow: OutboundAllowList, host: string, ip: string): OutboundDecision {
  const name = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  if (allow.hosts.has(name) || allow.hostSuffixes.some((s) => name.endsWith(s))) return { allowed: true };
  const bare = ip.split('%')[0] ?? ip;
  const family = isIP(bare);
  if (family === 0) return { allowed: false, reason: 'not an IP address' };
  if (allow.addresses.check(bare, family === 4 ? 'ipv4' : 'ipv6')) return { allowed: true };
  const inner = embeddedIpv4(bare);
  if (inner && allow.addresses.check(inner, 'ipv4')) return { allowed: true };
  const reason = forbiddenReason(bare);
  return reason ? { allowed: false, reason } : { allowed: true };
}

import os from 'node:os';
import type { z } from 'zod';
import type { networkInterface } from '@hostplane/protocol';

export type NetworkInterfaceInventory = z.infer<typeof networkInterface>;

const NO_MAC = '00:00:00:00:00:00';

/** Interfaces with at least one address (what `os.networkInterfaces` knows), sorted by name. */
export function collectNetwork(): NetworkInterfaceInventory[] {
  return Object.entries(os.networkInterfaces())
    .map(([name, addrs = []]) => ({
      name,
      mac: addrs.find((a) => a.mac && a.mac !== NO_MAC)?.mac ?? null,
      internal: addrs.length > 0 && addrs.every((a) => a.internal),
      addresses: addrs.map((a) => ({
        address: a.address,
        // Node 18.0–18.3 reported the family as a number.
        family: String(a.family) === '6' || a.family === 'IPv6' ? ('IPv6' as const) : ('IPv4' as const),
        cidr: a.cidr ?? null,
      })),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

import type { EntityManager } from 'typeorm';

/** `0.0.0.0:30000-30099` → what `insertDefaultPool` adds; null when the setting is empty (no default pool). */
export interface DefaultPool {
  ip: string;
  from: number;
  to: number;
}

export const DEFAULT_POOL_PATTERN = /^(?<ip>\[[0-9A-Fa-f:.]+\]|[0-9.]+):(?<from>\d{1,5})-(?<to>\d{1,5})$/;

export function parseDefaultPool(setting: string): DefaultPool | null {
  const m = DEFAULT_POOL_PATTERN.exec(setting.trim());
  if (!m?.groups) return null;
  return { ip: m.groups.ip!.replace(/^\[|\]$/g, ''), from: Number(m.groups.from), to: Number(m.groups.to) };
}

/** The pool a node gets at registration, so a fresh node runs instances with ports before an admin sizes it. */
export async function insertDefaultPool(
  tx: EntityManager,
  orgId: string,
  nodeId: string,
  pool: DefaultPool | null,
): Promise<void> {
  if (!pool) return;
  await tx.query(
    `INSERT INTO allocations (org_id, node_id, ip, port) SELECT $1, $2, $3, p FROM generate_series($4::int, $5::int) p ON CONFLICT DO NOTHING`,
    [orgId, nodeId, pool.ip, pool.from, pool.to],
  );
}

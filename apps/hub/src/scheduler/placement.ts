/**
 * Placement: which node should run a workload. Pure and synchronous (no Nest, no I/O), so it is
 * tested without a container and benchmarked on its own (`npm run bench -- placement`).
 *
 * Filters, in the order they are explained: online, schedulable (not cordoned or draining), the
 * driver is available, every required label matches, free cpu, memory and disk cover the
 * request, and the node's allocation pool has as many free ports as the instance needs. Scoring looks at the dominant
 * share (the largest of cpu, memory and disk used after
 * placement, as a fraction of capacity): binpack prefers the fullest node that fits, spread the
 * emptiest. Ties go to the smaller node id, so the same input always gives the same answer.
 */

export type NodeId = string;
export type PlacementStrategy = 'binpack' | 'spread';

export interface PlacementResources {
  cpu_cores: number;
  memory_bytes: number;
  disk_bytes: number;
}

export interface PlacementNode {
  id: NodeId;
  status: string;
  schedulable: boolean;
  drivers: readonly { name: string; available: boolean; reason?: string; sandboxed?: boolean }[];
  labels: Readonly<Record<string, string>>;
  capacity: PlacementResources;
  allocated: PlacementResources;
  /** Free allocations (ip:port) in the node's pool; undefined: ports are not counted. */
  free_ports?: number;
}

export interface PlacementRequest {
  driver: string;
  resources: PlacementResources;
  /** Labels a node must carry with exactly these values. */
  node_labels?: Readonly<Record<string, string>>;
  /** A tenant's workload: nodes whose driver reports it cannot confine workloads (`sandboxed: false`) do not fit. */
  require_sandbox?: boolean;
  /** Host ports the instance takes from the node's allocation pool. */
  ports?: number;
}

export interface PlacementOptions {
  strategy?: PlacementStrategy;
  /** How many fitting nodes to rank (best first); the first is the one chosen. Default 10. */
  rankLimit?: number;
  /** How many rejected nodes get sentences (lowest ids first); the rest only count. Default 25. */
  explainLimit?: number;
}

export const REJECT_REASONS = ['offline', 'cordoned', 'driver', 'labels', 'cpu', 'memory', 'disk', 'ports'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Placement {
  chosen: NodeId | null;
  strategy: PlacementStrategy;
  ranked: { node_id: NodeId; score: number }[];
  rejected: { node_id: NodeId; reasons: string[] }[];
  /** Every rejected node counted under each filter it failed (a node can fail several). */
  rejected_counts: Record<RejectReason, number>;
  /** Nodes that fit, of which `ranked` shows the best. */
  fitting: number;
  rejected_total: number;
  evaluated: number;
}

const OFFLINE = 1;
const CORDONED = 2;
const DRIVER = 4;
const LABELS = 8;
const CPU = 16;
const MEMORY = 32;
const DISK = 64;
const PORTS = 128;
const BITS: readonly [number, RejectReason][] = [
  [OFFLINE, 'offline'],
  [CORDONED, 'cordoned'],
  [DRIVER, 'driver'],
  [LABELS, 'labels'],
  [CPU, 'cpu'],
  [MEMORY, 'memory'],
  [DISK, 'disk'],
  [PORTS, 'ports'],
];

// Capacity arithmetic on fractional cores: 0.1 + 0.2 must fit in 0.3.
const EPSILON = 1e-9;

export function place(
  request: PlacementRequest,
  nodes: readonly PlacementNode[],
  options: PlacementOptions = {},
): Placement {
  const strategy = options.strategy ?? 'binpack';
  const rankLimit = Math.max(1, options.rankLimit ?? 10);
  const explainLimit = Math.max(0, options.explainLimit ?? 25);
  const { driver } = request;
  const requireSandbox = request.require_sandbox === true;
  const { cpu_cores: cpu, memory_bytes: mem, disk_bytes: disk } = request.resources;
  const labelKeys = Object.keys(request.node_labels ?? {});
  const labelValues = labelKeys.map((k) => request.node_labels![k]!);
  const labelCount = labelKeys.length;
  const ports = request.ports ?? 0;

  // Best `rankLimit` fitting nodes as parallel arrays sorted best first, and the lowest-id
  // rejected nodes to explain: both bounded, so 10,000 nodes allocate nothing per node.
  const rankIdx: number[] = [];
  const rankScore: number[] = [];
  const explainIdx: number[] = [];
  const explainMask: number[] = [];
  const counts = [0, 0, 0, 0, 0, 0, 0, 0];
  let fitting = 0;
  let rejectedTotal = 0;

  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    let mask = 0;
    if (n.status !== 'online') mask |= OFFLINE;
    if (!n.schedulable) mask |= CORDONED;
    let hasDriver = false;
    const drivers = n.drivers;
    for (let d = 0; d < drivers.length; d++) {
      const entry = drivers[d]!;
      if (entry.name === driver && entry.available && !(requireSandbox && entry.sandboxed === false)) {
        hasDriver = true;
        break;
      }
    }
    if (!hasDriver) mask |= DRIVER;
    if (labelCount > 0) {
      const labels = n.labels;
      for (let l = 0; l < labelCount; l++) {
        if (labels[labelKeys[l]!] !== labelValues[l]) {
          mask |= LABELS;
          break;
        }
      }
    }
    const cap = n.capacity;
    const used = n.allocated;
    const cpuAfter = used.cpu_cores + cpu;
    const memAfter = used.memory_bytes + mem;
    const diskAfter = used.disk_bytes + disk;
    if (cpu > 0 && cpuAfter > cap.cpu_cores + EPSILON) mask |= CPU;
    if (mem > 0 && memAfter > cap.memory_bytes) mask |= MEMORY;
    if (disk > 0 && diskAfter > cap.disk_bytes) mask |= DISK;
    if (ports > 0 && n.free_ports !== undefined && n.free_ports < ports) mask |= PORTS;

    if (mask !== 0) {
      rejectedTotal++;
      if (mask & OFFLINE) counts[0]!++;
      if (mask & CORDONED) counts[1]!++;
      if (mask & DRIVER) counts[2]!++;
      if (mask & LABELS) counts[3]!++;
      if (mask & CPU) counts[4]!++;
      if (mask & MEMORY) counts[5]!++;
      if (mask & DISK) counts[6]!++;
      if (mask & PORTS) counts[7]!++;
      if (explainLimit > 0) keepLowestIds(nodes, explainIdx, explainMask, explainLimit, i, mask);
      continue;
    }

    fitting++;
    let share = 0;
    if (cap.cpu_cores > 0) share = cpuAfter / cap.cpu_cores;
    if (cap.memory_bytes > 0) {
      const s = memAfter / cap.memory_bytes;
      if (s > share) share = s;
    }
    if (cap.disk_bytes > 0) {
      const s = diskAfter / cap.disk_bytes;
      if (s > share) share = s;
    }
    if (share > 1) share = 1;
    const score = strategy === 'binpack' ? share : 1 - share;
    insertRanked(nodes, rankIdx, rankScore, rankLimit, i, score);
  }

  const rejectedCounts = {} as Record<RejectReason, number>;
  for (const [bit, reason] of BITS) rejectedCounts[reason] = counts[Math.log2(bit)]!;
  return {
    chosen: rankIdx.length ? nodes[rankIdx[0]!]!.id : null,
    strategy,
    ranked: rankIdx.map((idx, k) => ({ node_id: nodes[idx]!.id, score: Math.round(rankScore[k]! * 10_000) / 10_000 })),
    rejected: explainIdx.map((idx, k) => ({
      node_id: nodes[idx]!.id,
      reasons: explainRejection(nodes[idx]!, request, explainMask[k]!),
    })),
    rejected_counts: rejectedCounts,
    fitting,
    rejected_total: rejectedTotal,
    evaluated: nodes.length,
  };
}

/** Insertion into the bounded best-first list: higher score first, then the smaller id. */
function insertRanked(
  nodes: readonly PlacementNode[],
  idx: number[],
  scores: number[],
  limit: number,
  i: number,
  score: number,
): void {
  const id = nodes[i]!.id;
  let pos = idx.length;
  if (pos === limit && !outranks(score, id, scores[pos - 1]!, nodes[idx[pos - 1]!]!.id)) return;
  if (pos === limit) pos--;
  while (pos > 0 && outranks(score, id, scores[pos - 1]!, nodes[idx[pos - 1]!]!.id)) pos--;
  idx.splice(pos, 0, i);
  scores.splice(pos, 0, score);
  if (idx.length > limit) {
    idx.pop();
    scores.pop();
  }
}

function outranks(score: number, id: string, otherScore: number, otherId: string): boolean {
  return score > otherScore || (score === otherScore && id < otherId);
}

function keepLowestIds(
  nodes: readonly PlacementNode[],
  idx: number[],
  masks: number[],
  limit: number,
  i: number,
  mask: number,
): void {
  const id = nodes[i]!.id;
  if (idx.length === limit && id >= nodes[idx[limit - 1]!]!.id) return;
  let pos = idx.length === limit ? limit - 1 : idx.length;
  while (pos > 0 && id < nodes[idx[pos - 1]!]!.id) pos--;
  idx.splice(pos, 0, i);
  masks.splice(pos, 0, mask);
  if (idx.length > limit) {
    idx.pop();
    masks.pop();
  }
}

/** Sentences for one rejected node, one per failed filter, in filter order. */
export function explainRejection(node: PlacementNode, request: PlacementRequest, mask: number): string[] {
  const out: string[] = [];
  if (mask & OFFLINE)
    out.push(
      node.status === 'pending'
        ? 'node is pending: its agent has never connected'
        : `node is ${node.status}, not online`,
    );
  if (mask & CORDONED) out.push('node is cordoned: it accepts no new workloads');
  if (mask & DRIVER) {
    const entry = node.drivers.find((d) => d.name === request.driver);
    const present = node.drivers.filter((d) => d.available).map((d) => d.name);
    if (entry?.available && entry.sandboxed === false) {
      out.push(
        `driver ${request.driver} cannot sandbox workloads on this node${entry.reason ? ` (${entry.reason})` : ''}; only a platform admin may run ${request.driver} workloads here`,
      );
    } else if (entry)
      out.push(`driver ${request.driver} is not available on this node${entry.reason ? `: ${entry.reason}` : ''}`);
    else
      out.push(
        `driver ${request.driver} is not available on this node (it has: ${present.length ? present.join(', ') : 'none'})`,
      );
  }
  if (mask & LABELS) {
    for (const [key, want] of Object.entries(request.node_labels ?? {})) {
      const has = Object.hasOwn(node.labels, key) ? node.labels[key] : undefined;
      if (has === want) continue;
      out.push(
        has === undefined
          ? `needs label ${key}=${want}, node has no ${key} label`
          : `needs label ${key}=${want}, node has ${key}=${has}`,
      );
    }
  }
  const { capacity: cap, allocated: used } = node;
  const r = request.resources;
  if (mask & CPU)
    out.push(
      shortage(
        r.cpu_cores === 1 ? 'CPU core' : 'CPU cores',
        formatCores(r.cpu_cores),
        cap.cpu_cores,
        used.cpu_cores,
        formatCores,
        'cpu',
      ),
    );
  if (mask & MEMORY)
    out.push(shortage('memory', formatMiB(r.memory_bytes), cap.memory_bytes, used.memory_bytes, formatMiB, 'memory'));
  if (mask & DISK)
    out.push(shortage('disk', formatGiB(r.disk_bytes), cap.disk_bytes, used.disk_bytes, formatGiB, 'disk'));
  if (mask & PORTS) {
    const need = request.ports ?? 0;
    const free = node.free_ports ?? 0;
    out.push(
      `needs ${need} free port${need === 1 ? '' : 's'} from the node's allocation pool, ${free} free: its allocations are used up (add some with POST /v1/nodes/${node.id}/allocations)`,
    );
  }
  return out;
}

function shortage(
  what: string,
  need: string,
  capacity: number,
  allocated: number,
  format: (n: number) => string,
  resource: string,
): string {
  if (capacity <= 0)
    return `needs ${need} ${what}, but the node's ${resource} capacity is unknown: no inventory reported and no capacity override set`;
  const free = Math.max(0, capacity - allocated);
  return `needs ${need} ${what}, ${format(free)} free (${format(capacity)} total, ${format(allocated)} allocated)`;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function trim(n: number, decimals: number): string {
  return String(Math.round(n * 10 ** decimals) / 10 ** decimals);
}

export function formatCores(n: number): string {
  return trim(n, 2);
}

export function formatMiB(bytes: number): string {
  return `${trim(bytes / MiB, bytes < 10 * MiB ? 1 : 0)} MiB`;
}

export function formatGiB(bytes: number): string {
  return bytes < GiB ? `${trim(bytes / MiB, 0)} MiB` : `${trim(bytes / GiB, 1)} GiB`;
}

const COUNT_WORDS: Record<RejectReason, string> = {
  offline: 'not online',
  cordoned: 'cordoned',
  driver: 'without the driver',
  labels: 'without the labels',
  cpu: 'short of CPU',
  memory: 'short of memory',
  disk: 'short of disk',
  ports: 'out of free ports',
};

/** One sentence for people: what was chosen and why, or why nothing fits. */
export function describePlacement(p: Placement, nameOf: (id: NodeId) => string = (id) => id): string {
  if (p.evaluated === 0) return 'the organization has no nodes: register one with POST /v1/nodes/register-token';
  if (p.chosen) {
    const why =
      p.strategy === 'binpack'
        ? 'the fullest node that fits, so others stay free for large workloads'
        : 'the emptiest node that fits, to spread the load';
    return `${p.fitting} of ${p.evaluated} node${p.evaluated === 1 ? '' : 's'} fit; ${p.strategy} chose ${nameOf(p.chosen)}: ${why}`;
  }
  const counts = REJECT_REASONS.filter((r) => p.rejected_counts[r] > 0).map(
    (r) => `${p.rejected_counts[r]} ${COUNT_WORDS[r]}`,
  );
  return `none of ${p.evaluated} node${p.evaluated === 1 ? '' : 's'} fit: ${counts.join(', ')}`;
}

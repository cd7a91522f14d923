import { formatCores, formatGiB, formatMiB, type PlacementResources } from './placement';

/**
 * Which size to recommend, given how many nodes each candidate size fits on. Pure: the planner
 * service runs the placement for each size and hands the counts here.
 */

export interface SizeCandidate {
  name: string;
  resources: PlacementResources;
  note: string;
  variables?: Record<string, string>;
  /** How many nodes have room for it now. */
  fitting: number;
}

export interface SizeChoice {
  chosen: SizeCandidate;
  reasons: string[];
}

export function describeResources(r: PlacementResources): string {
  return `${formatCores(r.cpu_cores)} CPU core${r.cpu_cores === 1 ? '' : 's'}, ${formatMiB(r.memory_bytes)} memory, ${formatGiB(r.disk_bytes)} disk`;
}

/** Smallest first, by memory, then CPU, then disk. */
function bySize(a: SizeCandidate, b: SizeCandidate): number {
  return (
    a.resources.memory_bytes - b.resources.memory_bytes ||
    a.resources.cpu_cores - b.resources.cpu_cores ||
    a.resources.disk_bytes - b.resources.disk_bytes
  );
}

/**
 * `preferred` (the asked-for size, or the default) when some node fits it. When none does and
 * the caller did not insist, the largest smaller size that fits somewhere, saying why.
 */
export function chooseSize(
  candidates: readonly SizeCandidate[],
  preferred: string,
  insisted: boolean,
  nodeCount: number,
): SizeChoice {
  const sorted = [...candidates].sort(bySize);
  const wanted = sorted.find((c) => c.name === preferred) ?? sorted[0]!;
  const fitText = (c: SizeCandidate) =>
    c.fitting === 0
      ? 'no node has room for it now'
      : `${c.fitting} of ${nodeCount} node${nodeCount === 1 ? '' : 's'} have room for it`;
  const reasons = [`${wanted.name} (${describeResources(wanted.resources)}): ${wanted.note}`];
  if (wanted.fitting > 0 || insisted) {
    reasons.push(fitText(wanted));
    if (wanted.fitting === 0) {
      const smaller = sorted.filter((c) => bySize(c, wanted) < 0 && c.fitting > 0).pop();
      reasons.push(
        smaller
          ? `${smaller.name} would fit ${smaller.fitting} node${smaller.fitting === 1 ? '' : 's'}`
          : 'no smaller size fits either: add nodes or free capacity',
      );
    }
    return { chosen: wanted, reasons };
  }
  const fallback = sorted.filter((c) => bySize(c, wanted) < 0 && c.fitting > 0).pop();
  if (!fallback) {
    reasons.push(
      nodeCount === 0
        ? 'the organization has no nodes yet'
        : 'no node has room for it, nor for any smaller size: add nodes or free capacity',
    );
    return { chosen: wanted, reasons };
  }
  return {
    chosen: fallback,
    reasons: [
      `no node has room for ${wanted.name} (${describeResources(wanted.resources)})`,
      `${fallback.name} (${describeResources(fallback.resources)}) is the largest size that fits: ${fallback.note}`,
      fitText(fallback),
    ],
  };
}

/** Summary of a list of samples (milliseconds, usually), as every benchmark reports it. */
export interface SampleSummary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * The p-th percentile (0-100) of samples sorted ascending, interpolating linearly between the
 * two closest ranks (numpy's default), so p50 of [1, 2] is 1.5 rather than either neighbour.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new Error('percentile of an empty sample list is undefined');
  if (p < 0 || p > 100) throw new Error(`percentile must be between 0 and 100 (got ${p})`);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const low = sorted[lo]!;
  return low + (sorted[hi]! - low) * (rank - lo);
}

export function summarize(samples: ArrayLike<number>): SampleSummary {
  if (samples.length === 0) return { count: 0, mean: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    min: sorted[0]!,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
  };
}

/** a / b rounded to two decimals, the form ratios are printed and stored in. */
export function ratio(a: number, b: number): number {
  if (b === 0) throw new Error('ratio with a zero denominator');
  return Math.round((a / b) * 100) / 100;
}

export function round(value: number, decimals = 2): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

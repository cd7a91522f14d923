import type { LoadResult } from './load';
import type { SampleSummary } from './stats';

/** Load shape every HTTP benchmark uses, fixed so runs on different days compare. */
export interface LoadSettings {
  connections: number;
  pipelining: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** A request slower than this counts as a timeout (an error), not a latency sample. */
  timeoutSeconds: number;
}

export const PINNED_SETTINGS: LoadSettings = {
  connections: 50,
  pipelining: 1,
  warmupSeconds: 3,
  durationSeconds: 10,
  timeoutSeconds: 10,
};

/** `--quick`: checks a benchmark works end to end; its figures are not comparable with pinned runs. */
export const QUICK_SETTINGS: LoadSettings = { ...PINNED_SETTINGS, warmupSeconds: 1, durationSeconds: 2 };

/** Seed of every generated body or data set; change it only together with the recorded baselines. */
export const PINNED_SEED = 20251201;

export interface BenchContext {
  name: string;
  settings: LoadSettings;
  seed: number;
  quick: boolean;
  /** A progress line on stderr, so stdout holds the header and tables only. */
  progress(message: string): void;
}

/** A measured operation that is not an HTTP load run (e.g. timed service calls), in milliseconds. */
export interface OperationResult {
  label: string;
  summary: SampleSummary;
}

export interface BenchReport {
  measurements: (LoadResult | OperationResult)[];
  /** Derived comparisons, named by what they divide: { 'fastify/express ping req/s': 1.8 }. */
  ratios?: Record<string, number>;
  /** Versions and inputs the figures depend on (package versions, body size). */
  facts?: Record<string, string | number>;
}

export interface BenchModule {
  run(ctx: BenchContext): Promise<BenchReport>;
}

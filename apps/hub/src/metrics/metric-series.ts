import type { DataSource, EntityManager } from 'typeorm';

/**
 * Time series kept in PostgreSQL the same way for nodes and instances: a raw table written per
 * sample, rolled up into 5-minute buckets, each pruned by its own retention. A series names its
 * tables, its key column and how each column aggregates; the SQL is built from that, once.
 */
export interface MetricColumn {
  name: string;
  /** `avg`: averaged (a rollup weights bucket averages by their sample counts); `max`: the largest value. */
  agg: 'avg' | 'max';
  /** Also keep the largest value as `<name>_max`. */
  withMax?: boolean;
}

export interface MetricSeries {
  raw: string;
  rollup: string;
  /** Column naming what a row measures (node_id, instance_id). */
  key: string;
  columns: readonly MetricColumn[];
}

export type MetricSource = 'raw' | 'rollup_5m';

export interface MetricsHistory {
  from: string;
  to: string;
  step: number;
  source: MetricSource;
  points: Record<string, number | string | null>[];
}

export interface HistoryQuery {
  from?: string;
  to?: string;
  /** Bucket width in seconds; default fits ~300 points. */
  step?: number;
  /** Which table; default the raw one while the range is within its retention. */
  source?: MetricSource;
}

export interface Retention {
  rawRetentionHours: number;
  rollupRetentionDays: number;
}

const MAX_POINTS = 2000;
const ROLLUP_SECONDS = 300;

/** Names of the rollup table's value columns, in table order: each column, then its `_max`. */
function rollupColumns(s: MetricSeries): string[] {
  return s.columns.flatMap((c) => (c.withMax ? [c.name, `${c.name}_max`] : [c.name]));
}

export function rawAggregates(s: MetricSeries): string {
  const parts = s.columns.flatMap((c) => [
    `${c.agg}(${c.name}) AS ${c.name}`,
    ...(c.withMax ? [`max(${c.name}) AS ${c.name}_max`] : []),
  ]);
  return ['count(*)::int AS samples', ...parts].join(', ');
}

// Averages of averages, weighted by how many samples each 5-minute bucket holds.
export function rollupAggregates(s: MetricSeries): string {
  const parts = s.columns.flatMap((c) => [
    c.agg === 'avg' ? `sum(${c.name} * samples) / sum(samples) AS ${c.name}` : `max(${c.name}) AS ${c.name}`,
    ...(c.withMax ? [`max(${c.name}_max) AS ${c.name}_max`] : []),
  ]);
  return ['sum(samples)::int AS samples', ...parts].join(', ');
}

/**
 * Points of one key between `from` and `to` (default: the last hour), bucketed by `step`
 * seconds; at least `minStep` (the sampling interval) and never more than 2000 points.
 */
export async function queryHistory(
  db: DataSource,
  s: MetricSeries,
  keyValue: string,
  q: HistoryQuery,
  opts: { minStep: number; rawRetentionHours: number },
): Promise<MetricsHistory> {
  const to = q.to ? new Date(q.to) : new Date();
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 3600_000);
  const rangeS = Math.max(1, (to.getTime() - from.getTime()) / 1000);
  const rawHorizon = Date.now() - opts.rawRetentionHours * 3600_000;
  const source: MetricSource = q.source ?? (from.getTime() < rawHorizon ? 'rollup_5m' : 'raw');
  let step = q.step ?? Math.max(opts.minStep, Math.ceil(rangeS / 300));
  if (source === 'rollup_5m') step = Math.max(ROLLUP_SECONDS, Math.ceil(step / ROLLUP_SECONDS) * ROLLUP_SECONDS);
  step = Math.max(step, Math.ceil(rangeS / MAX_POINTS));
  const table = source === 'raw' ? s.raw : s.rollup;
  const tsCol = source === 'raw' ? 'ts' : 'bucket';
  const rows = (await db.query(
    `SELECT date_bin(make_interval(secs => $2), ${tsCol}, timestamptz 'epoch') AS bucket, ${source === 'raw' ? rawAggregates(s) : rollupAggregates(s)}
       FROM ${table} WHERE ${s.key} = $1 AND ${tsCol} >= $3 AND ${tsCol} < $4
      GROUP BY 1 ORDER BY 1`,
    [keyValue, step, from.toISOString(), to.toISOString()],
  )) as Record<string, unknown>[];
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    step,
    source,
    points: rows.map((r) => {
      const point: Record<string, number | string | null> = { ts: (r.bucket as Date).toISOString() };
      for (const [k, v] of Object.entries(r))
        if (k !== 'bucket') point[k] = v === null ? null : Math.round(Number(v) * 100) / 100;
      return point;
    }),
  };
}

export interface MaintenanceResult {
  rolledUp: number;
  prunedRaw: number;
  prunedRollup: number;
}

/**
 * Rolls the raw rows of the last `windowMinutes` into 5-minute buckets (recomputing buckets still
 * filling) and applies both retentions, once per cluster: the advisory lock makes a second
 * replica running at the same time skip.
 */
export async function maintainSeries(
  db: DataSource,
  s: MetricSeries,
  lockKey: number,
  windowMinutes: number,
  retention: Retention,
): Promise<MaintenanceResult> {
  const cols = rollupColumns(s);
  return db.transaction(async (tx: EntityManager) => {
    const [{ locked }] = (await tx.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [lockKey])) as [
      { locked: boolean },
    ];
    if (!locked) return { rolledUp: 0, prunedRaw: 0, prunedRollup: 0 };
    // Counted in SQL: an INSERT's row count does not come back through TypeORM's query().
    const [{ rolled }] = (await tx.query(
      `WITH up AS (
         INSERT INTO ${s.rollup} (${s.key}, bucket, samples, ${cols.join(', ')})
         SELECT ${s.key}, date_bin('5 minutes', ts, timestamptz 'epoch'), ${rawAggregates(s)}
           FROM ${s.raw}
          WHERE ts >= date_bin('5 minutes', now() - make_interval(mins => $1), timestamptz 'epoch')
          GROUP BY 1, 2
         ON CONFLICT (${s.key}, bucket) DO UPDATE SET samples = EXCLUDED.samples, ${cols.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
         RETURNING 1)
       SELECT count(*)::int AS rolled FROM up`,
      [windowMinutes],
    )) as [{ rolled: number }];
    const prunedRaw = (await tx.query(`DELETE FROM ${s.raw} WHERE ts < now() - make_interval(hours => $1)`, [
      retention.rawRetentionHours,
    ])) as [unknown, number];
    const prunedRollup = (await tx.query(`DELETE FROM ${s.rollup} WHERE bucket < now() - make_interval(days => $1)`, [
      retention.rollupRetentionDays,
    ])) as [unknown, number];
    return { rolledUp: rolled, prunedRaw: prunedRaw[1] ?? 0, prunedRollup: prunedRollup[1] ?? 0 };
  });
}

export const ROLLUP_EVERY_MS = 60_000;

/**
 * A series' maintenance, run every minute by its owner (once per cluster, through PeriodicWork);
 * a replica's first run covers the whole raw retention, to catch up on time the cluster was
 * down, later ones the last 15 minutes.
 */
export class SeriesMaintainer {
  private caughtUp = false;

  constructor(
    private readonly db: DataSource,
    private readonly series: MetricSeries,
    private readonly lockKey: number,
    private readonly retention: Retention,
  ) {}

  run(windowMinutes = this.caughtUp ? 15 : this.retention.rawRetentionHours * 60): Promise<MaintenanceResult> {
    this.caughtUp = true;
    return maintainSeries(this.db, this.series, this.lockKey, windowMinutes, this.retention);
  }
}

import { LoadResult, loadProblems } from './load';

export interface Column<Row> {
  header: string;
  value: (row: Row) => string | number | null;
  /** Numbers are right-aligned unless told otherwise; text is left-aligned. */
  align?: 'left' | 'right';
}

/** Thousands separators for big numbers, two significant decimals for small ones. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (Number.isInteger(n) || abs >= 100) return Math.round(n).toLocaleString('en-US');
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function formatTable<Row>(columns: Column<Row>[], rows: Row[]): string {
  const cells = rows.map((row) =>
    columns.map((col) => {
      const v = col.value(row);
      return { text: v === null ? '-' : typeof v === 'number' ? formatNumber(v) : v, numeric: typeof v === 'number' };
    }),
  );
  const widths = columns.map((col, i) => Math.max(col.header.length, ...cells.map((r) => r[i]!.text.length)));
  const alignOf = (i: number, numeric: boolean) => columns[i]!.align ?? (numeric ? 'right' : 'left');
  const pad = (text: string, i: number, align: 'left' | 'right') =>
    align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const header = columns.map((col, i) => pad(col.header, i, alignOf(i, cells[0]?.[i]?.numeric ?? false))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const body = cells.map((r) => r.map((c, i) => pad(c.text, i, alignOf(i, c.numeric))).join('  '));
  return [header, rule, ...body].join('\n');
}

export function printTable<Row>(columns: Column<Row>[], rows: Row[]): void {
  process.stdout.write(formatTable(columns, rows) + '\n');
}

/** The columns every HTTP load table shows, in the same order, so tables compare at a glance. */
export const LOAD_COLUMNS: Column<LoadResult>[] = [
  { header: 'target', value: (r) => r.label },
  { header: 'req/s', value: (r) => r.reqPerSec },
  { header: '±', value: (r) => r.reqPerSecStddev },
  { header: 'p50 ms', value: (r) => r.latencyMs.p50 },
  { header: 'p90 ms', value: (r) => r.latencyMs.p90 },
  { header: 'p99 ms', value: (r) => r.latencyMs.p99 },
  { header: 'max ms', value: (r) => r.latencyMs.max },
  { header: 'errors', value: (r) => r.errors + r.timeouts },
  { header: 'non-2xx', value: (r) => r.non2xx },
  { header: 'server cpu%', value: (r) => r.serverCpuPercent },
  { header: 'cpu µs/req', value: (r) => r.serverCpuUsPerRequest },
  { header: 'client cpu%', value: (r) => r.clientCpuPercent },
];

/** The load table, then any run whose errors make its figures meaningless, on stderr. */
export function printLoadResults(results: LoadResult[]): void {
  printTable(LOAD_COLUMNS, results);
  for (const problem of results.map(loadProblems)) if (problem) process.stderr.write(`warning: ${problem}\n`);
}

export function printRatios(ratios: Record<string, number>): void {
  const rows = Object.entries(ratios).map(([name, value]) => ({ name, value }));
  printTable<{ name: string; value: number }>(
    [
      { header: 'ratio', value: (r) => r.name },
      { header: 'value', value: (r) => (Number.isFinite(r.value) ? r.value.toFixed(2) : '-'), align: 'right' },
    ],
    rows,
  );
}

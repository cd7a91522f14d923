import YAML from 'yaml';
import { UsageError } from './exit-codes';

export type OutputFormat = 'table' | 'json' | 'yaml';

export function parseFormat(value: string | undefined): OutputFormat {
  const format = value ?? 'table';
  if (format !== 'table' && format !== 'json' && format !== 'yaml')
    throw new UsageError(`--output must be table, json or yaml (not '${format}')`);
  return format;
}

/** A table column: its heading and how to read it from a row. */
export type Column<T> = [heading: string, read: (row: T) => unknown];

/** Prints what a command answers: the hub's JSON as it is (json, yaml) or the chosen columns (table). */
export function print<T>(format: OutputFormat, value: T | T[], columns?: Column<T>[]): void {
  if (format === 'json') return void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  if (format === 'yaml') return void process.stdout.write(YAML.stringify(value));
  const rows = Array.isArray(value) ? value : [value];
  if (!columns) {
    // One object without chosen columns: key/value lines.
    for (const row of rows) {
      for (const [k, v] of Object.entries(row as Record<string, unknown>)) process.stdout.write(`${k}: ${cell(v)}\n`);
    }
    return;
  }
  const table = [columns.map(([h]) => h), ...rows.map((r) => columns.map(([, read]) => cell(read(r))))];
  const widths = columns.map((_, i) => Math.max(...table.map((line) => line[i].length)));
  for (const line of table)
    process.stdout.write(
      `${line
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd()}\n`,
    );
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

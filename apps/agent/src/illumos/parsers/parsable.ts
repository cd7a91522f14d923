/**
 * The illumos "parsable" output conventions shared by zoneadm, dladm and ipadm (`-p`): fields
 * separated by ':', a literal ':' or '\' inside a field escaped with '\', and dladm's `--` for
 * "none". Tab-separated output (`zfs -H`, `zpool -H`) has no escapes.
 */
export function splitParsableLine(line: string, separator = ':'): string[] {
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '\\' && i + 1 < line.length) {
      current += line[++i];
    } else if (ch === separator) {
      fields.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  fields.push(current);
  return fields;
}

export function nonEmptyLines(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '');
}

/** `-p -o A,B,C` output as records keyed by the lower-cased column names; `--` and '' become null. */
export function parseParsableColumns(output: string, columns: readonly string[]): Record<string, string | null>[] {
  return nonEmptyLines(output).map((line) => {
    const fields = columns.length === 1 ? [line] : splitParsableLine(line);
    const record: Record<string, string | null> = {};
    columns.forEach((column, i) => {
      const value = fields[i] ?? '';
      record[column.toLowerCase()] = value === '--' || value === '' ? null : value;
    });
    return record;
  });
}

/** `-H` tab-separated output keyed by the given column names; `-` becomes null. */
export function parseTabColumns(output: string, columns: readonly string[]): Record<string, string | null>[] {
  return nonEmptyLines(output).map((line) => {
    const fields = line.split('\t');
    const record: Record<string, string | null> = {};
    columns.forEach((column, i) => {
      const value = fields[i];
      record[column] = value === undefined || value === '-' ? null : value;
    });
    return record;
  });
}

/** A number from `-p` output; null for `-`, `--`, '' and anything not numeric. */
export function toNumber(value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === '' || value === '-' || value === '--') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

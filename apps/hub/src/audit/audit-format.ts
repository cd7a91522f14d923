/** Plain formatting of audit rows for the export endpoint: CSV (RFC 4180) and NDJSON. */

export const AUDIT_COLUMNS = [
  'id',
  'occurred_at',
  'actor_type',
  'actor_id',
  'actor_email',
  'api_token_id',
  'org_id',
  'action',
  'target_type',
  'target_id',
  'ip',
  'user_agent',
  'outcome',
  'status_code',
  'request_id',
  'details',
] as const;

export type AuditRecord = Record<(typeof AUDIT_COLUMNS)[number], unknown>;

/**
 * One CSV cell. Quotes when needed, and defuses spreadsheet formulas: a value starting with
 * = + - @ or a tab/CR gets a leading apostrophe, so opening an export cannot run anything.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text =
    value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvHeader(): string {
  return AUDIT_COLUMNS.join(',') + '\r\n';
}

export function csvLine(row: AuditRecord): string {
  return AUDIT_COLUMNS.map((c) => csvCell(row[c])).join(',') + '\r\n';
}

export function ndjsonLine(row: AuditRecord): string {
  return JSON.stringify(row) + '\n';
}

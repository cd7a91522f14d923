import { z } from 'zod';

// Controls (C0, DEL, C1: newlines, tabs, ESC sequences), bidirectional overrides and isolates,
// line/paragraph separators and the BOM: they let a name rewrite a terminal, a log line or how
// neighbouring text reads ("\u202eevil" shows reversed), and no name needs them.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_IN_NAMES = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/;

/** The one schema of every human-chosen name (organizations, users, tokens, workloads, backups…). */
export function displayName(max: number, options: { allowEmpty?: boolean } = {}) {
  const base = z.string().trim();
  return (options.allowEmpty ? base : base.min(1, { message: 'is required' }))
    .max(max, { message: `must be at most ${max} characters` })
    .refine((v) => !UNSAFE_IN_NAMES.test(v), {
      message: 'must not contain control, bidirectional-override or line-break characters',
    });
}

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** An ISO 8601 date-time with an offset, within 1970-9999 (what the database and clocks can hold). */
export function isoDateTime(message = 'must be an ISO 8601 date-time with an offset, like 2026-01-31T12:00:00Z') {
  return z.iso.datetime({ offset: true, message }).refine(
    (v) => {
      const t = Date.parse(v);
      return t >= EARLIEST && t <= LATEST;
    },
    { message: 'must be between 1970-01-01 and 9999-12-31' },
  );
}

/** An email address as people type it: trimmed and lower-cased before it is checked. */
export const emailField = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, { message: 'must be at most 254 characters' })
  .pipe(z.email({ message: 'must be an email address' }));

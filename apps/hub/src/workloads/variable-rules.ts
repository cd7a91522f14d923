import type { WorkloadVariable } from './workload.schemas';

/**
 * Values every workload gets without declaring them (Pterodactyl's names, so egg startup lines
 * work unchanged): SERVER_MEMORY in MiB, SERVER_IP to bind, SERVER_PORT (the first port).
 */
export const BUILTIN_VARIABLES = ['SERVER_MEMORY', 'SERVER_IP', 'SERVER_PORT'] as const;

/** Names a workload may not declare: the built-ins and what the runtime sets itself. */
export const RESERVED_VARIABLES: ReadonlySet<string> = new Set([
  ...BUILTIN_VARIABLES,
  'STARTUP',
  'ENV',
  'HOME',
  'USER',
  'SERVER_UUID',
  'UUID',
]);

/** `{{NAME}}`: a variable or a built-in, substituted before start. */
export const PLACEHOLDER = /\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g;

/** Egg-style placeholders (`{{server.build.default.port}}`) that only the egg importer translates. */
export const DOTTED_PLACEHOLDER = /\{\{\s*((?:server|env|config)\.[A-Za-z0-9_.]+)\s*\}\}/;

export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

export function substitute(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (whole, key: string) => (Object.hasOwn(values, key) ? values[key]! : whole));
}

export type RawValue = string | number | boolean | null | undefined;
export type ValueCheck = { ok: true; value: string } | { ok: false; message: string };

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const BOOLEAN_FORMS = new Set(['1', '0', 'true', 'false']);

/**
 * The string a workload receives for `raw` (its default when absent), or why it is refused.
 * Booleans given as JSON become "1"/"0" (what egg scripts test for); empty is allowed unless
 * the variable is required, and an empty optional value skips the other rules (Laravel's
 * `nullable`).
 */
export function checkValue(v: WorkloadVariable, raw: RawValue): ValueCheck {
  const fail = (message: string): ValueCheck => ({ ok: false, message });
  let value: string;
  if (raw === undefined || raw === null) value = v.default;
  else if (typeof raw === 'boolean') {
    if (v.type !== 'boolean') return fail(`expected ${describeType(v)}, got a boolean`);
    value = raw ? '1' : '0';
  } else if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return fail('must be a finite number');
    value = String(raw);
  } else value = raw;

  if (value === '') return v.rules.required ? fail('is required') : { ok: true, value };
  if (value.length > 4096) return fail('must be at most 4096 characters');
  const { min, max } = v.rules;
  switch (v.type) {
    case 'integer':
    case 'number': {
      if (!(v.type === 'integer' ? INTEGER : NUMBER).test(value))
        return fail(
          v.type === 'integer' ? `must be a whole number, got "${value}"` : `must be a number, got "${value}"`,
        );
      const n = Number(value);
      if (v.type === 'integer' && !Number.isSafeInteger(n)) return fail('is too large');
      if (min !== undefined && n < min) return fail(`must be at least ${min}, got ${value}`);
      if (max !== undefined && n > max) return fail(`must be at most ${max}, got ${value}`);
      break;
    }
    case 'boolean':
      if (!BOOLEAN_FORMS.has(value)) return fail(`must be true or false (or 1/0), got "${value}"`);
      break;
    case 'enum':
      if (!v.rules.enum?.includes(value)) return fail(`must be one of ${v.rules.enum?.join(', ')}; got "${value}"`);
      break;
    case 'string':
      if (min !== undefined && value.length < min) return fail(`must be at least ${min} characters`);
      if (max !== undefined && value.length > max) return fail(`must be at most ${max} characters`);
      break;
  }
  if (v.rules.regex !== undefined && !new RegExp(v.rules.regex, v.rules.regex_flags ?? '').test(value)) {
    return fail(`must match /${v.rules.regex}/${v.rules.regex_flags ?? ''}`);
  }
  return { ok: true, value };
}

function describeType(v: WorkloadVariable): string {
  return v.type === 'string'
    ? 'text'
    : v.type === 'enum'
      ? 'one of the listed values'
      : `a ${v.type === 'integer' ? 'whole number' : v.type}`;
}

/** Whether `source` compiles as a JavaScript regular expression; the compiler's complaint if not. */
export function regexProblem(source: string, flags = ''): string | null {
  try {
    new RegExp(source, flags);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

import { randomUUID } from 'node:crypto';
import fc from 'fast-check';

/** The slice of JSON Schema the hub's OpenAPI document uses (zod's output). */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  minimum?: number;
  minLength?: number;
  default?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

export interface ApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: JsonSchema;
}

export interface ApiOperation {
  method: string;
  path: string;
  params: ApiParameter[];
  body?: JsonSchema;
}

export function operationsOf(doc: {
  paths: Record<
    string,
    Record<string, { parameters?: ApiParameter[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>
  >;
}): ApiOperation[] {
  const out: ApiOperation[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      out.push({
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return out;
}

/** A plausible value for a schema (the first enum value, a uuid, now…): the base a hostile field is put into. */
export function sampleOf(schema: JsonSchema | undefined, depth = 0): unknown {
  if (!schema || depth > 6) return 'x';
  if (schema.const !== undefined) return schema.const;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum?.length) return schema.enum[0];
  const variant = schema.anyOf?.[0] ?? schema.oneOf?.[0] ?? schema.allOf?.[0];
  if (variant) return sampleOf(variant, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const key of schema.required ?? []) o[key] = sampleOf(schema.properties?.[key], depth + 1);
      return o;
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      if (schema.format === 'uuid') return randomUUID();
      if (schema.format === 'date-time') return new Date().toISOString();
      if (schema.format === 'email') return 'fuzz@example.test';
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
  }
}

/** Strings an attacker tries first; every one must be refused or handled, never a 500. */
export const HOSTILE_STRINGS = [
  'a\u0000b',
  '\ud800',
  'tail\udfff',
  '\u202eevil\u2066',
  '\x1b[31mred\x07',
  'a\nb\r\nc',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  "' OR '1'='1'; DROP TABLE users; --",
  '$(id); `id` | cat /etc/shadow && rm -rf /',
  '%00%2e%2e%2f',
  '{{7*7}}${jndi:ldap://127.0.0.1/x}',
  '0000-01-01T00:00:00Z',
  '99999999999999999999-0',
  '-1',
  '1e309',
  'NaN',
  '',
  ' ',
  '\ufeff\u200b',
];

/** Non-string values where strings (or anything) are expected. */
export const HOSTILE_VALUES: unknown[] = [
  null,
  true,
  -1,
  0,
  1.5,
  2 ** 53 + 1,
  -(2 ** 63),
  1e308,
  [],
  {},
  [['x']],
  { $ne: null },
  JSON.parse('{"__proto__":{"is_platform_admin":true}}'),
];

/** Large enough to hurt, small enough to stay under URL limits (8 KiB) in a query or path. */
export const HUGE_URL_STRING = 'A'.repeat(4000);
/** Large enough to hurt, under the 1 MiB JSON body limit. */
export const HUGE_BODY_STRING = 'B'.repeat(300_000);

const anyUtf16 = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)),
  maxLength: 24,
});

export function hostileString(inUrl: boolean): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 2, arbitrary: anyUtf16 },
    { weight: 1, arbitrary: fc.constant(inUrl ? HUGE_URL_STRING : HUGE_BODY_STRING) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...HOSTILE_STRINGS), fc.constantFrom(...HOSTILE_STRINGS))
        .map(([a, b]) => a + b),
    },
  );
}

export function hostileValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: hostileString(false) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_VALUES) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.integer(),
        fc.double(),
        fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map((n) => Number(n)),
      ),
    },
  );
}

/**
 * Percent-encodes every UTF-16 unit, lone surrogates included (as their WTF-8 bytes), which
 * `encodeURIComponent` refuses: the hub must cope with whatever bytes a client sends.
 */
export function encodeAny(s: string): string {
  let out = '';
  for (const ch of s) {
    try {
      out += encodeURIComponent(ch);
    } catch {
      const c = ch.charCodeAt(0);
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    }
  }
  return out;
}

/** Query values as a client would send them: arrays and objects become JSON text. */
export function queryText(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
}

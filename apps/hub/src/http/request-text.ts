import type { FastifyRequest } from 'fastify';
import { InvalidTextError } from './errors';

// A lone high surrogate, or a low one with no high one before it.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The path (`a.b.0`) of the first string or key holding NUL or a lone surrogate, or null. */
export function findInvalidText(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return BAD_TEXT.test(value) ? path : null;
  if (value === null || typeof value !== 'object' || depth > 64 || ArrayBuffer.isView(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findInvalidText(value[i], path ? `${path}.${i}` : String(i), depth + 1);
      if (found !== null) return found;
    }
    return null;
  }
  // Streams (raw upload bodies) are not text; query and params objects have odd prototypes, so no prototype test.
  if (typeof (value as { pipe?: unknown }).pipe === 'function') return null;
  for (const [key, v] of Object.entries(value)) {
    const here = path ? `${path}.${key}` : key;
    if (BAD_TEXT.test(key)) return here;
    const found = findInvalidText(v, here, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Checked once for every route before validation: every string and key of the JSON body, the
 * query and the path parameters. PostgreSQL refuses NUL in text and lone surrogates in JSON,
 * so letting them through turns bad input into 500s deep inside a service.
 */
export function assertRequestText(req: FastifyRequest): void {
  for (const [where, value] of [
    ['path parameter', req.params],
    ['query', req.query],
    ['body', req.body],
  ] as const) {
    const path = findInvalidText(value);
    if (path !== null) throw new InvalidTextError(where, path);
  }
}

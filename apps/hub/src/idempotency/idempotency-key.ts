import { createHmac, hkdfSync } from 'node:crypto';
import type { Principal } from '../access/principal';
import { openSecret, sealSecret } from '../crypto/secret-box';
import { InvalidIdempotencyKeyError } from './idempotency.errors';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';

/** The header value as sent, checked: 1–255 printable ASCII characters. */
export function parseIdempotencyKey(value: string | string[]): string {
  if (Array.isArray(value)) throw new InvalidIdempotencyKeyError('send the header once');
  if (value.length === 0) throw new InvalidIdempotencyKeyError('it is empty');
  if (value.length > 255) throw new InvalidIdempotencyKeyError(`it is ${value.length} characters long`);
  if (!/^[\x20-\x7E]+$/.test(value))
    throw new InvalidIdempotencyKeyError('it contains a character that is not printable ASCII');
  return value;
}

/** Who a key belongs to: a user (any of their sessions) or one API token. */
export function principalScope(p: Principal): string {
  return p.kind === 'api_token' && p.apiTokenId ? `api_token:${p.apiTokenId}` : `user:${p.userId}`;
}

/** A key for fingerprints derived from the encryption key (never the AES key itself). */
export function fingerprintKey(encryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'hostplane idempotency fingerprint', 32));
}

export interface RequestShape {
  method: string;
  /** Path and query as sent. */
  url: string;
  orgId: string | null;
  body: unknown;
}

/**
 * What "the same request" means. Keyed (HMAC), because bodies can hold passwords or secret keys
 * and a plain hash of them would be guessable offline from the table.
 */
export function requestFingerprint(key: Buffer, r: RequestShape): string {
  const h = createHmac('sha256', key);
  for (const part of [r.method.toUpperCase(), r.url, r.orgId ?? '', JSON.stringify(r.body ?? null)])
    h.update(`${Buffer.byteLength(part)}:${part}`);
  return h.digest('base64url');
}

export interface StoredResponse {
  status: number;
  headers: Record<string, string | string[]>;
  /** null: no body (e.g. 204). */
  body: Buffer | null;
}

/** Per-request headers that a replay sets anew (or that Node computes) rather than repeats. */
const NOT_REPLAYED =
  /^(content-length|date|connection|keep-alive|transfer-encoding|x-request-id|x-ratelimit-.*|access-control-.*|vary|idempotent-replayed)$/;

export function replayableHeaders(headers: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (NOT_REPLAYED.test(lower) || value === undefined) continue;
    out[lower] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}

function aadOf(principal: string, key: string): string {
  return `idempotency:${principal}:${key}`;
}

export function sealResponse(encryptionKey: Buffer, principal: string, key: string, res: StoredResponse): string {
  const plain = JSON.stringify({
    status: res.status,
    headers: res.headers,
    body: res.body === null ? null : res.body.toString('base64'),
  });
  return sealSecret(encryptionKey, plain, aadOf(principal, key));
}

export function openResponse(encryptionKey: Buffer, principal: string, key: string, sealed: string): StoredResponse {
  const parsed = JSON.parse(openSecret(encryptionKey, sealed, aadOf(principal, key))) as {
    status: number;
    headers: Record<string, string | string[]>;
    body: string | null;
  };
  return {
    status: parsed.status,
    headers: parsed.headers,
    body: parsed.body === null ? null : Buffer.from(parsed.body, 'base64'),
  };
}

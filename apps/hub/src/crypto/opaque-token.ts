import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * High-entropy opaque tokens: `<prefix><32 base62 chars><6-char base62 CRC32 checksum>`.
 * The prefix makes a leaked token recognisable to secret scanners; the checksum lets the hub
 * refuse a mistyped or truncated token without touching the database. Tokens are stored as
 * SHA-256 digests: they carry ~190 bits of entropy, so a slow hash would add cost, not safety.
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const TOKEN_RANDOM_LENGTH = 32;
export const TOKEN_CHECKSUM_LENGTH = 6;
const BODY = /^[0-9A-Za-z]+$/;

export function randomBase62(length: number): string {
  let out = '';
  // Rejection sampling keeps every character uniformly distributed (248 = 4 * 62).
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function toBase62(value: number, width: number): string {
  let out = '';
  let v = value;
  while (v > 0) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out.padStart(width, '0');
}

export function tokenChecksum(random: string): string {
  return toBase62(crc32(random), TOKEN_CHECKSUM_LENGTH);
}

export function issueOpaqueToken(prefix: string): string {
  const random = randomBase62(TOKEN_RANDOM_LENGTH);
  return `${prefix}${random}${tokenChecksum(random)}`;
}

export type TokenShapeProblem = 'wrong_prefix' | 'malformed' | 'bad_checksum';

/** Checks a token's shape and checksum; `null` means it may be genuine and is worth looking up. */
export function checkOpaqueToken(value: string, prefix: string): TokenShapeProblem | null {
  if (!value.startsWith(prefix)) return 'wrong_prefix';
  const body = value.slice(prefix.length);
  if (body.length !== TOKEN_RANDOM_LENGTH + TOKEN_CHECKSUM_LENGTH || !BODY.test(body)) return 'malformed';
  const random = body.slice(0, TOKEN_RANDOM_LENGTH);
  return body.slice(TOKEN_RANDOM_LENGTH) === tokenChecksum(random) ? null : 'bad_checksum';
}

/** A short, non-secret form for lists and logs: the prefix and the first 4 random characters. */
export function tokenHint(value: string, prefix: string): string {
  return `${prefix}${value.slice(prefix.length, prefix.length + 4)}…`;
}

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A random URL-safe secret for single-use links and refresh tokens. */
export function randomSecret(prefix: string, bytes = 32): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

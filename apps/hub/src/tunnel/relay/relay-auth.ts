import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** Header a replica sends to open a relay connection to another. */
export const RELAY_AUTH_HEADER = 'x-hostplane-relay';
/** How far a credential's clock may be from ours; replicas run NTP, a minute is generous. */
const MAX_SKEW_MS = 60_000;

/**
 * The key replicas authenticate each other with, derived from the hub's encryption key (which
 * every replica already shares, to read stored secrets) so there is no new secret to distribute,
 * and a leak of this derived key reveals nothing of the encryption key.
 */
export function deriveRelayKey(encryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionKey, 'hostplane', 'hub-to-hub stream relay v1', 32));
}

/**
 * `v1.<from>.<to>.<time>.<nonce>.<hmac>`: bound to the replica it is meant for, so a captured
 * credential cannot be replayed at another replica, and to a nonce, so not at the same one.
 */
export function relayCredential(key: Buffer, from: string, to: string, now = Date.now()): string {
  const body = ['v1', from, to, String(now), randomBytes(12).toString('base64url')].join('.');
  return `${body}.${mac(key, body)}`;
}

/** Checks credentials presented to this replica; remembers nonces for as long as a credential is valid. */
export class RelayAuthVerifier {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly key: Buffer,
    private readonly self: () => string,
  ) {}

  /** The sending replica's id, or null with the reason it was refused. */
  verify(credential: string | undefined, now = Date.now()): { ok: true; from: string } | { ok: false; reason: string } {
    const parts = credential?.split('.') ?? [];
    if (parts.length !== 6 || parts[0] !== 'v1') return { ok: false, reason: 'no relay credential' };
    const [, from, to, time, nonce, given] = parts as [string, string, string, string, string, string];
    const expected = Buffer.from(mac(this.key, parts.slice(0, 5).join('.')));
    const actual = Buffer.from(given);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual))
      return { ok: false, reason: 'bad relay credential' };
    if (to !== this.self()) return { ok: false, reason: 'relay credential for another replica' };
    if (!(Math.abs(now - Number(time)) <= MAX_SKEW_MS)) return { ok: false, reason: 'relay credential expired' };
    this.forgetOld(now);
    if (this.seen.has(nonce)) return { ok: false, reason: 'relay credential replayed' };
    this.seen.set(nonce, now);
    return { ok: true, from };
  }

  private forgetOld(now: number): void {
    // Map order is insertion order, so the oldest entries come first.
    for (const [nonce, at] of this.seen) {
      if (now - at <= 2 * MAX_SKEW_MS) break;
      this.seen.delete(nonce);
    }
  }
}

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

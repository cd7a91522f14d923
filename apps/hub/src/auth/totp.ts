import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';

/** TOTP (RFC 6238: SHA-1, 6 digits, 30 s) as every authenticator app speaks it; ±1 step of clock skew. */
const totp = authenticator.clone({ window: 1, step: 30, digits: 6 });
const STEP_SECONDS = 30;

export function newTotpSecret(): string {
  return totp.generateSecret(20);
}

export function otpauthUri(account: string, secret: string): string {
  return totp.keyuri(account, 'Hostplane', secret);
}

/** The time step a code belongs to, or null if it matches none within the window. */
export function matchTotp(code: string, secret: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp.clone({ epoch: now }).checkDelta(code, secret);
  return delta === null ? null : Math.floor(now / 1000 / STEP_SECONDS) + delta;
}

export function totpCode(secret: string, now = Date.now()): string {
  return totp.clone({ epoch: now }).generate(secret);
}

const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** Ten recovery codes like `k7fq2-m9xhp` (about 49 bits each), shown once. */
export function newRecoveryCodes(count = 10): string[] {
  const codes: string[] = [];
  while (codes.length < count) {
    let chars = '';
    // 248 = 8 * 31: rejection sampling keeps every character equally likely.
    while (chars.length < 10)
      for (const b of randomBytes(16))
        if (b < 248 && chars.length < 10) chars += RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length];
    codes.push(`${chars.slice(0, 5)}-${chars.slice(5)}`);
  }
  return codes;
}

/** What is hashed and compared: case, spaces and dashes do not matter. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '');
}

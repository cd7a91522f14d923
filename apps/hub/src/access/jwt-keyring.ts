import { randomUUID, webcrypto } from 'node:crypto';
import { errors, JWTPayload, jwtVerify, SignJWT } from 'jose';
import type { JwtKey } from '../config/load-config';

/** Header `typ` of each kind of JWT the hub issues, so one kind is never accepted as another. */
export const JWT_TYPES = { access: 'at+jwt', mfaChallenge: 'mfa-challenge+jwt' } as const;
export type JwtType = (typeof JWT_TYPES)[keyof typeof JWT_TYPES];

const AUDIENCE = 'hostplane';

export type JwtProblem = 'expired' | 'malformed' | 'invalid' | 'unknown_key';

export class JwtRejected extends Error {
  constructor(readonly problem: JwtProblem) {
    super(`jwt rejected: ${problem}`);
  }
}

export interface VerifiedJwt extends JWTPayload {
  sub: string;
}

/**
 * HS256 with a `kid` header: the first configured key signs, every configured key verifies, so
 * a new key is rolled out by putting it first and the old one is dropped after 15 minutes.
 */
export class JwtKeyring {
  // WebCrypto keys imported once: jose verifies with them about three times faster than with
  // raw bytes or a KeyObject, which it would convert on every call.
  private readonly keys: Promise<Map<string, webcrypto.CryptoKey>>;
  private readonly signingKid: string;

  constructor(
    keys: JwtKey[],
    private readonly issuer: string,
  ) {
    if (!keys.length) throw new Error('at least one JWT key is needed');
    this.signingKid = keys[0]!.kid;
    this.keys = Promise.all(
      keys.map(
        async (k) =>
          [
            k.kid,
            await webcrypto.subtle.importKey('raw', k.secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
              'sign',
              'verify',
            ]),
          ] as const,
      ),
    ).then((entries) => new Map(entries));
  }

  async sign(typ: JwtType, subject: string, ttlSeconds: number, claims: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: this.signingKid, typ })
      .setSubject(subject)
      .setIssuer(this.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(randomUUID())
      .sign((await this.keys).get(this.signingKid)!);
  }

  async verify(token: string, typ: JwtType): Promise<VerifiedJwt> {
    const keys = await this.keys;
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          const key = header.kid === undefined ? undefined : keys.get(header.kid);
          if (!key) throw new JwtRejected('unknown_key');
          return key;
        },
        // A token without `exp` would never expire: refused, whoever signed it.
        { algorithms: ['HS256'], issuer: this.issuer, audience: AUDIENCE, typ, requiredClaims: ['exp', 'sub'] },
      );
      if (typeof payload.sub !== 'string') throw new JwtRejected('invalid');
      return payload as VerifiedJwt;
    } catch (err) {
      if (err instanceof JwtRejected) throw err;
      if (err instanceof errors.JWTExpired) throw new JwtRejected('expired');
      if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) throw new JwtRejected('malformed');
      throw new JwtRejected('invalid');
    }
  }
}

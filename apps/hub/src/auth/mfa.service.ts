import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Authenticator } from '../access/authenticator';
import { JWT_TYPES, JwtRejected } from '../access/jwt-keyring';
import type { AuditNote } from '../audit/audit-note';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { sha256Hex } from '../crypto/opaque-token';
import { openSecret, sealSecret } from '../crypto/secret-box';
import { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { AuthThrottle } from './auth-throttle';
import { MfaError, UserSuspendedError } from './auth.errors';
import { MFA_CHALLENGE_TTL_SECONDS, TokenPair } from './auth.schemas';
import { MfaRecoveryCode, SessionMethod } from './session.entity';
import { ClientInfo, SessionsService } from './sessions.service';
import { matchTotp, newRecoveryCodes, newTotpSecret, normalizeRecoveryCode, otpauthUri } from './totp';

const SESSION_METHODS: SessionMethod[] = ['password', 'github', 'bootstrap', 'register', 'invite'];

/**
 * TOTP second factor: enrollment (secret sealed with the hub's encryption key), confirmation
 * with a first code (which also issues ten single-use recovery codes), the login challenge and
 * disabling. Every code attempt counts against 5 per minute per user; an accepted TOTP code's
 * time step is recorded, so the same code (or an older one) cannot be used again.
 */
@Injectable()
export class MfaService {
  private readonly key: Buffer;

  constructor(
    private readonly db: DataSource,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly throttle: AuthThrottle,
    private readonly authenticator: Authenticator,
    @Inject(HUB_CONFIG) config: HubConfig,
  ) {
    this.key = config.secrets.encryptionKey;
  }

  async status(userId: string): Promise<{ enabled: boolean; enrolling: boolean; recovery_codes_remaining: number }> {
    const user = await this.users.get(userId);
    const rows = (await this.db.query(
      `SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL`,
      [userId],
    )) as { n: number }[];
    return {
      enabled: user.mfaEnabled,
      enrolling: !user.mfaEnabled && user.mfaPendingSecret !== null,
      recovery_codes_remaining: user.mfaEnabled ? rows[0]!.n : 0,
    };
  }

  async enroll(userId: string): Promise<{ secret: string; otpauth_uri: string }> {
    const user = await this.users.get(userId);
    if (user.mfaEnabled)
      throw new MfaError(
        'mfa_already_enabled',
        'MFA is already on: disable it first to enroll a new authenticator',
        409,
      );
    const secret = newTotpSecret();
    await this.db
      .getRepository(User)
      .update({ id: userId }, { mfaPendingSecret: sealSecret(this.key, secret, aad(userId)) });
    return { secret, otpauth_uri: otpauthUri(user.email, secret) };
  }

  /** Confirms enrollment with a code from the authenticator; returns the recovery codes, once. */
  async confirm(userId: string, code: string): Promise<{ enabled: true; recovery_codes: string[] }> {
    await this.throttle.hitMfa(userId);
    const user = await this.users.get(userId);
    if (user.mfaEnabled) throw new MfaError('mfa_already_enabled', 'MFA is already on', 409);
    if (!user.mfaPendingSecret) throw new MfaError('mfa_not_enrolling', 'start with POST /v1/auth/mfa/enroll', 409);
    const secret = openSecret(this.key, user.mfaPendingSecret, aad(userId));
    const step = matchTotp(code, secret);
    if (step === null) throw invalidCode();
    const codes = newRecoveryCodes();
    await this.db.transaction(async (m) => {
      await m
        .getRepository(User)
        .update(
          { id: userId },
          { mfaEnabled: true, mfaSecret: user.mfaPendingSecret, mfaPendingSecret: null, mfaLastStep: step },
        );
      await m.getRepository(MfaRecoveryCode).delete({ userId });
      await m
        .getRepository(MfaRecoveryCode)
        .insert(codes.map((c) => ({ userId, codeHash: sha256Hex(normalizeRecoveryCode(c)) })));
    });
    return { enabled: true, recovery_codes: codes };
  }

  async disable(userId: string, code: string): Promise<void> {
    await this.throttle.hitMfa(userId);
    const user = await this.users.get(userId);
    if (!user.mfaEnabled) throw new MfaError('mfa_not_enabled', 'MFA is not on for this account', 409);
    await this.db.transaction(async (m) => {
      await this.useCode(m, user, code);
      await m
        .getRepository(User)
        .update({ id: userId }, { mfaEnabled: false, mfaSecret: null, mfaPendingSecret: null, mfaLastStep: null });
      await m.getRepository(MfaRecoveryCode).delete({ userId });
    });
  }

  /** A short-lived token standing for "password (or GitHub) accepted, second factor pending". */
  challengeToken(userId: string, method: SessionMethod): Promise<string> {
    return this.authenticator.keyring.sign(JWT_TYPES.mfaChallenge, userId, MFA_CHALLENGE_TTL_SECONDS, { method });
  }

  async completeChallenge(
    challengeToken: string,
    code: string,
    client: ClientInfo,
    note: AuditNote,
  ): Promise<TokenPair> {
    let claims;
    try {
      claims = await this.authenticator.keyring.verify(challengeToken, JWT_TYPES.mfaChallenge);
    } catch (err) {
      if (!(err instanceof JwtRejected)) throw err;
      throw new MfaError(
        'invalid_challenge',
        err.problem === 'expired' ? 'the MFA challenge expired: log in again' : 'the MFA challenge token is not valid',
        401,
      );
    }
    note.actorId = claims.sub;
    await this.throttle.hitMfa(claims.sub);
    const user = await this.users.findById(claims.sub);
    if (!user || !user.mfaEnabled) throw new MfaError('invalid_challenge', 'the MFA challenge token is not valid', 401);
    if (user.status === 'suspended') throw new UserSuspendedError();
    note.actorEmail = user.email;
    const method = SESSION_METHODS.find((m) => m === claims.method) ?? 'password';
    const tokens = await this.db.transaction(async (m) => {
      const kind = await this.useCode(m, user, code);
      note.details = { factor: kind };
      if (!(await this.throttle.spend('mfa-challenge', String(claims.jti), MFA_CHALLENGE_TTL_SECONDS))) {
        throw new MfaError('invalid_challenge', 'this MFA challenge was already completed: log in again', 401);
      }
      return this.sessions.start(user.id, method, true, client, m);
    });
    await this.users.recordLogin(user.id);
    return tokens;
  }

  /** Accepts a TOTP code (not replayed) or an unused recovery code, or throws. */
  private async useCode(m: EntityManager, user: User, code: string): Promise<'totp' | 'recovery'> {
    const trimmed = code.replace(/\s+/g, '');
    if (/^\d{6}$/.test(trimmed)) {
      const step = matchTotp(trimmed, openSecret(this.key, user.mfaSecret!, aad(user.id)));
      if (step === null) throw invalidCode();
      const accepted = (await m.query(
        `UPDATE users SET mfa_last_step = $2 WHERE id = $1 AND (mfa_last_step IS NULL OR mfa_last_step < $2) RETURNING id`,
        [user.id, step],
      )) as [unknown[], number];
      if (!accepted[0].length)
        throw new MfaError('mfa_code_reused', 'this code was already used: wait for the next one', 401);
      return 'totp';
    }
    const used = (await m.query(
      `UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id`,
      [user.id, sha256Hex(normalizeRecoveryCode(trimmed))],
    )) as [unknown[], number];
    if (!used[0].length) throw invalidCode();
    return 'recovery';
  }
}

function aad(userId: string): string {
  return `mfa:${userId}`;
}

function invalidCode(): MfaError {
  return new MfaError('invalid_mfa_code', 'the code is wrong (or a recovery code was already used)', 401);
}

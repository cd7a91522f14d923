import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessCache, accessKeys } from '../access/access-cache';
import type { AuditNote } from '../audit/audit-note';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { checkOpaqueToken, issueOpaqueToken, sha256Hex } from '../crypto/opaque-token';
import { MailService } from '../mail/mail.service';
import { passwordResetMail } from '../mail/mail.templates';
import { UsersService } from '../users/users.service';
import { AuthThrottle } from './auth-throttle';
import { ResetTokenError } from './auth.errors';
import { PasswordResetToken } from './session.entity';

export const RESET_PREFIX = 'hp_rst_';

export const FORGOT_PASSWORD_ANSWER = 'if an account exists for that address, a password reset token is on its way';

/**
 * Password reset by mail: a single-use `hp_rst_` token, stored as SHA-256, valid for
 * `auth.passwordResetTtlMinutes`. The request answers the same whether the address exists or
 * not, and the mail is sent in the background so timing does not tell either.
 */
@Injectable()
export class PasswordResetService {
  constructor(
    private readonly db: DataSource,
    private readonly users: UsersService,
    private readonly mail: MailService,
    private readonly throttle: AuthThrottle,
    private readonly cache: AccessCache,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  async request(email: string, note: AuditNote): Promise<void> {
    note.details = { email };
    const user = await this.users.findByEmail(email);
    if (!user || user.status !== 'active') return;
    note.actorId = user.id;
    const token = issueOpaqueToken(RESET_PREFIX);
    const ttl = this.config.auth.passwordResetTtlMinutes;
    await this.db
      .getRepository(PasswordResetToken)
      .insert({ userId: user.id, tokenHash: sha256Hex(token), expiresAt: new Date(Date.now() + ttl * 60_000) });
    this.mail.sendInBackground(passwordResetMail(user.email, this.config.http.publicUrl, token, ttl));
  }

  /** Sets the new password, spends the token (and any other outstanding one) and ends every session. */
  async reset(token: string, newPassword: string, note: AuditNote): Promise<void> {
    if (checkOpaqueToken(token, RESET_PREFIX)) throw new ResetTokenError('invalid_reset_token');
    const { email, revoked } = await this.db.transaction(async (m) => {
      const rows = (await m.query(
        `SELECT id, user_id, used_at, expires_at FROM password_reset_tokens WHERE token_hash = $1 FOR UPDATE`,
        [sha256Hex(token)],
      )) as { id: string; user_id: string; used_at: Date | null; expires_at: Date }[];
      const row = rows[0];
      if (!row) throw new ResetTokenError('invalid_reset_token');
      note.actorId = row.user_id;
      if (row.used_at) throw new ResetTokenError('reset_token_used');
      if (row.expires_at.getTime() <= Date.now()) throw new ResetTokenError('reset_token_expired');
      const user = await this.users.get(row.user_id);
      const ended = await this.users.setPassword(user, newPassword, undefined, m);
      await m.query(`UPDATE password_reset_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL`, [
        row.user_id,
      ]);
      return { email: user.email, revoked: ended };
    });
    await this.cache.invalidate(...revoked.map(accessKeys.session));
    await this.throttle.clearAccount(email);
  }
}

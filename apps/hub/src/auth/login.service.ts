import { Injectable } from '@nestjs/common';
import type { AuditNote } from '../audit/audit-note';
import type { User } from '../users/user.entity';
import { verifyAgainstDummy, verifyPassword } from '../users/passwords';
import { UsersService } from '../users/users.service';
import { AuthThrottle } from './auth-throttle';
import { InvalidCredentialsError, UserSuspendedError } from './auth.errors';
import { LoginResponse, MFA_CHALLENGE_TTL_SECONDS } from './auth.schemas';
import { MfaService } from './mfa.service';
import type { SessionMethod } from './session.entity';
import { ClientInfo, SessionsService } from './sessions.service';

@Injectable()
export class LoginService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly mfa: MfaService,
    private readonly throttle: AuthThrottle,
  ) {}

  /**
   * Email and password. Locked accounts and addresses are refused before any check; an unknown
   * email costs the same argon2 time as a wrong password and gets the same answer.
   */
  async login(email: string, password: string, client: ClientInfo, note: AuditNote): Promise<LoginResponse> {
    note.details = { email };
    const user = await this.users.findByEmail(email);
    if (user) note.actorId = user.id;
    await this.throttle.assertLoginAllowed(email, client.ip);
    const ok = user?.passwordHash
      ? await verifyPassword(user.passwordHash, password)
      : await verifyAgainstDummy(password);
    if (!user || !ok) {
      await this.throttle.recordLoginFailure(email, client.ip);
      throw new InvalidCredentialsError();
    }
    note.actorId = user.id;
    note.actorEmail = user.email;
    await this.throttle.clearAccount(email);
    return this.complete(user, 'password', client, note);
  }

  /** After a first factor (password, GitHub): the MFA challenge, or a session. */
  async complete(user: User, method: SessionMethod, client: ClientInfo, note: AuditNote): Promise<LoginResponse> {
    if (user.status === 'suspended') throw new UserSuspendedError();
    if (user.mfaEnabled) {
      note.details = { ...note.details, mfa_required: true };
      return {
        mfa_required: true,
        challenge_token: await this.mfa.challengeToken(user.id, method),
        expires_in: MFA_CHALLENGE_TTL_SECONDS,
      };
    }
    await this.users.recordLogin(user.id);
    return this.sessions.start(user.id, method, false, client);
  }
}

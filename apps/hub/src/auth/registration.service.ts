import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessCache, accessKeys } from '../access/access-cache';
import type { AuditNote } from '../audit/audit-note';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { InvitesService } from '../organizations/invites.service';
import { toUserView, UsersService } from '../users/users.service';
import { BootstrapRequiredError, RegistrationClosedError } from './auth.errors';
import type { AccountCreated, RegisterBody } from './auth.schemas';
import { BootstrapService } from './bootstrap.service';
import { ClientInfo, SessionsService } from './sessions.service';

/**
 * Self-service sign-up under the configured policy: `open` (anyone), `invite-only` (an invite
 * token for the same email; the new user joins that organization) or `closed`. Every new user
 * gets a personal organization.
 */
@Injectable()
export class RegistrationService {
  constructor(
    private readonly db: DataSource,
    private readonly users: UsersService,
    private readonly invites: InvitesService,
    private readonly sessions: SessionsService,
    private readonly bootstrap: BootstrapService,
    private readonly cache: AccessCache,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  /** Whether someone without an invite may create an account (GitHub sign-in asks too). */
  async assertOpenSignUp(): Promise<void> {
    await this.assertSetUp();
    const policy = this.config.auth.registration;
    if (policy !== 'open') throw new RegistrationClosedError(policy);
  }

  async register(body: RegisterBody, client: ClientInfo, note: AuditNote): Promise<AccountCreated> {
    note.details = { email: body.email, ...(body.invite_token ? { invite: true } : {}) };
    const policy = this.config.auth.registration;
    if (policy === 'closed') throw new RegistrationClosedError('closed');
    await this.assertSetUp();
    if (policy === 'invite-only' && !body.invite_token) throw new RegistrationClosedError('invite-only');
    if (body.invite_token) await this.invites.checkForRegistration(body.invite_token, body.email);
    this.users.checkPassword(body.password, body);
    const created = await this.db.transaction(async (m) => {
      const { user, org } = await this.users.createAccount(
        { email: body.email, password: body.password, name: body.name },
        m,
      );
      const joined = body.invite_token ? await this.invites.consume(m, body.invite_token, user) : null;
      const tokens = await this.sessions.start(user.id, joined ? 'invite' : 'register', false, client, m);
      return { ...tokens, user: toUserView(user), organization: { id: org.id, name: org.name }, joined };
    });
    note.actorId = created.user.id;
    note.actorEmail = created.user.email;
    note.targetType = 'user';
    note.targetId = created.user.id;
    if (created.joined) note.details = { ...note.details, joined_org_id: created.joined.org_id };
    await this.cache.invalidate(accessKeys.user(created.user.id));
    const { joined: _joined, ...response } = created;
    return response;
  }

  private async assertSetUp(): Promise<void> {
    if (this.config.auth.bootstrapEnabled && !(await this.bootstrap.anyUser())) throw new BootstrapRequiredError();
  }
}

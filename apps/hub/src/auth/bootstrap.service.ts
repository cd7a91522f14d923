import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { constantTimeEqual, sha256 } from '../crypto/opaque-token';
import { toUserView, UsersService } from '../users/users.service';
import { BootstrapDisabledError, InvalidSetupTokenError } from './auth.errors';
import type { AccountCreated, BootstrapBody } from './auth.schemas';
import { ClientInfo, SessionsService } from './sessions.service';

// Arbitrary, fixed: every replica takes the same lock, so concurrent bootstraps run one at a time.
const BOOTSTRAP_LOCK_KEY = 4_242_017;

/**
 * First setup: while no user exists, one request creates the first platform admin and its
 * organization; from then on bootstrap answers 403 bootstrap_disabled. Concurrent attempts are
 * serialized by a transaction-scoped advisory lock, so exactly one of them wins.
 */
@Injectable()
export class BootstrapService {
  constructor(
    private readonly db: DataSource,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  async needed(): Promise<boolean> {
    return this.config.auth.bootstrapEnabled && !(await this.anyUser());
  }

  async anyUser(): Promise<boolean> {
    const rows = (await this.db.query(`SELECT EXISTS (SELECT 1 FROM users) AS any`)) as { any: boolean }[];
    return rows[0]!.any;
  }

  async bootstrap(body: BootstrapBody, client: ClientInfo): Promise<AccountCreated> {
    if (!this.config.auth.bootstrapEnabled) throw new BootstrapDisabledError('config');
    const expected = this.config.auth.bootstrapToken;
    if (expected && !constantTimeEqual(sha256(body.setup_token ?? ''), sha256(expected)))
      throw new InvalidSetupTokenError();
    // Cheap early answer for the common case; the lock below is what guarantees one winner.
    if (await this.anyUser()) throw new BootstrapDisabledError('done');
    this.users.checkPassword(body.password, body);
    return this.db.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
      const existing = (await m.query(`SELECT EXISTS (SELECT 1 FROM users) AS any`)) as { any: boolean }[];
      if (existing[0]!.any) throw new BootstrapDisabledError('done');
      const { user, org } = await this.users.createAccount(
        {
          email: body.email,
          password: body.password,
          name: body.name,
          platformAdmin: true,
          orgName: body.organization_name,
          personalOrg: false,
        },
        m,
      );
      const tokens = await this.sessions.start(user.id, 'bootstrap', false, client, m);
      return { ...tokens, user: toUserView(user), organization: { id: org.id, name: org.name } };
    });
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { AuditNote } from '../audit/audit-note';
import { HUB_CONFIG } from '../config/config.module';
import type { GithubOAuthConfig, HubConfig } from '../config/load-config';
import { constantTimeEqual, randomSecret, sha256, sha256Hex } from '../crypto/opaque-token';
import { RedisService } from '../redis/redis.service';
import { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { DataSource } from 'typeorm';
import { GithubOAuthError } from './auth.errors';
import type { LoginResponse } from './auth.schemas';
import { LoginService } from './login.service';
import { RegistrationService } from './registration.service';
import type { ClientInfo } from './sessions.service';

export const OAUTH_STATE_COOKIE = 'hp_github_state';
const STATE_TTL_SECONDS = 600;
const HTTP_TIMEOUT_MS = 10_000;

const tokenAnswer = z.union([
  z.object({ access_token: z.string().min(1) }),
  z.object({ error: z.string(), error_description: z.string().optional() }),
]);
const githubUser = z.object({
  id: z.number().int(),
  login: z.string(),
  name: z.string().nullable().optional(),
  email: z.string().nullable().optional(),
});
const githubEmails = z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }));

/**
 * Sign-in with GitHub (OAuth 2.0 authorization code). The `state` is random, single use, kept
 * in Redis for ten minutes and also set as an HttpOnly cookie: the callback must present both,
 * so a login started in someone else's browser cannot be completed in yours (login CSRF).
 * A GitHub account is matched by its id, else linked to the local account with the same
 * *verified* primary email, else (when sign-up is open) a new account is created.
 */
@Injectable()
export class GithubOAuthService {
  private readonly gh: GithubOAuthConfig;

  constructor(
    private readonly redis: RedisService,
    private readonly db: DataSource,
    private readonly users: UsersService,
    private readonly login: LoginService,
    private readonly registration: RegistrationService,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {
    this.gh = config.github;
  }

  get redirectUri(): string {
    return `${this.config.http.publicUrl}/v1/auth/github/callback`;
  }

  get secureCookie(): boolean {
    return this.config.http.publicUrl.startsWith('https://');
  }

  async start(): Promise<{ url: string; state: string }> {
    const clientId = this.configured().clientId;
    const state = randomSecret('', 24);
    await this.redis.client.set(this.stateKey(state), '1', 'EX', STATE_TTL_SECONDS);
    const url = new URL(this.gh.authorizeUrl);
    url.searchParams.set('client_id', clientId);
    url.searchParams.set('redirect_uri', this.redirectUri);
    url.searchParams.set('scope', 'read:user user:email');
    url.searchParams.set('state', state);
    return { url: url.toString(), state };
  }

  async callback(
    q: { code?: string; state?: string; error?: string },
    cookieState: string | undefined,
    client: ClientInfo,
    note: AuditNote,
  ): Promise<LoginResponse> {
    this.configured();
    if (q.error)
      throw new GithubOAuthError('github_oauth_failed', `GitHub did not authorize the sign-in: ${q.error}`, 401);
    if (!q.state || !cookieState || !constantTimeEqual(sha256(q.state), sha256(cookieState))) {
      throw new GithubOAuthError(
        'invalid_oauth_state',
        'the sign-in state is missing or does not match this browser: start again at GET /v1/auth/github',
        400,
      );
    }
    if ((await this.redis.client.getdel(this.stateKey(q.state))) === null) {
      throw new GithubOAuthError(
        'invalid_oauth_state',
        'the sign-in state expired or was already used: start again at GET /v1/auth/github',
        400,
      );
    }
    if (!q.code) throw new GithubOAuthError('github_oauth_failed', 'GitHub sent no authorization code', 400);
    const accessToken = await this.exchange(q.code);
    const profile = await this.fetchJson(this.gh.userUrl, accessToken, githubUser);
    const emails = await this.fetchJson(`${this.gh.userUrl.replace(/\/+$/, '')}/emails`, accessToken, githubEmails);
    const verified = emails.find((e) => e.primary && e.verified)?.email.toLowerCase();
    note.details = { github_login: profile.login };
    const user = await this.findOrCreate(String(profile.id), profile.login, profile.name ?? '', verified);
    note.actorId = user.id;
    note.actorEmail = user.email;
    return this.login.complete(user, 'github', client, note);
  }

  private async findOrCreate(
    githubId: string,
    login: string,
    name: string,
    verifiedEmail: string | undefined,
  ): Promise<User> {
    const repo = this.db.getRepository(User);
    const linked = await repo.findOneBy({ githubId });
    if (linked) return linked;
    if (!verifiedEmail)
      throw new GithubOAuthError(
        'github_email_unverified',
        'your GitHub account has no verified primary email, which Hostplane needs',
        403,
      );
    const byEmail = await this.users.findByEmail(verifiedEmail);
    if (byEmail) {
      await repo.update({ id: byEmail.id }, { githubId, githubLogin: login });
      return repo.findOneByOrFail({ id: byEmail.id });
    }
    await this.registration.assertOpenSignUp();
    const { user } = await this.users.createAccount({ email: verifiedEmail, name, githubId, githubLogin: login });
    return user;
  }

  private async exchange(code: string): Promise<string> {
    const gh = this.configured();
    const res = await this.call(this.gh.tokenUrl, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: gh.clientId,
        client_secret: gh.clientSecret,
        code,
        redirect_uri: this.redirectUri,
      }),
    });
    const answer = tokenAnswer.safeParse(await res.json().catch(() => null));
    if (!res.ok || !answer.success)
      throw new GithubOAuthError(
        'github_oauth_failed',
        `GitHub's token endpoint answered ${res.status} without a token`,
        401,
      );
    if ('error' in answer.data)
      throw new GithubOAuthError('github_oauth_failed', `GitHub refused the code: ${answer.data.error}`, 401);
    return answer.data.access_token;
  }

  private async fetchJson<T>(url: string, accessToken: string, schema: z.ZodType<T>): Promise<T> {
    const res = await this.call(url, {
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${accessToken}`,
        'user-agent': 'hostplane-hub',
      },
    });
    const parsed = schema.safeParse(await res.json().catch(() => null));
    if (!res.ok || !parsed.success)
      throw new GithubOAuthError(
        'github_oauth_failed',
        `GitHub's API answered ${res.status} with an unexpected body`,
        401,
      );
    return parsed.data;
  }

  private async call(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS), redirect: 'error' });
    } catch (err) {
      throw new GithubOAuthError(
        'github_oauth_failed',
        `GitHub could not be reached (${new URL(url).host}): ${(err as Error).message}`,
        503,
      );
    }
  }

  private configured(): { clientId: string; clientSecret: string } {
    const { clientId, clientSecret } = this.gh;
    if (!clientId || !clientSecret) {
      throw new GithubOAuthError(
        'github_oauth_disabled',
        'GitHub sign-in is not configured on this hub (HOSTPLANE_GITHUB_CLIENT_ID and _SECRET)',
        404,
      );
    }
    return { clientId, clientSecret };
  }

  private stateKey(state: string): string {
    return this.redis.key('oauth', 'github', sha256Hex(state));
  }
}

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Type } from '@nestjs/common';
import { TestMailbox } from './mailbox';
import { startTestHub, TestHub, TestHubOptions, TestResponse } from './test-hub';

type Init = RequestInit & { json?: unknown; org?: string | null };

export interface TestUser {
  id: string;
  email: string;
  password: string;
}

/**
 * An HTTP client of a test hub that sends one set of credentials (a JWT, or an hp_pat_ token as
 * Bearer or X-Api-Key) and, when given, an X-Org-Id. `org: null` in a request leaves it out.
 */
export class Client {
  constructor(
    readonly hub: TestHub,
    readonly credential: { bearer?: string; apiKey?: string },
    readonly user: TestUser,
    /** The user's personal organization. */
    readonly personalOrgId: string,
    readonly defaultOrg?: string,
    readonly refreshToken?: string,
  ) {}

  get accessToken(): string {
    assert.ok(this.credential.bearer, 'this client has no bearer token');
    return this.credential.bearer;
  }

  request(path: string, init: Init = {}): Promise<TestResponse> {
    const { org: _org, ...rest } = init;
    return this.hub.request(path, { ...rest, headers: this.headers(init) });
  }

  /** Opens a streaming response (SSE, NDJSON) and closes it once the status and headers are in. */
  async open(path: string, init: Init = {}): Promise<{ status: number; headers: Headers }> {
    const controller = new AbortController();
    const res = await fetch(this.hub.url + path, { headers: this.headers(init), signal: controller.signal });
    controller.abort();
    return { status: res.status, headers: res.headers };
  }

  private headers(init: Init): Headers {
    const headers = new Headers(init.headers);
    if (this.credential.bearer) headers.set('authorization', `Bearer ${this.credential.bearer}`);
    if (this.credential.apiKey) headers.set('x-api-key', this.credential.apiKey);
    const org = init.org === undefined ? this.defaultOrg : init.org;
    if (org) headers.set('x-org-id', org);
    return headers;
  }

  /** The same user acting in `orgId` by default. */
  inOrg(orgId: string): Client {
    return new Client(this.hub, this.credential, this.user, this.personalOrgId, orgId, this.refreshToken);
  }

  withToken(credential: { bearer?: string; apiKey?: string }): Client {
    return new Client(this.hub, credential, this.user, this.personalOrgId, this.defaultOrg);
  }
}

export interface IdentityOptions {
  env?: Record<string, string>;
  extraModules?: Type[];
  hub?: Omit<TestHubOptions, 'env' | 'extraModules'>;
  /** Leave the platform un-bootstrapped (no admin yet). */
  skipBootstrap?: boolean;
}

export function strongPassword(): string {
  return `Lamp-${randomBytes(6).toString('hex')}-Orbit`;
}

export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(4).toString('hex')}@example.test`;
}

/**
 * A hub with a real SMTP mailbox and a bootstrapped platform admin, plus builders that go
 * through the real HTTP API: `newUser()`, `newOrg()`, `addMember(org, role)`, `newApiToken()`.
 * Later domains (nodes, instances) build their tests on it.
 */
export class IdentityContext {
  private adminClient?: Client;

  private constructor(
    readonly hub: TestHub,
    readonly mail: TestMailbox,
  ) {}

  static async start(options: IdentityOptions = {}): Promise<IdentityContext> {
    const mail = await TestMailbox.start();
    const hub = await startTestHub({
      ...options.hub,
      env: { ...mail.env(), ...options.env },
      extraModules: options.extraModules,
    });
    const ctx = new IdentityContext(hub, mail);
    if (!options.skipBootstrap) ctx.adminClient = await ctx.bootstrap();
    return ctx;
  }

  /** The platform admin created by bootstrap. */
  get admin(): Client {
    assert.ok(this.adminClient, 'this context was started without bootstrap');
    return this.adminClient;
  }

  async bootstrap(input: { email?: string; password?: string; organization_name?: string } = {}): Promise<Client> {
    const user = { email: input.email ?? uniqueEmail('admin'), password: input.password ?? strongPassword() };
    const res = await this.hub.request('/v1/auth/bootstrap', {
      method: 'POST',
      json: { ...user, organization_name: input.organization_name ?? 'Platform' },
    });
    assert.equal(res.status, 201, `bootstrap: ${res.text}`);
    this.adminClient = new Client(
      this.hub,
      { bearer: res.body.access_token },
      { id: res.body.user.id, ...user },
      res.body.organization.id,
      undefined,
      res.body.refresh_token,
    );
    return this.adminClient;
  }

  /** A user created by the platform admin, logged in. */
  async newUser(
    input: { email?: string; password?: string; name?: string; platformAdmin?: boolean } = {},
  ): Promise<Client> {
    const email = input.email ?? uniqueEmail();
    const password = input.password ?? strongPassword();
    const created = await this.admin.request('/v1/users', {
      method: 'POST',
      json: { email, password, name: input.name ?? '', is_platform_admin: input.platformAdmin ?? false },
    });
    assert.equal(created.status, 201, `create user: ${created.text}`);
    return this.login(email, password);
  }

  async login(email: string, password: string): Promise<Client> {
    const res = await this.hub.request('/v1/auth/login', { method: 'POST', json: { email, password } });
    assert.equal(res.status, 200, `login: ${res.text}`);
    assert.ok(res.body.access_token, `login returned no tokens: ${res.text}`);
    const me = await this.hub.request('/v1/users/me', {
      headers: { authorization: `Bearer ${res.body.access_token}` },
    });
    assert.equal(me.status, 200, me.text);
    const personal = (me.body.organizations as { id: string; personal: boolean }[]).find((o) => o.personal);
    return new Client(
      this.hub,
      { bearer: res.body.access_token },
      { id: me.body.id, email, password },
      personal?.id ?? '',
      undefined,
      res.body.refresh_token,
    );
  }

  /** An organization owned by `owner` (a new user when not given). */
  async newOrg(input: { owner?: Client; name?: string } = {}): Promise<{ id: string; name: string; owner: Client }> {
    const owner = input.owner ?? (await this.newUser());
    const name = input.name ?? `Org ${randomBytes(3).toString('hex')}`;
    const res = await owner.request('/v1/organizations', { method: 'POST', json: { name } });
    assert.equal(res.status, 201, `create org: ${res.text}`);
    return { id: res.body.id, name, owner: owner.inOrg(res.body.id) };
  }

  /** A new user invited to `org` with `role` (through the invite mail) and accepted; acts in that org. */
  async addMember(
    org: { id: string; owner: Client },
    role: 'owner' | 'admin' | 'member' | 'viewer',
    user?: Client,
  ): Promise<Client> {
    const member = user ?? (await this.newUser());
    const token = await this.invite(org, member.user.email, role);
    const accepted = await member.request(`/v1/invites/${token}/accept`, { method: 'POST', org: null });
    assert.equal(accepted.status, 200, `accept invite: ${accepted.text}`);
    return member.inOrg(org.id);
  }

  /** Sends an invite and returns the token read from the mail the hub sent. */
  async invite(org: { id: string; owner: Client }, email: string, role: string): Promise<string> {
    const res = await org.owner.request(`/v1/organizations/${org.id}/members/invite`, {
      method: 'POST',
      json: { email, role },
    });
    assert.equal(res.status, 201, `invite: ${res.text}`);
    const mail = await this.mail.waitFor((m) => m.to.includes(email) && /invited/.test(m.subject));
    const token = lastMatch(mail.text, /hp_inv_[0-9A-Za-z]{38}/g);
    this.mail.messages.splice(this.mail.messages.indexOf(mail), 1);
    return token;
  }

  /** An API token of `client` for `orgId` (its default org when not given). */
  async newApiToken(
    client: Client,
    input: { org?: string; scopes?: string[]; expiresIn?: number | null; name?: string } = {},
  ): Promise<{ id: string; token: string }> {
    const res = await client.request('/v1/api-tokens', {
      method: 'POST',
      org: input.org ?? client.defaultOrg ?? client.personalOrgId,
      json: {
        name: input.name ?? 'ci',
        expires_in: input.expiresIn === undefined ? 3600 : input.expiresIn,
        ...(input.scopes ? { scopes: input.scopes } : {}),
      },
    });
    assert.equal(res.status, 201, `create API token: ${res.text}`);
    return { id: res.body.id, token: res.body.token };
  }

  /** Entries of the audit log matching `query`, waiting briefly for rows written after the response. */
  async auditEntries(query: Record<string, string>, atLeast = 1, timeoutMs = 3000): Promise<any[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await this.admin.request(`/v1/admin/audit-logs?${new URLSearchParams({ limit: '500', ...query })}`);
      assert.equal(res.status, 200, res.text);
      if (res.body.data.length >= atLeast || Date.now() > deadline) return res.body.data;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close(): Promise<void> {
    await this.hub.close();
    await this.mail.close();
  }
}

export function lastMatch(text: string, pattern: RegExp): string {
  const all = text.match(pattern);
  assert.ok(all?.length, `no ${pattern} in:\n${text}`);
  return all[all.length - 1]!;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 3000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

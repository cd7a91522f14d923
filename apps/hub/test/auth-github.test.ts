import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCode } from '../src/auth/totp';
import { FakeGithub } from './support/fake-github';
import { IdentityContext, uniqueEmail } from './support/identity';
import { startTestHub, TestHub } from './support/test-hub';

interface Started {
  location: URL;
  cookie: string;
  state: string;
}

async function start(hub: TestHub): Promise<Started> {
  const res = await fetch(`${hub.url}/v1/auth/github`, { redirect: 'manual' });
  assert.equal(res.status, 302);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const location = new URL(res.headers.get('location') ?? '');
  return { location, cookie: setCookie.split(';')[0]!, state: location.searchParams.get('state') ?? '' };
}

/** Plays the browser: hub → GitHub's authorize page → back to the hub's callback with the cookie. */
async function signIn(hub: TestHub, options: { cookie?: string | null } = {}) {
  const s = await start(hub);
  const authorized = await fetch(s.location, { redirect: 'manual' });
  assert.equal(authorized.status, 302);
  const back = new URL(authorized.headers.get('location') ?? '');
  const cookie = options.cookie === undefined ? s.cookie : options.cookie;
  return hub.request(`/v1/auth/github/callback${back.search}`, { headers: cookie ? { cookie } : {} });
}

describe('GitHub sign-in', () => {
  let github: FakeGithub;
  let ctx: IdentityContext;
  before(async () => {
    github = await FakeGithub.start();
    ctx = await IdentityContext.start({ env: { ...github.env(), HOSTPLANE_REGISTRATION: 'open' } });
  });
  after(async () => {
    await ctx.close();
    await github.close();
  });

  it('redirects to the configured authorize URL with client id, redirect URI, scope and a state also set as an HttpOnly cookie', async () => {
    const s = await start(ctx.hub);
    assert.equal(s.location.origin + s.location.pathname, `${github.url}/login/oauth/authorize`);
    assert.equal(s.location.searchParams.get('client_id'), github.clientId);
    assert.equal(
      s.location.searchParams.get('redirect_uri'),
      `${ctx.hub.config.http.publicUrl}/v1/auth/github/callback`,
    );
    assert.equal(s.location.searchParams.get('scope'), 'read:user user:email');
    assert.ok(s.state.length >= 32);
    assert.equal(s.cookie, `hp_github_state=${s.state}`);
  });

  it('signs a new GitHub user up (open registration) with their verified email, then signs the same account in again', async () => {
    github.identity = {
      id: 1001,
      login: 'new-octo',
      name: 'New Octo',
      emails: [{ email: 'New.Octo@Example.test', primary: true, verified: true }],
    };
    const first = await signIn(ctx.hub);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.token_type, 'Bearer');
    const me = await ctx.hub.request('/v1/users/me', {
      headers: { authorization: `Bearer ${first.body.access_token}` },
    });
    assert.equal(me.body.email, 'new.octo@example.test');
    assert.equal(me.body.github_login, 'new-octo');
    assert.equal(me.body.organizations.length, 1);
    const exchange = github.exchanges.at(-1)!;
    assert.equal(exchange.client_secret, github.clientSecret);

    github.identity = {
      ...github.identity,
      emails: [{ email: 'changed@example.test', primary: true, verified: true }],
    };
    const second = await signIn(ctx.hub);
    const again = await ctx.hub.request('/v1/users/me', {
      headers: { authorization: `Bearer ${second.body.access_token}` },
    });
    assert.equal(again.body.id, me.body.id, 'matched by GitHub id, not email');
    const entries = await ctx.auditEntries({ action: 'auth.github.login', actor_id: me.body.id }, 2);
    assert.deepEqual(
      entries.map((e) => e.outcome),
      ['success', 'success'],
    );
  });

  it('links to the existing account with the same verified email', async () => {
    const local = await ctx.newUser();
    github.identity = {
      id: 1002,
      login: 'linked',
      name: null,
      emails: [{ email: local.user.email, primary: true, verified: true }],
    };
    const res = await signIn(ctx.hub);
    const me = await ctx.hub.request('/v1/users/me', { headers: { authorization: `Bearer ${res.body.access_token}` } });
    assert.equal(me.body.id, local.user.id);
    assert.equal(me.body.github_login, 'linked');
  });

  it('refuses an unverified email, so nobody takes over an account by claiming its address', async () => {
    const local = await ctx.newUser();
    github.identity = {
      id: 1003,
      login: 'claimer',
      name: null,
      emails: [{ email: local.user.email, primary: true, verified: false }],
    };
    const res = await signIn(ctx.hub);
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'github_email_unverified');
  });

  it('refuses a callback without the state cookie, with a different one, or replayed', async () => {
    github.identity = {
      id: 1004,
      login: 'csrf',
      name: null,
      emails: [{ email: uniqueEmail('csrf'), primary: true, verified: true }],
    };
    const noCookie = await signIn(ctx.hub, { cookie: null });
    assert.equal(noCookie.status, 400);
    assert.equal(noCookie.body.code, 'invalid_oauth_state');
    const other = await start(ctx.hub);
    const wrongCookie = await signIn(ctx.hub, { cookie: other.cookie });
    assert.equal(wrongCookie.body.code, 'invalid_oauth_state');

    const s = await start(ctx.hub);
    const authorized = await fetch(s.location, { redirect: 'manual' });
    const search = new URL(authorized.headers.get('location') ?? '').search;
    const ok = await ctx.hub.request(`/v1/auth/github/callback${search}`, { headers: { cookie: s.cookie } });
    assert.equal(ok.status, 200, ok.text);
    const replay = await ctx.hub.request(`/v1/auth/github/callback${search}`, { headers: { cookie: s.cookie } });
    assert.equal(replay.status, 400);
    assert.equal(replay.body.code, 'invalid_oauth_state');
  });

  it('a code GitHub does not accept is a 401 github_oauth_failed', async () => {
    const s = await start(ctx.hub);
    const res = await ctx.hub.request(`/v1/auth/github/callback?code=forged&state=${s.state}`, {
      headers: { cookie: s.cookie },
    });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'github_oauth_failed');
    assert.match(res.body.error, /bad_verification_code/);
  });

  it('a GitHub user with MFA on gets the MFA challenge', async () => {
    github.identity = {
      id: 1005,
      login: 'mfa-octo',
      name: null,
      emails: [{ email: uniqueEmail('mfa'), primary: true, verified: true }],
    };
    const first = await signIn(ctx.hub);
    const auth = { authorization: `Bearer ${first.body.access_token}` };
    const enroll = await ctx.hub.request('/v1/auth/mfa/enroll', { method: 'POST', headers: auth });
    await ctx.hub.request('/v1/auth/mfa/verify', {
      method: 'POST',
      headers: auth,
      json: { code: totpCode(enroll.body.secret) },
    });
    const second = await signIn(ctx.hub);
    assert.equal(second.body.mfa_required, true);
    assert.equal(second.body.access_token, undefined);
  });
});

describe('GitHub sign-in configuration', () => {
  it('invite-only registration refuses new GitHub users; no client id means 404 github_oauth_disabled', async () => {
    const github = await FakeGithub.start();
    const ctx = await IdentityContext.start({ env: { ...github.env(), HOSTPLANE_REGISTRATION: 'invite-only' } });
    try {
      github.identity = {
        id: 2001,
        login: 'outsider',
        name: null,
        emails: [{ email: uniqueEmail('out'), primary: true, verified: true }],
      };
      const res = await signIn(ctx.hub);
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'invite_required');
    } finally {
      await ctx.close();
      await github.close();
    }
    const hub = await startTestHub();
    try {
      const res = await hub.request('/v1/auth/github');
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'github_oauth_disabled');
    } finally {
      await hub.close();
    }
  });
});

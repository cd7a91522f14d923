import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCode } from '../src/auth/totp';
import { FakeGithub } from './support/fake-github';
import { IdentityContext, lastMatch, strongPassword, uniqueEmail } from './support/identity';

describe('secrets never reach the log', () => {
  let ctx: IdentityContext;
  let github: FakeGithub;
  const secrets = new Map<string, string>();
  const keep = (label: string, value: string) => {
    assert.ok(value && value.length >= 6, `${label} is a real value`);
    secrets.set(label, value);
    return value;
  };

  before(async () => {
    github = await FakeGithub.start();
    ctx = await IdentityContext.start({
      env: { ...github.env(), HOSTPLANE_LOG_LEVEL: 'trace', HOSTPLANE_REGISTRATION: 'open' },
    });
    keep('admin password', ctx.admin.user.password);
    keep('admin access token', ctx.admin.accessToken);
    keep('admin refresh token', ctx.admin.refreshToken!);
    keep('smtp password', ctx.mail.password);
    keep('github client secret', github.clientSecret);
    keep('jwt key', ctx.hub.config.secrets.jwtKeys[0]!.secret.toString('base64'));
    keep('encryption key', ctx.hub.config.secrets.encryptionKey.toString('base64'));
  });
  after(async () => {
    await ctx.close();
    await github.close();
  });

  it('after every identity flow, the captured log stream holds none of the passwords, tokens, codes or keys used', async () => {
    // Passwords: right, wrong, too weak; registration and password change.
    const user = await ctx.newUser({ password: keep('user password', strongPassword()) });
    await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: user.user.email, password: keep('wrong password', 'Wrong-Guess-98765') },
    });
    await ctx.hub.request('/v1/auth/register', {
      method: 'POST',
      json: { email: uniqueEmail(), password: keep('weak password', 'password123456') },
    });
    await user.request('/v1/users/me/password', {
      method: 'POST',
      json: { current_password: user.user.password, new_password: keep('new password', strongPassword()) },
    });
    keep('session token', user.accessToken);

    // API tokens, as Bearer and X-Api-Key, good and mistyped.
    const { token } = await ctx.newApiToken(user);
    keep('api token', token);
    await ctx.hub.request('/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
    await ctx.hub.request('/v1/users/me', { headers: { 'x-api-key': token } });
    await ctx.hub.request('/v1/users/me', {
      headers: { 'x-api-key': keep('typo token', token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')) },
    });

    // Refresh tokens, rotated and replayed (which ends the session).
    const refreshed = await ctx.hub.request('/v1/auth/refresh', {
      method: 'POST',
      json: { refresh_token: keep('refresh token', user.refreshToken!) },
    });
    keep('rotated refresh token', refreshed.body.refresh_token);
    await ctx.hub.request('/v1/auth/refresh', { method: 'POST', json: { refresh_token: user.refreshToken } });

    // Password reset and invite tokens (the invite token travels in a URL path).
    const other = await ctx.newUser();
    await ctx.hub.request('/v1/auth/forgot-password', { method: 'POST', json: { email: other.user.email } });
    const reset = keep(
      'reset token',
      lastMatch((await ctx.mail.to(other.user.email, /Reset/)).text, /hp_rst_[0-9A-Za-z]{38}/g),
    );
    await ctx.hub.request('/v1/auth/reset-password', {
      method: 'POST',
      json: { token: reset, new_password: keep('reset password', strongPassword()) },
    });
    const org = await ctx.newOrg();
    const invitee = await ctx.newUser();
    const invite = keep('invite token', await ctx.invite(org, invitee.user.email, 'member'));
    assert.equal((await invitee.request(`/v1/invites/${invite}/accept`, { method: 'POST' })).status, 200);

    // MFA: secret, codes, recovery codes, challenge token.
    const mfaUser = await ctx.newUser();
    const enroll = await mfaUser.request('/v1/auth/mfa/enroll', { method: 'POST' });
    keep('totp secret', enroll.body.secret);
    const verify = await mfaUser.request('/v1/auth/mfa/verify', {
      method: 'POST',
      json: { code: totpCode(enroll.body.secret) },
    });
    for (const [i, c] of (verify.body.recovery_codes as string[]).entries()) keep(`recovery code ${i}`, c);
    const login = await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: mfaUser.user.email, password: mfaUser.user.password },
    });
    keep('challenge token', login.body.challenge_token);
    const done = await ctx.hub.request('/v1/auth/mfa/challenge', {
      method: 'POST',
      json: { challenge_token: login.body.challenge_token, code: verify.body.recovery_codes[0] },
    });
    assert.equal(done.status, 200);

    // GitHub: the state, the authorization code and GitHub's access token.
    github.identity = {
      id: 777,
      login: 'logcheck',
      name: null,
      emails: [{ email: uniqueEmail('gh'), primary: true, verified: true }],
    };
    const startRes = await fetch(`${ctx.hub.url}/v1/auth/github`, { redirect: 'manual' });
    const authorize = new URL(startRes.headers.get('location')!);
    keep('oauth state', authorize.searchParams.get('state')!);
    const back = new URL((await fetch(authorize, { redirect: 'manual' })).headers.get('location')!);
    keep('oauth code', back.searchParams.get('code')!);
    const gh = await ctx.hub.request(`/v1/auth/github/callback${back.search}`, {
      headers: { cookie: (startRes.headers.get('set-cookie') ?? '').split(';')[0]! },
    });
    assert.equal(gh.status, 200, gh.text);

    await new Promise((r) => setTimeout(r, 300));
    const text = ctx.hub.logs.text();
    assert.ok(ctx.hub.logs.lines.length > 50, 'the log was captured');
    assert.ok(text.includes('/v1/invites/[redacted]/accept'), 'the invite URL is logged with its token redacted');
    assert.ok(
      text.includes('code=%5Bredacted%5D') || text.includes('code=[redacted]'),
      'the OAuth callback is logged with its code redacted',
    );
    const leaked = [...secrets].filter(([, value]) => text.includes(value)).map(([label]) => label);
    assert.deepEqual(leaked, []);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCode } from '../src/auth/totp';
import { Client, IdentityContext } from './support/identity';

describe('MFA (TOTP)', () => {
  let ctx: IdentityContext;
  before(async () => {
    ctx = await IdentityContext.start();
  });
  after(() => ctx.close());

  /** A user with MFA on, and the code its enrollment consumed. */
  async function enrolledUser(): Promise<{ user: Client; secret: string; recovery: string[]; enrollCode: string }> {
    const user = await ctx.newUser();
    const enroll = await user.request('/v1/auth/mfa/enroll', { method: 'POST' });
    assert.equal(enroll.status, 200, enroll.text);
    const enrollCode = totpCode(enroll.body.secret);
    const verify = await user.request('/v1/auth/mfa/verify', { method: 'POST', json: { code: enrollCode } });
    assert.equal(verify.status, 200, verify.text);
    return { user, secret: enroll.body.secret, recovery: verify.body.recovery_codes, enrollCode };
  }

  async function challenge(user: Client): Promise<string> {
    const res = await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: user.user.email, password: user.user.password },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.mfa_required, true);
    assert.equal(res.body.access_token, undefined, 'no tokens before the second factor');
    assert.equal(res.body.expires_in, 300);
    return res.body.challenge_token;
  }

  it('enrolls with a secret and otpauth URI, and turns on only after a valid code, showing 10 recovery codes once', async () => {
    const user = await ctx.newUser();
    assert.deepEqual((await user.request('/v1/auth/mfa/status')).body, {
      enabled: false,
      enrolling: false,
      recovery_codes_remaining: 0,
    });
    const enroll = await user.request('/v1/auth/mfa/enroll', { method: 'POST' });
    assert.match(enroll.body.secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(enroll.body.otpauth_uri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), enroll.body.secret);
    assert.equal(uri.searchParams.get('issuer'), 'Hostplane');
    assert.ok(decodeURIComponent(uri.pathname).includes(user.user.email));
    assert.equal((await user.request('/v1/auth/mfa/status')).body.enrolling, true);

    const wrong = await user.request('/v1/auth/mfa/verify', { method: 'POST', json: { code: '000000' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'invalid_mfa_code');
    const ok = await user.request('/v1/auth/mfa/verify', {
      method: 'POST',
      json: { code: totpCode(enroll.body.secret) },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.recovery_codes.length, 10);
    assert.equal(new Set(ok.body.recovery_codes).size, 10);
    assert.deepEqual((await user.request('/v1/auth/mfa/status')).body, {
      enabled: true,
      enrolling: false,
      recovery_codes_remaining: 10,
    });
    const again = await user.request('/v1/auth/mfa/enroll', { method: 'POST' });
    assert.equal(again.body.code, 'mfa_already_enabled');
  });

  it('login returns a challenge; a replayed code is refused, the next one gives tokens, and the challenge works once', async () => {
    const { user, secret, enrollCode } = await enrolledUser();
    const token = await challenge(user);
    const asAccess = await ctx.hub.request('/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(asAccess.status, 401, 'a challenge token is not an access token');

    const replay = await ctx.hub.request('/v1/auth/mfa/challenge', {
      method: 'POST',
      json: { challenge_token: token, code: enrollCode },
    });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, 'mfa_code_reused', 'the code used to enroll cannot log in within its window');

    const next = totpCode(secret, Date.now() + 30_000);
    const ok = await ctx.hub.request('/v1/auth/mfa/challenge', {
      method: 'POST',
      json: { challenge_token: token, code: next },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.expires_in, 900);
    const me = await ctx.hub.request('/v1/users/me', { headers: { authorization: `Bearer ${ok.body.access_token}` } });
    assert.equal(me.body.mfa_enabled, true);

    const twice = await ctx.hub.request('/v1/auth/mfa/challenge', {
      method: 'POST',
      json: { challenge_token: token, code: next },
    });
    assert.equal(twice.status, 401);
    const bogus = await ctx.hub.request('/v1/auth/mfa/challenge', {
      method: 'POST',
      json: { challenge_token: 'x.y.z', code: '123456' },
    });
    assert.equal(bogus.body.code, 'invalid_challenge');
  });

  it('a recovery code logs in once', async () => {
    const { user, recovery } = await enrolledUser();
    const first = await ctx.hub.request('/v1/auth/mfa/challenge', {
      method: 'POST',
      json: { challenge_token: await challenge(user), code: recovery[0]!.toUpperCase() },
    });
    assert.equal(first.status, 200, first.text);
    const reused = await ctx.hub.request('/v1/auth/mfa/challenge', {
      method: 'POST',
      json: { challenge_token: await challenge(user), code: recovery[0] },
    });
    assert.equal(reused.status, 401);
    assert.equal(reused.body.code, 'invalid_mfa_code');
    assert.equal((await user.request('/v1/auth/mfa/status')).body.recovery_codes_remaining, 9);
  });

  it('allows 5 attempts a minute per user; the sixth is 429 with Retry-After even with the right code', async () => {
    const { user, secret } = await enrolledUser(); // enrollment used 1 attempt
    const token = await challenge(user);
    for (let i = 0; i < 4; i++) {
      const res = await ctx.hub.request('/v1/auth/mfa/challenge', {
        method: 'POST',
        json: { challenge_token: token, code: '000000' },
      });
      assert.equal(res.status, 401);
    }
    const sixth = await ctx.hub.request('/v1/auth/mfa/challenge', {
      method: 'POST',
      json: { challenge_token: token, code: totpCode(secret, Date.now() + 30_000) },
    });
    assert.equal(sixth.status, 429);
    assert.equal(sixth.body.code, 'mfa_rate_limited');
    const retry = Number(sixth.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
  });

  it('disable needs a valid code; afterwards login gives tokens directly', async () => {
    const { user, recovery } = await enrolledUser();
    const without = await user.request('/v1/auth/mfa/disable', { method: 'POST', json: { code: '000000' } });
    assert.equal(without.status, 401);
    const missing = await user.request('/v1/auth/mfa/disable', { method: 'POST', json: {} });
    assert.equal(missing.status, 400);
    const ok = await user.request('/v1/auth/mfa/disable', { method: 'POST', json: { code: recovery[3] } });
    assert.equal(ok.status, 204, ok.text);
    assert.deepEqual((await user.request('/v1/auth/mfa/status')).body, {
      enabled: false,
      enrolling: false,
      recovery_codes_remaining: 0,
    });
    const login = await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: user.user.email, password: user.user.password },
    });
    assert.ok(login.body.access_token);
    const entries = await ctx.auditEntries({ action: 'auth.mfa.*', actor_id: user.user.id }, 5);
    assert.deepEqual(entries.map((e) => `${e.action}:${e.outcome}`).sort(), [
      'auth.mfa.disable:denied',
      'auth.mfa.disable:failure',
      'auth.mfa.disable:success',
      'auth.mfa.enroll:success',
      'auth.mfa.verify:success',
    ]);
  });

  it('MFA settings need a login session, not an API token', async () => {
    const user = await ctx.newUser();
    const { token } = await ctx.newApiToken(user);
    const res = await user.withToken({ bearer: token }).request('/v1/auth/mfa/enroll', { method: 'POST' });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'session_required');
  });
});

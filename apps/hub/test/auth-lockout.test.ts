import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IdentityContext, uniqueEmail } from './support/identity';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('brute-force protection of login', () => {
  let ctx: IdentityContext;
  before(async () => {
    ctx = await IdentityContext.start({
      env: {
        HOSTPLANE_LOGIN_MAX_FAILURES: '3',
        HOSTPLANE_LOGIN_IP_MAX_FAILURES: '50',
        HOSTPLANE_LOGIN_FAILURE_WINDOW_SECONDS: '60',
        HOSTPLANE_LOGIN_LOCKOUT_SECONDS: '2',
      },
    });
  });
  after(() => ctx.close());

  const login = (email: string, password: string) =>
    ctx.hub.request('/v1/auth/login', { method: 'POST', json: { email, password } });

  it('locks an account after repeated failures, even against the right password, with 429 and Retry-After; it unlocks by itself', async () => {
    const user = await ctx.newUser();
    for (let i = 0; i < 3; i++) assert.equal((await login(user.user.email, 'wrong-password-123')).status, 401);
    const locked = await login(user.user.email, user.user.password);
    assert.equal(locked.status, 429);
    assert.equal(locked.body.code, 'account_locked');
    assert.match(locked.body.error, /too many failed logins for this account: try again in \d+ s/);
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);
    await sleep(retryAfter * 1000 + 200);
    assert.equal((await login(user.user.email, user.user.password)).status, 200);
    const entries = (await ctx.auditEntries({ action: 'auth.login', actor_id: user.user.id }, 6)).reverse();
    assert.deepEqual(
      entries.map((e) => [e.outcome, e.status_code]),
      [
        ['success', 200],
        ['denied', 401],
        ['denied', 401],
        ['denied', 401],
        ['denied', 429],
        ['success', 200],
      ],
      'the first login, three failures, the lockout refusal, the login after it',
    );
    assert.equal(entries[1].details.email, user.user.email);
  });

  it('a success before the threshold forgives earlier failures', async () => {
    const user = await ctx.newUser();
    for (let i = 0; i < 2; i++) await login(user.user.email, 'wrong-password-123');
    assert.equal((await login(user.user.email, user.user.password)).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await login(user.user.email, 'wrong-password-123')).status, 401);
    assert.equal((await login(user.user.email, user.user.password)).status, 200);
  });

  it('an unknown account is locked the same way, so lockout does not reveal which emails exist', async () => {
    const ghost = uniqueEmail('ghost');
    for (let i = 0; i < 3; i++) assert.equal((await login(ghost, 'whatever-password-1')).status, 401);
    assert.equal((await login(ghost, 'whatever-password-1')).body.code, 'account_locked');
  });
});

describe('brute-force protection per address', () => {
  it('locks out an address that fails against many accounts, and rate-limits login per address', async () => {
    const ctx = await IdentityContext.start({
      env: {
        HOSTPLANE_LOGIN_MAX_FAILURES: '100',
        HOSTPLANE_LOGIN_IP_MAX_FAILURES: '4',
        HOSTPLANE_LOGIN_LOCKOUT_SECONDS: '30',
      },
    });
    try {
      const victim = await ctx.newUser();
      for (let i = 0; i < 4; i++)
        assert.equal(
          (
            await ctx.hub.request('/v1/auth/login', {
              method: 'POST',
              json: { email: uniqueEmail(), password: 'spray-password-1' },
            })
          ).status,
          401,
        );
      const res = await ctx.hub.request('/v1/auth/login', {
        method: 'POST',
        json: { email: victim.user.email, password: victim.user.password },
      });
      assert.equal(res.status, 429);
      assert.equal(res.body.code, 'ip_locked');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
    } finally {
      await ctx.close();
    }
    const limited = await IdentityContext.start({ env: { HOSTPLANE_RATE_LIMIT_AUTH_MAX: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push(
          (
            await limited.hub.request('/v1/auth/login', {
              method: 'POST',
              json: { email: uniqueEmail(), password: 'x-password-12' },
            })
          ).status,
        );
      // bootstrap already used one request of the stricter auth window
      assert.deepEqual(statuses, [401, 401, 429, 429, 429]);
      const last = await limited.hub.request('/v1/auth/login', {
        method: 'POST',
        json: { email: uniqueEmail(), password: 'x-password-12' },
      });
      assert.equal(last.body.code, 'rate_limited');
      assert.ok(Number(last.headers.get('retry-after')) >= 1);
    } finally {
      await limited.close();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { IdentityContext, strongPassword, uniqueEmail } from './support/identity';
import { startTestHub } from './support/test-hub';

describe('login and sessions', () => {
  let ctx: IdentityContext;
  before(async () => {
    ctx = await IdentityContext.start();
  });
  after(() => ctx.close());

  it('login answers a JWT with kid, an opaque refresh token, expires_in 900 and token_type Bearer', async () => {
    const user = await ctx.newUser();
    const res = await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: user.user.email.toUpperCase(), password: user.user.password },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
    assert.equal(res.body.expires_in, 900);
    assert.equal(res.body.token_type, 'Bearer');
    const header = decodeProtectedHeader(res.body.access_token);
    assert.equal(header.alg, 'HS256');
    assert.equal(header.kid, ctx.hub.config.secrets.jwtKeys[0]!.kid);
    assert.match(res.body.refresh_token, /^hp_rt_[A-Za-z0-9_-]{43}$/);
  });

  it('a wrong password and an unknown email get the same 401 invalid_credentials', async () => {
    const user = await ctx.newUser();
    const wrong = await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: user.user.email, password: 'not-the-password-1' },
    });
    const unknown = await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: uniqueEmail('nobody'), password: 'not-the-password-1' },
    });
    for (const r of [wrong, unknown]) {
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, { error: 'email or password is wrong', code: 'invalid_credentials' });
    }
  });

  it('refresh rotates: the new pair works, the old refresh token does not', async () => {
    const user = await ctx.newUser();
    const first = await ctx.hub.request('/v1/auth/refresh', {
      method: 'POST',
      json: { refresh_token: user.refreshToken },
    });
    assert.equal(first.status, 200, first.text);
    assert.notEqual(first.body.refresh_token, user.refreshToken);
    const me = await ctx.hub.request('/v1/users/me', {
      headers: { authorization: `Bearer ${first.body.access_token}` },
    });
    assert.equal(me.body.email, user.user.email);
    const second = await ctx.hub.request('/v1/auth/refresh', {
      method: 'POST',
      json: { refresh_token: first.body.refresh_token },
    });
    assert.equal(second.status, 200);
  });

  it('presenting an already-rotated refresh token revokes the whole family, access tokens included', async () => {
    const user = await ctx.newUser();
    const stolen = user.refreshToken!;
    const legit = await ctx.hub.request('/v1/auth/refresh', { method: 'POST', json: { refresh_token: stolen } });
    assert.equal(legit.status, 200);

    const replay = await ctx.hub.request('/v1/auth/refresh', { method: 'POST', json: { refresh_token: stolen } });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, 'refresh_token_reused');

    const newest = await ctx.hub.request('/v1/auth/refresh', {
      method: 'POST',
      json: { refresh_token: legit.body.refresh_token },
    });
    assert.equal(newest.status, 401);
    assert.equal(newest.body.code, 'session_revoked');
    for (const token of [user.accessToken, legit.body.access_token]) {
      const me = await ctx.hub.request('/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 401);
      assert.equal(me.body.code, 'session_revoked');
    }
    const entries = await ctx.auditEntries({ action: 'auth.refresh', actor_id: user.user.id, outcome: 'denied' }, 2);
    assert.ok(
      entries.some((e) => e.details?.reason === 'refresh_token_reused'),
      'the reuse is in the audit log',
    );
  });

  it('two concurrent refreshes with one token: one wins and the family is revoked', async () => {
    const user = await ctx.newUser();
    const [a, b] = await Promise.all(
      [0, 1].map(() =>
        ctx.hub.request('/v1/auth/refresh', { method: 'POST', json: { refresh_token: user.refreshToken } }),
      ),
    );
    assert.deepEqual([a!.status, b!.status].sort(), [200, 401]);
    const winner = a!.status === 200 ? a! : b!;
    const next = await ctx.hub.request('/v1/auth/refresh', {
      method: 'POST',
      json: { refresh_token: winner.body.refresh_token },
    });
    assert.equal(next.body.code, 'session_revoked');
  });

  it('logout ends the session: its access token and refresh token stop working; other sessions live on', async () => {
    const user = await ctx.newUser();
    const other = await ctx.login(user.user.email, user.user.password);
    const out = await user.request('/v1/auth/logout', { method: 'POST' });
    assert.equal(out.status, 204);
    assert.equal((await user.request('/v1/users/me')).body.code, 'session_revoked');
    const refresh = await ctx.hub.request('/v1/auth/refresh', {
      method: 'POST',
      json: { refresh_token: user.refreshToken },
    });
    assert.equal(refresh.body.code, 'session_revoked');
    assert.equal((await other.request('/v1/users/me')).status, 200);
  });

  it('revoke by refresh token ends that session and answers 204 for unknown tokens too', async () => {
    const user = await ctx.newUser();
    const res = await ctx.hub.request('/v1/auth/revoke', {
      method: 'POST',
      json: { refresh_token: user.refreshToken },
    });
    assert.equal(res.status, 204);
    assert.equal((await user.request('/v1/users/me')).body.code, 'session_revoked');
    const unknown = await ctx.hub.request('/v1/auth/revoke', {
      method: 'POST',
      json: { refresh_token: 'hp_rt_nonsense' },
    });
    assert.equal(unknown.status, 204);
  });

  it('expired, malformed, forged and unknown-key access tokens get 401 with a clear code', async () => {
    const user = await ctx.newUser();
    const key = ctx.hub.config.secrets.jwtKeys[0]!;
    const claims = { sid: '00000000-0000-0000-0000-000000000000' };
    const expired = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' })
      .setSubject(user.user.id)
      .setIssuer(ctx.hub.config.http.publicUrl)
      .setAudience('hostplane')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 1000)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 100)
      .sign(key.secret);
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' })
      .setSubject(user.user.id)
      .setIssuer(ctx.hub.config.http.publicUrl)
      .setAudience('hostplane')
      .setExpirationTime('5m')
      .sign(Buffer.alloc(32, 1));
    const unknownKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: 'retired', typ: 'at+jwt' })
      .setSubject(user.user.id)
      .setExpirationTime('5m')
      .sign(key.secret);
    const cases: [string, string][] = [
      [expired, 'token_expired'],
      ['not.a.jwt', 'malformed_token'],
      [forged, 'invalid_token'],
      [unknownKid, 'invalid_token'],
    ];
    for (const [token, code] of cases) {
      const res = await ctx.hub.request('/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 401, `${code}: ${res.text}`);
      assert.equal(res.body.code, code);
      assert.equal(typeof res.body.error, 'string');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    const missing = await ctx.hub.request('/v1/users/me');
    assert.equal(missing.status, 401);
    assert.equal(missing.body.code, 'unauthorized');
    const badScheme = await ctx.hub.request('/v1/users/me', { headers: { authorization: 'Basic Zm9vOmJhcg==' } });
    assert.equal(badScheme.body.code, 'malformed_token');
  });

  it('an MFA challenge token is not accepted as an access token', async () => {
    const user = await ctx.newUser();
    const key = ctx.hub.config.secrets.jwtKeys[0]!;
    const challengeLike = await new SignJWT({ sid: '00000000-0000-0000-0000-000000000000', method: 'password' })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'mfa-challenge+jwt' })
      .setSubject(user.user.id)
      .setIssuer(ctx.hub.config.http.publicUrl)
      .setAudience('hostplane')
      .setExpirationTime('5m')
      .sign(key.secret);
    const res = await ctx.hub.request('/v1/users/me', { headers: { authorization: `Bearer ${challengeLike}` } });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'invalid_token');
  });
});

describe('JWT key rotation', () => {
  it('a token signed with the previous key keeps working when a new key is put first', async () => {
    const k1 = `k1:${Buffer.alloc(32, 3).toString('base64')}`;
    const k2 = `k2:${Buffer.alloc(32, 4).toString('base64')}`;
    const before = await startTestHub({ env: { HOSTPLANE_JWT_KEYS: k1 } });
    const password = strongPassword();
    const boot = await before.request('/v1/auth/bootstrap', {
      method: 'POST',
      json: { email: uniqueEmail('admin'), password },
    });
    assert.equal(boot.status, 201);
    await before.app.close();
    const rotated = await startTestHub({ env: { HOSTPLANE_JWT_KEYS: `${k2},${k1}` }, database: before.database });
    try {
      const me = await rotated.request('/v1/users/me', {
        headers: { authorization: `Bearer ${boot.body.access_token}` },
      });
      assert.equal(me.status, 200, me.text);
      const fresh = await rotated.request('/v1/auth/refresh', {
        method: 'POST',
        json: { refresh_token: boot.body.refresh_token },
      });
      assert.equal(decodeProtectedHeader(fresh.body.access_token).kid, 'k2', 'the first key signs');
    } finally {
      await rotated.close();
      await before.database.drop();
    }
  });
});

describe('registration policy', () => {
  it('open: anyone can register and gets a personal organization', async () => {
    const ctx = await IdentityContext.start({ env: { HOSTPLANE_REGISTRATION: 'open' } });
    try {
      const email = uniqueEmail('open');
      const res = await ctx.hub.request('/v1/auth/register', {
        method: 'POST',
        json: { email, password: strongPassword(), name: 'Ada' },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.user.email, email);
      assert.equal(res.body.organization.name, "Ada's organization");
      const me = await ctx.hub.request('/v1/users/me', {
        headers: { authorization: `Bearer ${res.body.access_token}` },
      });
      assert.deepEqual(
        me.body.organizations.map((o: { personal: boolean; role: string }) => [o.personal, o.role]),
        [[true, 'owner']],
      );
      const dup = await ctx.hub.request('/v1/auth/register', {
        method: 'POST',
        json: { email, password: strongPassword() },
      });
      assert.equal(dup.status, 409);
      assert.equal(dup.body.code, 'email_taken');
      const weak = await ctx.hub.request('/v1/auth/register', {
        method: 'POST',
        json: { email: uniqueEmail(), password: 'short' },
      });
      assert.equal(weak.status, 422);
      assert.match(weak.body.error, /at least 12 characters/);
    } finally {
      await ctx.close();
    }
  });

  it('invite-only: refused without an invite, accepted with one for the same address (and joins that org)', async () => {
    const ctx = await IdentityContext.start({ env: { HOSTPLANE_REGISTRATION: 'invite-only' } });
    try {
      const none = await ctx.hub.request('/v1/auth/register', {
        method: 'POST',
        json: { email: uniqueEmail(), password: strongPassword() },
      });
      assert.equal(none.status, 403);
      assert.equal(none.body.code, 'invite_required');
      const org = await ctx.newOrg();
      const email = uniqueEmail('invitee');
      const token = await ctx.invite(org, email, 'viewer');
      const other = await ctx.hub.request('/v1/auth/register', {
        method: 'POST',
        json: { email: uniqueEmail(), password: strongPassword(), invite_token: token },
      });
      assert.equal(other.status, 403);
      assert.equal(other.body.code, 'invite_email_mismatch');
      const ok = await ctx.hub.request('/v1/auth/register', {
        method: 'POST',
        json: { email, password: strongPassword(), invite_token: token },
      });
      assert.equal(ok.status, 201, ok.text);
      const me = await ctx.hub.request('/v1/users/me', {
        headers: { authorization: `Bearer ${ok.body.access_token}` },
      });
      const roles = Object.fromEntries(me.body.organizations.map((o: { id: string; role: string }) => [o.id, o.role]));
      assert.equal(roles[org.id], 'viewer');
      assert.equal(roles[ok.body.organization.id], 'owner');
      const reuse = await ctx.hub.request('/v1/auth/register', {
        method: 'POST',
        json: { email: uniqueEmail(), password: strongPassword(), invite_token: token },
      });
      assert.equal(reuse.body.code, 'invite_used');
    } finally {
      await ctx.close();
    }
  });

  it('closed: nobody can register', async () => {
    const ctx = await IdentityContext.start({ env: { HOSTPLANE_REGISTRATION: 'closed' } });
    try {
      const res = await ctx.hub.request('/v1/auth/register', {
        method: 'POST',
        json: { email: uniqueEmail(), password: strongPassword() },
      });
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'registration_closed');
    } finally {
      await ctx.close();
    }
  });
});

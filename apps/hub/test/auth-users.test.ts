import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IdentityContext, strongPassword, uniqueEmail } from './support/identity';
import { createTestDatabase, testRedisPrefix } from './support/test-env';
import { deleteRedisPrefix, startTestHub } from './support/test-hub';

describe('users', () => {
  let ctx: IdentityContext;
  before(async () => {
    ctx = await IdentityContext.start();
  });
  after(() => ctx.close());

  it('GET /v1/users/me shows the user and their organizations, and never a password hash', async () => {
    const user = await ctx.newUser({ name: 'Grace' });
    const me = await user.request('/v1/users/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.email, user.user.email);
    assert.equal(me.body.name, 'Grace');
    assert.equal(me.body.is_platform_admin, false);
    assert.equal(me.body.status, 'active');
    assert.ok(me.body.last_login_at);
    assert.deepEqual(
      me.body.organizations.map((o: { name: string; role: string }) => [o.name, o.role]),
      [["Grace's organization", 'owner']],
    );
    assert.doesNotMatch(me.text, /argon2|password/i);
  });

  it('changing your password needs the current one, ends your other sessions and keeps this one', async () => {
    const user = await ctx.newUser();
    const other = await ctx.login(user.user.email, user.user.password);
    const wrong = await user.request('/v1/users/me/password', {
      method: 'POST',
      json: { current_password: 'nope-nope-nope', new_password: strongPassword() },
    });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.code, 'wrong_password');
    const weak = await user.request('/v1/users/me/password', {
      method: 'POST',
      json: { current_password: user.user.password, new_password: 'aaaaaaaaaaaaaa' },
    });
    assert.equal(weak.status, 422);
    assert.match(weak.body.error, /too few different characters/);
    const next = strongPassword();
    const ok = await user.request('/v1/users/me/password', {
      method: 'POST',
      json: { current_password: user.user.password, new_password: next },
    });
    assert.equal(ok.status, 204, ok.text);
    assert.equal((await user.request('/v1/users/me')).status, 200, 'this session lives on');
    assert.equal((await other.request('/v1/users/me')).body.code, 'session_revoked');
    assert.equal(
      (await ctx.hub.request('/v1/auth/login', { method: 'POST', json: { email: user.user.email, password: next } }))
        .status,
      200,
    );
  });

  it('platform admins create, list, read and delete users; everyone else gets 403', async () => {
    const email = uniqueEmail('made');
    const created = await ctx.admin.request('/v1/users', {
      method: 'POST',
      json: { email, password: strongPassword(), name: 'Made' },
    });
    assert.equal(created.status, 201);
    const id = created.body.id;
    assert.equal((await ctx.admin.request(`/v1/users/${id}`)).body.email, email);
    const listed = await ctx.admin.request(`/v1/users?email=${encodeURIComponent(email)}`);
    assert.deepEqual(
      listed.body.data.map((u: { id: string }) => u.id),
      [id],
    );
    const adminList = await ctx.admin.request(`/v1/admin/users?email=${encodeURIComponent(email)}`);
    assert.equal(adminList.body.data[0].organization_count, 1);
    assert.equal(adminList.body.data[0].active_sessions, 0);

    const plain = await ctx.newUser();
    for (const [method, path] of [
      ['GET', '/v1/users'],
      ['POST', '/v1/users'],
      ['GET', `/v1/users/${id}`],
      ['DELETE', `/v1/users/${id}`],
      ['GET', '/v1/admin/users'],
      ['POST', `/v1/admin/users/${id}/suspend`],
      ['GET', '/v1/admin/audit-logs'],
    ] as const) {
      const res = await plain.request(path, { method, ...(method === 'POST' ? { json: {} } : {}) });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.body.code, 'platform_admin_required');
    }
    assert.equal((await ctx.admin.request(`/v1/users/${id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await ctx.admin.request(`/v1/users/${id}`)).status, 404);
    const self = await ctx.admin.request(`/v1/users/${ctx.admin.user.id}`, { method: 'DELETE' });
    assert.equal(self.body.code, 'cannot_target_self');
  });

  it('deleting the last owner of an organization that has other members is refused', async () => {
    const org = await ctx.newOrg();
    await ctx.addMember(org, 'member');
    const res = await ctx.admin.request(`/v1/users/${org.owner.user.id}`, { method: 'DELETE' });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'last_owner');
  });

  it("a suspended user's sessions stop at once, login and refresh are refused, and the suspension is audited", async () => {
    const user = await ctx.newUser();
    assert.equal((await user.request('/v1/users/me')).status, 200);
    const res = await ctx.admin.request(`/v1/admin/users/${user.user.id}/suspend`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'suspended');
    const me = await user.request('/v1/users/me');
    assert.equal(me.status, 401);
    assert.equal(me.body.code, 'user_suspended');
    const login = await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: user.user.email, password: user.user.password },
    });
    assert.equal(login.status, 403);
    assert.equal(login.body.code, 'user_suspended');
    const refresh = await ctx.hub.request('/v1/auth/refresh', {
      method: 'POST',
      json: { refresh_token: user.refreshToken },
    });
    assert.equal(refresh.status, 401);
    const entries = await ctx.auditEntries({ action: 'user.suspend' });
    const entry = entries.find((e) => e.target_id === user.user.id);
    assert.ok(entry, 'suspension audited');
    assert.equal(entry.actor_id, ctx.admin.user.id);
    assert.equal(entry.outcome, 'success');
    const self = await ctx.admin.request(`/v1/admin/users/${ctx.admin.user.id}/suspend`, { method: 'POST' });
    assert.equal(self.body.code, 'cannot_target_self');

    await ctx.admin.request(`/v1/admin/users/${user.user.id}/unsuspend`, { method: 'POST' });
    const back = await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: user.user.email, password: user.user.password },
    });
    assert.equal(back.status, 200);
  });
});

describe('suspension across hub replicas', () => {
  it('a user suspended through one replica is refused by the other within a second, long before its cache lifetime', async () => {
    const db = await createTestDatabase();
    const prefix = testRedisPrefix();
    const env = { HOSTPLANE_AUTH_CACHE_SECONDS: '10' };
    const a = await startTestHub({ database: db, redisPrefix: prefix, env });
    const b = await startTestHub({ database: db, redisPrefix: prefix, env });
    try {
      const boot = await a.request('/v1/auth/bootstrap', {
        method: 'POST',
        json: { email: uniqueEmail('admin'), password: strongPassword() },
      });
      const admin = { authorization: `Bearer ${boot.body.access_token}` };
      const email = uniqueEmail();
      const password = strongPassword();
      const created = await a.request('/v1/users', { method: 'POST', headers: admin, json: { email, password } });
      const login = await b.request('/v1/auth/login', { method: 'POST', json: { email, password } });
      const user = { authorization: `Bearer ${login.body.access_token}` };
      assert.equal((await b.request('/v1/users/me', { headers: user })).status, 200, 'cached as active on replica b');
      assert.equal(
        (await a.request(`/v1/admin/users/${created.body.id}/suspend`, { method: 'POST', headers: admin })).status,
        200,
      );
      const deadline = Date.now() + 1000;
      let res;
      do res = await b.request('/v1/users/me', { headers: user });
      while (res.status === 200 && Date.now() < deadline);
      assert.equal(res.status, 401, 'refused well before the 10 s cache lifetime');
      assert.equal(res.body.code, 'user_suspended');
    } finally {
      await a.close();
      await b.close();
      await db.drop();
      await deleteRedisPrefix(prefix);
    }
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client as Pg } from 'pg';
import { issueOpaqueToken } from '../src/crypto/opaque-token';
import { Client, eventually, IdentityContext } from './support/identity';

const PAT = /^hp_pat_[0-9A-Za-z]{38}$/;

describe('API tokens', () => {
  let ctx: IdentityContext;
  let pg: Pg;
  before(async () => {
    ctx = await IdentityContext.start();
    pg = new Pg({ connectionString: ctx.hub.database.url });
    await pg.connect();
  });
  after(async () => {
    await pg.end();
    await ctx.close();
  });

  const me = (credential: { bearer?: string; apiKey?: string }) => {
    const headers: Record<string, string> = {};
    if (credential.bearer) headers.authorization = `Bearer ${credential.bearer}`;
    if (credential.apiKey) headers['x-api-key'] = credential.apiKey;
    return ctx.hub.request('/v1/users/me', { headers });
  };

  it('is shown once, stored only as SHA-256, and works as Bearer and as X-Api-Key', async () => {
    const user = await ctx.newUser();
    const res = await user.request('/v1/api-tokens', {
      method: 'POST',
      org: user.personalOrgId,
      json: { name: 'github-actions', expires_in: 86400 },
    });
    assert.equal(res.status, 201, res.text);
    assert.match(res.body.token, PAT);
    assert.equal(res.body.org_id, user.personalOrgId);
    assert.equal(res.body.token_hint, res.body.token.slice(0, 11) + '…');
    assert.ok(Math.abs(new Date(res.body.expires_at).getTime() - Date.now() - 86400_000) < 60_000);

    const list = await user.request('/v1/api-tokens');
    assert.equal(list.body.total, 1);
    assert.ok(!list.text.includes(res.body.token), 'the value is never listed');
    const { rows } = await pg.query(`SELECT * FROM api_tokens WHERE id = $1`, [res.body.id]);
    assert.equal(rows[0].token_hash, createHash('sha256').update(res.body.token).digest('hex'));
    assert.ok(!JSON.stringify(rows[0]).includes(res.body.token.slice(7)), 'no plaintext in the row');

    assert.equal((await me({ bearer: res.body.token })).body.id, user.user.id);
    assert.equal((await me({ apiKey: res.body.token })).body.id, user.user.id);
    const both = await me({ bearer: res.body.token, apiKey: res.body.token });
    assert.equal(both.status, 401);
    assert.equal(both.body.code, 'ambiguous_credentials');
  });

  it('needs an explicit organization to be created in, and a login session to create', async () => {
    const user = await ctx.newUser();
    const noOrg = await user.request('/v1/api-tokens', { method: 'POST', json: { name: 'x', expires_in: 3600 } });
    assert.equal(noOrg.status, 400);
    assert.equal(noOrg.body.code, 'org_required');
    const { token } = await ctx.newApiToken(user);
    const viaToken = await user
      .withToken({ bearer: token })
      .request('/v1/api-tokens', { method: 'POST', json: { name: 'x', expires_in: 3600 } });
    assert.equal(viaToken.status, 403);
    assert.equal(viaToken.body.code, 'session_required');
  });

  it("acts only in its organization: another of its owner's organizations is a 404", async () => {
    const owner = await ctx.newUser();
    const second = await ctx.newOrg({ owner });
    const { token } = await ctx.newApiToken(owner, { org: owner.personalOrgId });
    const t = owner.withToken({ apiKey: token });
    const orgs = await t.request('/v1/organizations');
    assert.deepEqual(
      orgs.body.data.map((o: { id: string }) => o.id),
      [owner.personalOrgId],
    );
    assert.equal((await t.request(`/v1/organizations/${owner.personalOrgId}`)).status, 200);
    const other = await t.request(`/v1/organizations/${second.id}`);
    assert.equal(other.status, 404);
    assert.ok(!other.text.includes(second.name));
    const members = await t.request(`/v1/organizations/${second.id}/members`, { org: second.id });
    assert.equal(members.status, 404);
    const me = await t.request('/v1/users/me');
    assert.deepEqual(
      me.body.organizations.map((o: { id: string }) => o.id),
      [owner.personalOrgId],
      'sees only its own organization',
    );

    const elsewhere = await ctx.newApiToken(owner, { org: second.id });
    assert.deepEqual(
      (await t.request('/v1/api-tokens')).body.data.map((x: { org_id: string }) => x.org_id),
      [owner.personalOrgId],
    );
    assert.equal(
      (await t.request(`/v1/api-tokens/${elsewhere.id}`, { method: 'DELETE' })).status,
      404,
      "cannot revoke its owner's tokens of another org",
    );
    const self = (await t.request('/v1/api-tokens')).body.data[0].id;
    assert.equal((await t.request(`/v1/api-tokens/${self}`, { method: 'DELETE' })).status, 204, 'can revoke itself');
    assert.equal((await t.request('/v1/users/me')).body.code, 'token_revoked');
  });

  it('is limited to its scopes, and cannot be given scopes its owner does not hold', async () => {
    const org = await ctx.newOrg();
    const { token } = await ctx.newApiToken(org.owner, { scopes: ['orgs.view'] });
    const t = org.owner.withToken({ bearer: token });
    assert.equal((await t.request(`/v1/organizations/${org.id}`)).status, 200);
    const rename = await t.request(`/v1/organizations/${org.id}`, { method: 'PUT', json: { name: 'renamed' } });
    assert.equal(rename.status, 403);
    assert.equal(rename.body.code, 'permission_denied');
    assert.equal(rename.body.permission, 'orgs.manage');

    const viewer = await ctx.addMember(org, 'viewer');
    const tooMuch = await viewer.request('/v1/api-tokens', {
      method: 'POST',
      json: { name: 'x', expires_in: 3600, scopes: ['orgs.view', 'orgs.manage'] },
    });
    assert.equal(tooMuch.status, 403);
    assert.equal(tooMuch.body.code, 'scope_not_held');
    assert.deepEqual(tooMuch.body.scopes, ['orgs.manage']);
    const unknown = await viewer.request('/v1/api-tokens', {
      method: 'POST',
      json: { name: 'x', expires_in: 3600, scopes: ['everything'] },
    });
    assert.equal(unknown.status, 400);
  });

  it("carries platform admin powers only with the 'platform.admin' scope, which only admins can give", async () => {
    const adminToken = await ctx.newApiToken(ctx.admin, { org: ctx.admin.personalOrgId });
    const plain = await ctx.hub.request('/v1/admin/users', {
      headers: { authorization: `Bearer ${adminToken.token}` },
    });
    assert.equal(plain.status, 403);
    assert.equal(plain.body.code, 'platform_admin_required');
    const scoped = await ctx.newApiToken(ctx.admin, { org: ctx.admin.personalOrgId, scopes: ['platform.admin'] });
    assert.equal(
      (await ctx.hub.request('/v1/admin/users', { headers: { authorization: `Bearer ${scoped.token}` } })).status,
      200,
    );
    const user = await ctx.newUser();
    const refused = await user.request('/v1/api-tokens', {
      method: 'POST',
      org: user.personalOrgId,
      json: { name: 'x', expires_in: 3600, scopes: ['platform.admin'] },
    });
    assert.equal(refused.body.code, 'scope_not_held');
    const notMember = await ctx.admin.request('/v1/api-tokens', {
      method: 'POST',
      org: user.personalOrgId,
      json: { name: 'x', expires_in: 3600 },
    });
    assert.equal(notMember.status, 403, 'a platform admin cannot mint a token for an organization they are not in');
    assert.equal(notMember.body.code, 'not_a_member');
  });

  it('expired, revoked, malformed, wrong-checksum, unknown and suspended-owner tokens get 401 with a clear code', async () => {
    const user = await ctx.newUser();
    const expired = await ctx.newApiToken(user, { expiresIn: 60 });
    await pg.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.id]);
    const revoked = await ctx.newApiToken(user);
    assert.equal((await me({ bearer: revoked.token })).status, 200);
    assert.equal((await user.request(`/v1/api-tokens/${revoked.id}`, { method: 'DELETE' })).status, 204);
    const good = await ctx.newApiToken(user);
    const typo = good.token.slice(0, 20) + (good.token[20] === 'x' ? 'y' : 'x') + good.token.slice(21);

    const cases: [string, string][] = [
      [expired.token, 'token_expired'],
      [revoked.token, 'token_revoked'],
      ['hp_pat_tooShort', 'malformed_token'],
      [typo, 'invalid_token_checksum'],
      [issueOpaqueToken('hp_pat_'), 'invalid_token'],
    ];
    for (const [token, code] of cases) {
      for (const credential of [{ bearer: token }, { apiKey: token }]) {
        const res = await me(credential);
        assert.equal(res.status, 401, `${code}: ${res.text}`);
        assert.equal(res.body.code, code);
      }
    }
    const notPat = await me({ apiKey: 'eyJhbGciOi.x.y' });
    assert.equal(notPat.body.code, 'malformed_token');

    assert.equal((await me({ bearer: good.token })).status, 200);
    const suspend = await ctx.admin.request(`/v1/admin/users/${user.user.id}/suspend`, { method: 'POST' });
    assert.equal(suspend.status, 200);
    const suspended = await me({ bearer: good.token });
    assert.equal(suspended.status, 401);
    assert.equal(suspended.body.code, 'user_suspended');
    await ctx.admin.request(`/v1/admin/users/${user.user.id}/unsuspend`, { method: 'POST' });
    assert.equal((await me({ bearer: good.token })).status, 200, 'tokens work again after unsuspend');
  });

  it('stops working when its owner leaves the organization', async () => {
    const org = await ctx.newOrg();
    const member = await ctx.addMember(org, 'member');
    const { token } = await ctx.newApiToken(member);
    assert.equal((await me({ bearer: token })).status, 200);
    assert.equal(
      (await org.owner.request(`/v1/organizations/${org.id}/members/${member.user.id}`, { method: 'DELETE' })).status,
      204,
    );
    const res = await me({ bearer: token });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'token_org_access_lost');
  });

  it('records last_used_at at most once a minute, and audits the first use once', async () => {
    const user = await ctx.newUser();
    const { id, token } = await ctx.newApiToken(user);
    const before = await user.request('/v1/api-tokens');
    assert.equal(before.body.data[0].last_used_at, null);
    for (let i = 0; i < 5; i++) await me({ bearer: token });
    const written: Date = await eventually(
      async () =>
        (await pg.query(`SELECT last_used_at FROM api_tokens WHERE id = $1`, [id])).rows[0].last_used_at ?? undefined,
      'last_used_at written',
    );
    const firstWrite = new Date(written).getTime();
    for (let i = 0; i < 5; i++) await me({ bearer: token });
    await new Promise((r) => setTimeout(r, 200));
    const later = (await pg.query(`SELECT last_used_at FROM api_tokens WHERE id = $1`, [id])).rows[0];
    assert.equal(new Date(later.last_used_at).getTime(), firstWrite, 'not written again within the minute');
    const entries = await ctx.auditEntries({ action: 'api_token.first_use', actor_id: user.user.id });
    assert.equal(entries.length, 1);
    assert.equal(entries[0].api_token_id, id);
    assert.equal(entries[0].actor_type, 'api_token');
    const created = await ctx.auditEntries({ action: 'api_token.create', actor_id: user.user.id });
    assert.equal(created[0].target_id, id);
  });

  it('lets its owner revoke only their own tokens', async () => {
    const a = await ctx.newUser();
    const b: Client = await ctx.newUser();
    const { id } = await ctx.newApiToken(a);
    const res = await b.request(`/v1/api-tokens/${id}`, { method: 'DELETE' });
    assert.equal(res.status, 404);
    assert.equal((await a.request('/v1/api-tokens')).body.total, 1);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IdentityContext, strongPassword, uniqueEmail } from './support/identity';
import { startTestHub } from './support/test-hub';

describe('bootstrap', () => {
  let ctx: IdentityContext;
  before(async () => {
    ctx = await IdentityContext.start({ skipBootstrap: true });
  });
  after(() => ctx.close());

  it('is needed while no user exists, and registration waits for it', async () => {
    const status = await ctx.hub.request('/v1/auth/bootstrap/status');
    assert.deepEqual(status.body, { needed: true });
    const register = await ctx.hub.request('/v1/auth/register', {
      method: 'POST',
      json: { email: uniqueEmail(), password: strongPassword() },
    });
    assert.equal(register.status, 409);
    assert.equal(register.body.code, 'bootstrap_required');
  });

  it('refuses a weak password with the reason and creates nothing', async () => {
    const res = await ctx.hub.request('/v1/auth/bootstrap', {
      method: 'POST',
      json: { email: uniqueEmail('admin'), password: 'password1234' },
    });
    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'weak_password');
    assert.match(res.body.error, /commonly used/);
    assert.deepEqual((await ctx.hub.request('/v1/auth/bootstrap/status')).body, { needed: true });
  });

  it('of 8 concurrent attempts exactly one wins; the others get 403 bootstrap_disabled', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        ctx.hub.request('/v1/auth/bootstrap', {
          method: 'POST',
          json: { email: `racer${i}@example.test`, password: strongPassword(), organization_name: `Org ${i}` },
        }),
      ),
    );
    const statuses = attempts.map((a) => a.status).sort();
    assert.deepEqual(statuses, [201, 403, 403, 403, 403, 403, 403, 403]);
    for (const lost of attempts.filter((a) => a.status === 403)) assert.equal(lost.body.code, 'bootstrap_disabled');
    const won = attempts.find((a) => a.status === 201)!;
    assert.equal(won.body.user.is_platform_admin, true);
    assert.equal(won.body.token_type, 'Bearer');
    assert.equal(won.body.expires_in, 900);

    const me = await ctx.hub.request('/v1/users/me', { headers: { authorization: `Bearer ${won.body.access_token}` } });
    assert.equal(me.status, 200);
    assert.deepEqual(
      me.body.organizations.map((o: { id: string; role: string }) => [o.id, o.role]),
      [[won.body.organization.id, 'owner']],
    );
    const users = await ctx.hub.request('/v1/users', { headers: { authorization: `Bearer ${won.body.access_token}` } });
    assert.equal(users.body.total, 1, 'only the winner exists');
  });

  it('afterwards reports not needed and refuses forever', async () => {
    assert.deepEqual((await ctx.hub.request('/v1/auth/bootstrap/status')).body, { needed: false });
    const again = await ctx.hub.request('/v1/auth/bootstrap', {
      method: 'POST',
      json: { email: uniqueEmail('late'), password: strongPassword() },
    });
    assert.equal(again.status, 403);
    assert.equal(again.body.code, 'bootstrap_disabled');
  });
});

describe('bootstrap configuration', () => {
  it('can be turned off: status says not needed and the endpoint answers 403', async () => {
    const hub = await startTestHub({ env: { HOSTPLANE_BOOTSTRAP_ENABLED: 'false' } });
    try {
      assert.deepEqual((await hub.request('/v1/auth/bootstrap/status')).body, { needed: false });
      const res = await hub.request('/v1/auth/bootstrap', {
        method: 'POST',
        json: { email: uniqueEmail(), password: strongPassword() },
      });
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'bootstrap_disabled');
      assert.match(res.body.error, /HOSTPLANE_BOOTSTRAP_ENABLED/);
    } finally {
      await hub.close();
    }
  });

  it('with a setup token configured, needs it', async () => {
    const hub = await startTestHub({ env: { HOSTPLANE_BOOTSTRAP_TOKEN: 'setup-token-0123456789' } });
    try {
      const body = { email: uniqueEmail(), password: strongPassword() };
      const without = await hub.request('/v1/auth/bootstrap', { method: 'POST', json: body });
      assert.equal(without.status, 403);
      assert.equal(without.body.code, 'invalid_setup_token');
      const wrong = await hub.request('/v1/auth/bootstrap', {
        method: 'POST',
        json: { ...body, setup_token: 'setup-token-wrong' },
      });
      assert.equal(wrong.body.code, 'invalid_setup_token');
      const right = await hub.request('/v1/auth/bootstrap', {
        method: 'POST',
        json: { ...body, setup_token: 'setup-token-0123456789' },
      });
      assert.equal(right.status, 201, right.text);
    } finally {
      await hub.close();
    }
  });
});

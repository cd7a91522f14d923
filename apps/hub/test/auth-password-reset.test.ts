import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client as Pg } from 'pg';
import { IdentityContext, lastMatch, strongPassword, uniqueEmail } from './support/identity';
import { TestMailbox } from './support/mailbox';
import { startTestHub } from './support/test-hub';

const RESET_TOKEN = /hp_rst_[0-9A-Za-z]{38}/g;

describe('password reset by mail', () => {
  let ctx: IdentityContext;
  before(async () => {
    ctx = await IdentityContext.start();
  });
  after(() => ctx.close());

  async function requestReset(email: string): Promise<string> {
    const res = await ctx.hub.request('/v1/auth/forgot-password', { method: 'POST', json: { email } });
    assert.equal(res.status, 202);
    const mail = await ctx.mail.to(email, /Reset your Hostplane password/);
    ctx.mail.messages.splice(ctx.mail.messages.indexOf(mail), 1);
    return lastMatch(mail.text, RESET_TOKEN);
  }

  it('answers the same whether or not the address has an account, and mails only real accounts', async () => {
    const user = await ctx.newUser();
    const known = await ctx.hub.request('/v1/auth/forgot-password', {
      method: 'POST',
      json: { email: user.user.email },
    });
    const ghost = uniqueEmail('ghost');
    const unknown = await ctx.hub.request('/v1/auth/forgot-password', { method: 'POST', json: { email: ghost } });
    assert.equal(known.status, 202);
    assert.deepEqual(unknown.body, known.body);
    assert.equal(unknown.status, known.status);
    const mail = await ctx.mail.to(user.user.email, /Reset/);
    assert.match(mail.text, RESET_TOKEN);
    assert.match(mail.raw, /^From: Hostplane Test <hub@test\.invalid>/m);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ctx.mail.messages.filter((m) => m.to.includes(ghost)).length, 0);
  });

  it('a reset token sets a new password once, ends every session, and the old password stops working', async () => {
    const user = await ctx.newUser();
    const token = await requestReset(user.user.email);
    const newPassword = strongPassword();
    const res = await ctx.hub.request('/v1/auth/reset-password', {
      method: 'POST',
      json: { token, new_password: newPassword },
    });
    assert.equal(res.status, 204, res.text);
    assert.equal((await user.request('/v1/users/me')).body.code, 'session_revoked');
    const old = await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: user.user.email, password: user.user.password },
    });
    assert.equal(old.status, 401);
    const fresh = await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: user.user.email, password: newPassword },
    });
    assert.equal(fresh.status, 200);
    const again = await ctx.hub.request('/v1/auth/reset-password', {
      method: 'POST',
      json: { token, new_password: strongPassword() },
    });
    assert.equal(again.status, 400);
    assert.equal(again.body.code, 'reset_token_used');
  });

  it('a weak new password is refused without spending the token', async () => {
    const user = await ctx.newUser();
    const token = await requestReset(user.user.email);
    const weak = await ctx.hub.request('/v1/auth/reset-password', {
      method: 'POST',
      json: { token, new_password: 'qwertyuiopasdf' },
    });
    assert.equal(weak.status, 422);
    assert.equal(weak.body.code, 'weak_password');
    const ok = await ctx.hub.request('/v1/auth/reset-password', {
      method: 'POST',
      json: { token, new_password: strongPassword() },
    });
    assert.equal(ok.status, 204);
  });

  it('an expired token is refused; malformed and unknown tokens get invalid_reset_token', async () => {
    const user = await ctx.newUser();
    const token = await requestReset(user.user.email);
    const pg = new Pg({ connectionString: ctx.hub.database.url });
    await pg.connect();
    try {
      await pg.query(`UPDATE password_reset_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [
        user.user.id,
      ]);
    } finally {
      await pg.end();
    }
    const expired = await ctx.hub.request('/v1/auth/reset-password', {
      method: 'POST',
      json: { token, new_password: strongPassword() },
    });
    assert.equal(expired.status, 400);
    assert.equal(expired.body.code, 'reset_token_expired');
    for (const bad of [
      'hp_rst_short',
      token.slice(0, -1) + (token.endsWith('a') ? 'b' : 'a'),
      'hp_rst_' + 'A'.repeat(32) + '000000',
    ]) {
      const res = await ctx.hub.request('/v1/auth/reset-password', {
        method: 'POST',
        json: { token: bad, new_password: strongPassword() },
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'invalid_reset_token');
    }
  });
});

describe('SMTP transport failures', () => {
  it('a mail server that refuses our credentials: forgot-password still answers 202, an invite answers 503', async () => {
    const mailbox = await TestMailbox.start();
    const hub = await startTestHub({ env: { ...mailbox.env(), HOSTPLANE_SMTP_PASSWORD: 'not-the-smtp-password' } });
    try {
      const password = strongPassword();
      const boot = await hub.request('/v1/auth/bootstrap', {
        method: 'POST',
        json: { email: uniqueEmail('admin'), password },
      });
      const auth = { authorization: `Bearer ${boot.body.access_token}` };
      const forgot = await hub.request('/v1/auth/forgot-password', {
        method: 'POST',
        json: { email: boot.body.user.email },
      });
      assert.equal(forgot.status, 202);
      const invite = await hub.request(`/v1/organizations/${boot.body.organization.id}/members/invite`, {
        method: 'POST',
        headers: auth,
        json: { email: uniqueEmail(), role: 'member' },
      });
      assert.equal(invite.status, 503);
      assert.equal(invite.body.code, 'mail_failed');
      const invites = await hub.request(`/v1/organizations/${boot.body.organization.id}/invites`, { headers: auth });
      assert.equal(invites.body.total, 0, 'an invite that could not be mailed is not kept');
      assert.equal(mailbox.messages.length, 0);
      assert.ok(hub.logs.text().includes('mail could not be sent'));
    } finally {
      await hub.close();
      await mailbox.close();
    }
  });
});

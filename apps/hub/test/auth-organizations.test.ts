import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client as Pg } from 'pg';
import { IdentityContext, lastMatch, strongPassword, uniqueEmail } from './support/identity';
import { startTestHub } from './support/test-hub';

describe('organizations, members and roles', () => {
  let ctx: IdentityContext;
  before(async () => {
    ctx = await IdentityContext.start();
  });
  after(() => ctx.close());

  it('the creator owns a new organization; it is listed, readable, renamable and deletable by them', async () => {
    const org = await ctx.newOrg({ name: 'Acme' });
    const list = await org.owner.request('/v1/organizations');
    assert.deepEqual(
      list.body.data.map((o: { name: string; role: string; personal: boolean }) => [o.name, o.role, o.personal]).sort(),
      [
        ['Acme', 'owner', false],
        [list.body.data.find((o: { personal: boolean }) => o.personal).name, 'owner', true],
      ].sort(),
    );
    const renamed = await org.owner.request(`/v1/organizations/${org.id}`, {
      method: 'PUT',
      json: { name: 'Acme Inc' },
    });
    assert.equal(renamed.body.name, 'Acme Inc');
    assert.equal((await org.owner.request(`/v1/organizations/${org.id}`)).body.name, 'Acme Inc');
    assert.equal((await org.owner.request(`/v1/organizations/${org.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await org.owner.request(`/v1/organizations/${org.id}`)).status, 404);
  });

  it('roles decide: a viewer reads, a member cannot manage members, an admin cannot delete the org', async () => {
    const org = await ctx.newOrg();
    const viewer = await ctx.addMember(org, 'viewer');
    const member = await ctx.addMember(org, 'member');
    const admin = await ctx.addMember(org, 'admin');
    assert.equal((await viewer.request(`/v1/organizations/${org.id}/members`)).body.total, 4);
    const rename = await viewer.request(`/v1/organizations/${org.id}`, { method: 'PUT', json: { name: 'x' } });
    assert.equal(rename.status, 403);
    assert.equal(rename.body.code, 'permission_denied');
    const invite = await member.request(`/v1/organizations/${org.id}/members/invite`, {
      method: 'POST',
      json: { email: 'a@example.test' },
    });
    assert.equal(invite.status, 403);
    const del = await admin.request(`/v1/organizations/${org.id}`, { method: 'DELETE' });
    assert.equal(del.status, 403);
    assert.equal(del.body.permission, 'orgs.delete');
    const promote = await admin.request(`/v1/organizations/${org.id}/members/${viewer.user.id}/role`, {
      method: 'PUT',
      json: { role: 'member' },
    });
    assert.equal(promote.status, 200, promote.text);
    assert.equal(promote.body.role, 'member');
  });

  it('nobody hands out a role above their own or acts on someone ranked above them', async () => {
    const org = await ctx.newOrg();
    const admin = await ctx.addMember(org, 'admin');
    const member = await ctx.addMember(org, 'member');
    const toOwner = await admin.request(`/v1/organizations/${org.id}/members/${member.user.id}/role`, {
      method: 'PUT',
      json: { role: 'owner' },
    });
    assert.equal(toOwner.status, 403);
    assert.equal(toOwner.body.code, 'role_escalation');
    const demoteOwner = await admin.request(`/v1/organizations/${org.id}/members/${org.owner.user.id}/role`, {
      method: 'PUT',
      json: { role: 'viewer' },
    });
    assert.equal(demoteOwner.body.code, 'role_escalation');
    const removeOwner = await admin.request(`/v1/organizations/${org.id}/members/${org.owner.user.id}`, {
      method: 'DELETE',
    });
    assert.equal(removeOwner.body.code, 'role_escalation');
    const inviteOwner = await admin.request(`/v1/organizations/${org.id}/members/invite`, {
      method: 'POST',
      json: { email: 'boss@example.test', role: 'owner' },
    });
    assert.equal(inviteOwner.body.code, 'role_escalation');
  });

  it('an organization never loses its last owner, even when two owners demote each other at once', async () => {
    const org = await ctx.newOrg();
    const self = await org.owner.request(`/v1/organizations/${org.id}/members/${org.owner.user.id}/role`, {
      method: 'PUT',
      json: { role: 'admin' },
    });
    assert.equal(self.status, 409);
    assert.equal(self.body.code, 'last_owner');
    const leave = await org.owner.request(`/v1/organizations/${org.id}/members/${org.owner.user.id}`, {
      method: 'DELETE',
    });
    assert.equal(leave.body.code, 'last_owner');

    const second = await ctx.addMember(org, 'owner');
    const [a, b] = await Promise.all([
      org.owner.request(`/v1/organizations/${org.id}/members/${second.user.id}/role`, {
        method: 'PUT',
        json: { role: 'member' },
      }),
      second.request(`/v1/organizations/${org.id}/members/${org.owner.user.id}/role`, {
        method: 'PUT',
        json: { role: 'member' },
      }),
    ]);
    const statuses = [a!.status, b!.status].sort();
    assert.ok(statuses[0] === 200 && (statuses[1] === 409 || statuses[1] === 403), `got ${statuses}`);
    const members = await org.owner.request(`/v1/organizations/${org.id}/members`, { org: null });
    const viaSecond = await second.request(`/v1/organizations/${org.id}/members`);
    const listing = members.status === 200 ? members : viaSecond;
    assert.equal(listing.body.data.filter((m: { role: string }) => m.role === 'owner').length, 1);
  });

  it('a role change takes effect on the next request', async () => {
    const org = await ctx.newOrg();
    const admin = await ctx.addMember(org, 'admin');
    assert.equal((await admin.request(`/v1/organizations/${org.id}/invites`)).status, 200);
    await org.owner.request(`/v1/organizations/${org.id}/members/${admin.user.id}/role`, {
      method: 'PUT',
      json: { role: 'viewer' },
    });
    assert.equal((await admin.request(`/v1/organizations/${org.id}/invites`)).status, 403);
    await org.owner.request(`/v1/organizations/${org.id}/members/${admin.user.id}`, { method: 'DELETE' });
    assert.equal((await admin.request(`/v1/organizations/${org.id}`)).status, 404, 'a removed member sees nothing');
  });

  it('grants permissions on top of a role, only ones the granter holds, and revokes them', async () => {
    const org = await ctx.newOrg();
    const viewer = await ctx.addMember(org, 'viewer');
    const admin = await ctx.addMember(org, 'admin');
    assert.equal((await viewer.request(`/v1/organizations/${org.id}/invites`)).status, 403);
    const grant = await org.owner.request(`/v1/organizations/${org.id}/members/${viewer.user.id}/permissions`, {
      method: 'POST',
      json: { key: 'orgs.members.manage' },
    });
    assert.equal(grant.status, 201, grant.text);
    assert.deepEqual(grant.body.granted_permissions, ['orgs.members.manage']);
    assert.ok(grant.body.effective_permissions.includes('orgs.members.manage'));
    assert.ok(grant.body.role_permissions.includes('orgs.view'));
    assert.equal((await viewer.request(`/v1/organizations/${org.id}/invites`)).status, 200, 'effective at once');
    const read = await viewer.request(`/v1/organizations/${org.id}/members/${viewer.user.id}/permissions`);
    assert.deepEqual(read.body.granted_permissions, ['orgs.members.manage']);

    const notHeld = await admin.request(`/v1/organizations/${org.id}/members/${viewer.user.id}/permissions`, {
      method: 'POST',
      json: { key: 'orgs.delete' },
    });
    assert.equal(notHeld.status, 403);
    assert.equal(notHeld.body.code, 'permission_denied');
    const platform = await org.owner.request(`/v1/organizations/${org.id}/members/${viewer.user.id}/permissions`, {
      method: 'POST',
      json: { key: 'platform.admin' },
    });
    assert.equal(platform.status, 403);
    const unknown = await org.owner.request(`/v1/organizations/${org.id}/members/${viewer.user.id}/permissions`, {
      method: 'POST',
      json: { key: 'nope' },
    });
    assert.equal(unknown.status, 400);

    assert.equal(
      (
        await org.owner.request(
          `/v1/organizations/${org.id}/members/${viewer.user.id}/permissions/orgs.members.manage`,
          { method: 'DELETE' },
        )
      ).status,
      204,
    );
    assert.equal((await viewer.request(`/v1/organizations/${org.id}/invites`)).status, 403);
    const again = await org.owner.request(
      `/v1/organizations/${org.id}/members/${viewer.user.id}/permissions/orgs.members.manage`,
      { method: 'DELETE' },
    );
    assert.equal(again.status, 404);
  });

  it('lists every permission key with its description and default roles', async () => {
    const user = await ctx.newUser();
    const res = await user.request('/v1/permissions');
    assert.equal(res.status, 200);
    const keys = res.body.data.map((p: { key: string }) => p.key);
    for (const k of [
      'orgs.manage',
      'orgs.members.manage',
      'nodes.manage',
      'nodes.terminal',
      'instances.console',
      'operations.view',
      'platform.admin',
    ])
      assert.ok(keys.includes(k), k);
    const consoleKey = res.body.data.find((p: { key: string }) => p.key === 'instances.console');
    assert.deepEqual(consoleKey.roles, ['owner', 'admin', 'member']);
    assert.ok(consoleKey.description.length > 10);
    assert.deepEqual(res.body.roles, ['owner', 'admin', 'member', 'viewer']);
  });

  it('an explicit organization: X-Org-Id must agree with the path', async () => {
    const org = await ctx.newOrg();
    const res = await org.owner.request(`/v1/organizations/${org.id}`, { org: org.owner.personalOrgId });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'org_mismatch');
  });

  it('a platform admin acts in any organization; deleting an org takes its members and API tokens with it', async () => {
    const org = await ctx.newOrg();
    const member = await ctx.addMember(org, 'member');
    const { token } = await ctx.newApiToken(member);
    const view = await ctx.admin.request(`/v1/organizations/${org.id}`);
    assert.equal(view.status, 200);
    assert.equal(view.body.role, null);
    assert.equal((await ctx.admin.request(`/v1/organizations/${org.id}`, { method: 'DELETE' })).status, 204);
    const after = await ctx.hub.request('/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(after.status, 401);
    const me = await member.request('/v1/users/me', { org: null });
    assert.ok(!me.body.organizations.some((o: { id: string }) => o.id === org.id));
  });
});

describe('invites', () => {
  let ctx: IdentityContext;
  before(async () => {
    ctx = await IdentityContext.start();
  });
  after(() => ctx.close());

  it('mails an invite through SMTP; the invitee accepts it once and joins with the role', async () => {
    const org = await ctx.newOrg({ name: 'Invitational' });
    const invitee = await ctx.newUser();
    const res = await org.owner.request(`/v1/organizations/${org.id}/members/invite`, {
      method: 'POST',
      json: { email: invitee.user.email.toUpperCase(), role: 'admin' },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.delivery, 'email');
    assert.equal(res.body.token, undefined, 'the token goes to the invitee only');
    assert.equal(res.body.email, invitee.user.email);
    const mail = await ctx.mail.to(invitee.user.email, /Invitational/);
    assert.match(mail.text, new RegExp(`${org.owner.user.email.replace(/[.+]/g, '\\$&')} invited you`));
    const token = lastMatch(mail.text, /hp_inv_[0-9A-Za-z]{38}/g);

    const pending = await org.owner.request(`/v1/organizations/${org.id}/invites`);
    assert.deepEqual(
      pending.body.data.map((i: { email: string; role: string }) => [i.email, i.role]),
      [[invitee.user.email, 'admin']],
    );
    const accept = await invitee.request(`/v1/invites/${token}/accept`, { method: 'POST' });
    assert.equal(accept.status, 200, accept.text);
    assert.deepEqual(accept.body, { org_id: org.id, org_name: 'Invitational', role: 'admin' });
    assert.equal(
      (await invitee.request(`/v1/organizations/${org.id}/invites`, { org: org.id })).status,
      200,
      'now an admin there',
    );
    const twice = await invitee.request(`/v1/invites/${token}/accept`, { method: 'POST' });
    assert.equal(twice.status, 409);
    assert.equal(twice.body.code, 'invite_used');
    assert.equal((await org.owner.request(`/v1/organizations/${org.id}/invites`)).body.total, 0);
  });

  it('is bound to its address, can be withdrawn, expires, and refuses existing members', async () => {
    const org = await ctx.newOrg();
    const invitee = await ctx.newUser();
    const stranger = await ctx.newUser();
    const token = await ctx.invite(org, invitee.user.email, 'member');
    const wrongUser = await stranger.request(`/v1/invites/${token}/accept`, { method: 'POST' });
    assert.equal(wrongUser.status, 403);
    assert.equal(wrongUser.body.code, 'invite_email_mismatch');
    assert.ok(!wrongUser.text.includes(org.name), 'does not reveal the organization');

    const invites = await org.owner.request(`/v1/organizations/${org.id}/invites`);
    const inviteId = invites.body.data[0].id;
    assert.equal(
      (await org.owner.request(`/v1/organizations/${org.id}/invites/${inviteId}`, { method: 'DELETE' })).status,
      204,
    );
    assert.equal(
      (await invitee.request(`/v1/invites/${token}/accept`, { method: 'POST' })).body.code,
      'invalid_invite',
    );

    const fresh = await ctx.invite(org, invitee.user.email, 'member');
    const pg = new Pg({ connectionString: ctx.hub.database.url });
    await pg.connect();
    await pg.query(`UPDATE organization_invites SET expires_at = now() - interval '1 second' WHERE org_id = $1`, [
      org.id,
    ]);
    await pg.end();
    const expired = await invitee.request(`/v1/invites/${fresh}/accept`, { method: 'POST' });
    assert.equal(expired.status, 400);
    assert.equal(expired.body.code, 'invite_expired');

    const already = await org.owner.request(`/v1/organizations/${org.id}/members/invite`, {
      method: 'POST',
      json: { email: org.owner.user.email },
    });
    assert.equal(already.status, 409);
    assert.equal(already.body.code, 'already_member');
    const typo = await invitee.request(`/v1/invites/hp_inv_${'a'.repeat(38)}/accept`, { method: 'POST' });
    assert.equal(typo.status, 404);
    assert.equal(typo.body.code, 'invalid_invite');
  });
});

describe('invites without a mail server', () => {
  it('hand the token to the inviter (delivery: manual), and it works', async () => {
    const hub = await startTestHub();
    try {
      const boot = await hub.request('/v1/auth/bootstrap', {
        method: 'POST',
        json: { email: uniqueEmail('admin'), password: strongPassword() },
      });
      const admin = { authorization: `Bearer ${boot.body.access_token}` };
      const email = uniqueEmail('manual');
      const password = strongPassword();
      await hub.request('/v1/users', { method: 'POST', headers: admin, json: { email, password } });
      const invite = await hub.request(`/v1/organizations/${boot.body.organization.id}/members/invite`, {
        method: 'POST',
        headers: admin,
        json: { email, role: 'viewer' },
      });
      assert.equal(invite.status, 201, invite.text);
      assert.equal(invite.body.delivery, 'manual');
      assert.match(invite.body.token, /^hp_inv_[0-9A-Za-z]{38}$/);
      const login = await hub.request('/v1/auth/login', { method: 'POST', json: { email, password } });
      const accept = await hub.request(`/v1/invites/${invite.body.token}/accept`, {
        method: 'POST',
        headers: { authorization: `Bearer ${login.body.access_token}` },
      });
      assert.equal(accept.status, 200, accept.text);
      assert.equal(accept.body.role, 'viewer');
    } finally {
      await hub.close();
    }
  });
});

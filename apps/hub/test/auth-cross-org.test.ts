import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, IdentityContext } from './support/identity';

/**
 * Routes a member of another organization may legitimately call: they act on the caller
 * themselves, never on an organization's resources. Everything else that is not public must
 * answer 403 or 404. A new route lands in the strict set until it is classified here.
 */
const SELF_ROUTES = new Set([
  'GET /v1/users/me',
  'POST /v1/users/me/password',
  'GET /v1/organizations',
  'POST /v1/organizations',
  'GET /v1/permissions',
  'GET /v1/api-tokens',
  'GET /v1/auth/mfa/status',
  'POST /v1/auth/mfa/enroll',
  'POST /v1/auth/mfa/verify',
  'POST /v1/auth/mfa/disable',
  'POST /v1/auth/logout',
  // The caller's own event streams (filtered to their organizations) and subscriber connections.
  'GET /v1/ws/subscribe',
  'POST /v1/ws/unsubscribe',
  'GET /v1/events/stream',
  // Catalogs that are the same for everyone.
  'GET /v1/templates',
  'GET /v1/templates/:category',
  'GET /v1/planner/templates',
]);

/** Self routes that answer with an endless stream: only their status is checked. */
const STREAMING = new Set(['GET /v1/events/stream']);

/** Run last: they end the caller's session. */
const LAST = ['POST /v1/auth/logout'];

interface Victim {
  orgId: string;
  orgName: string;
  ownerId: string;
  memberId: string;
  inviteId: string;
  inviteToken: string;
  apiTokenId: string;
  apiToken: string;
  /** Strings only someone inside the organization knows. */
  secrets: string[];
}

describe('cross-organization isolation', () => {
  let ctx: IdentityContext;
  let victim: Victim;
  let attacker: Client;
  let attackerToken: Client;
  let routes: { method: string; path: string; public: boolean }[];

  before(async () => {
    ctx = await IdentityContext.start();
    const org = await ctx.newOrg({ name: `Victim Corp ${randomUUID().slice(0, 8)}` });
    const member = await ctx.addMember(org, 'admin');
    const invitedEmail = `pending-${randomUUID().slice(0, 8)}@victim.test`;
    const inviteToken = await ctx.invite(org, invitedEmail, 'member');
    const invites = await org.owner.request(`/v1/organizations/${org.id}/invites`);
    const apiToken = await ctx.newApiToken(org.owner, { name: 'victim-ci' });
    victim = {
      orgId: org.id,
      orgName: org.name,
      ownerId: org.owner.user.id,
      memberId: member.user.id,
      inviteId: invites.body.data[0].id,
      inviteToken,
      apiTokenId: apiToken.id,
      apiToken: apiToken.token,
      secrets: [org.name, org.owner.user.email, member.user.email, invitedEmail, 'victim-ci'],
    };
    const other = await ctx.newOrg({ name: 'Attacker Org' });
    attacker = other.owner.inOrg(victim.orgId);
    attackerToken = other.owner
      .withToken({ bearer: (await ctx.newApiToken(other.owner, { org: other.id })).token })
      .inOrg(victim.orgId);

    const doc = (await ctx.hub.request('/openapi.json')).body as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    routes = ctx.hub.registeredRoutes
      .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS')
      .map((r) => {
        const op = doc.paths[r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[r.method.toLowerCase()];
        return { method: r.method, path: r.url, public: Array.isArray(op?.security) && op.security.length === 0 };
      })
      .sort((a, b) => Number(LAST.includes(`${a.method} ${a.path}`)) - Number(LAST.includes(`${b.method} ${b.path}`)));
  });
  after(() => ctx.close());

  function concrete(path: string): string {
    const byParam: Record<string, string> = {
      orgId: victim.orgId,
      userId: victim.memberId,
      inviteId: victim.inviteId,
      token: victim.inviteToken,
      key: 'orgs.view',
      file: 'swagger-ui.css',
      section: 'system',
      pid: '1',
    };
    return path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
      if (name === 'id') {
        if (path.startsWith('/v1/api-tokens')) return victim.apiTokenId;
        if (path.startsWith('/v1/users') || path.startsWith('/v1/admin/users')) return victim.ownerId;
        return randomUUID();
      }
      return encodeURIComponent(byParam[name] ?? randomUUID());
    });
  }

  async function walk(client: Client, label: string): Promise<string[]> {
    const problems: string[] = [];
    for (const r of routes) {
      const name = `${r.method} ${r.path}`;
      const url = concrete(r.path);
      if (STREAMING.has(name)) {
        const opened = await client.open(url);
        if (opened.status >= 500) problems.push(`${label} ${name} → ${opened.status}`);
        continue;
      }
      let res;
      try {
        res = await client.request(url, {
          method: r.method,
          ...(['POST', 'PUT', 'PATCH'].includes(r.method) ? { json: {} } : {}),
          signal: AbortSignal.timeout(5000),
        });
      } catch (err) {
        problems.push(`${label} ${name} (${url}) → no answer: ${(err as Error).name} ${(err as Error).message}`);
        continue;
      }
      const leaked = victim.secrets.filter((s) => res.text.includes(s));
      if (leaked.length) problems.push(`${label} ${name} → ${res.status} leaks ${leaked.join(', ')}`);
      if (r.public || SELF_ROUTES.has(name)) {
        if (res.text.includes(victim.orgId))
          problems.push(`${label} ${name} → ${res.status} names the victim organization`);
        continue;
      }
      if (res.status !== 403 && res.status !== 404)
        problems.push(`${label} ${name} (${url}) → ${res.status} ${res.text.slice(0, 200)}`);
      else if (typeof res.body?.code !== 'string' || typeof res.body?.error !== 'string')
        problems.push(`${label} ${name} → not an error envelope`);
    }
    return problems;
  }

  it('the walk itself notices a route that answers (control: the victim reading its own organization)', async () => {
    const insider = attacker.withToken({ bearer: victim.apiToken });
    const saved = routes;
    routes = routes.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/organizations/:orgId'));
    try {
      const flagged = await walk(insider, 'control');
      assert.ok(flagged.length >= routes.length, `every readable route was flagged: ${flagged.join('\n')}`);
      assert.ok(flagged.some((f) => f.includes('leaks')));
    } finally {
      routes = saved;
    }
  });

  it('walks every registered route with a member of another organization (JWT): 403/404 and nothing of the victim in any body', async () => {
    assert.ok(routes.length > 40, `routes were collected (${routes.length})`);
    const strict = routes.filter((r) => !r.public && !SELF_ROUTES.has(`${r.method} ${r.path}`));
    assert.ok(
      strict.some((r) => r.path === '/v1/organizations/:orgId/members/:userId/role'),
      'org routes are in the strict set',
    );
    assert.deepEqual(await walk(attacker, 'jwt'), []);
  });

  it('and again with an API token of the other organization', async () => {
    assert.deepEqual(await walk(attackerToken, 'pat'), []);
  });

  it("left the victim's organization exactly as it was", async () => {
    const owner = await ctx.hub.request(`/v1/organizations/${victim.orgId}/members`, {
      headers: { authorization: `Bearer ${victim.apiToken}` },
    });
    assert.equal(owner.status, 200);
    assert.deepEqual(
      owner.body.data.map((m: { user_id: string; role: string }) => [m.user_id, m.role]).sort(),
      [
        [victim.ownerId, 'owner'],
        [victim.memberId, 'admin'],
      ].sort(),
    );
    const org = await ctx.hub.request(`/v1/organizations/${victim.orgId}`, {
      headers: { authorization: `Bearer ${victim.apiToken}` },
    });
    assert.equal(org.body.name, victim.orgName);
    const invites = await ctx.hub.request(`/v1/organizations/${victim.orgId}/invites`, {
      headers: { authorization: `Bearer ${victim.apiToken}` },
    });
    assert.deepEqual(
      invites.body.data.map((i: { id: string }) => i.id),
      [victim.inviteId],
    );
  });
});

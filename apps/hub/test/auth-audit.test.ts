import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client as Pg } from 'pg';
import { IdentityContext, uniqueEmail } from './support/identity';

describe('audit log', () => {
  let ctx: IdentityContext;
  before(async () => {
    ctx = await IdentityContext.start();
  });
  after(() => ctx.close());

  it('records a mutating request with actor, organization, action, target, IP, user agent and outcome', async () => {
    const org = await ctx.newOrg();
    const res = await org.owner.request(`/v1/organizations/${org.id}`, {
      method: 'PUT',
      json: { name: 'Audited' },
      headers: { 'user-agent': 'audit-test/1.0' },
    });
    assert.equal(res.status, 200);
    const [entry] = await ctx.auditEntries({ action: 'org.update', org_id: org.id });
    assert.equal(entry.actor_type, 'user');
    assert.equal(entry.actor_id, org.owner.user.id);
    assert.equal(entry.actor_email, org.owner.user.email);
    assert.equal(entry.org_id, org.id);
    assert.equal(entry.target_type, 'organization');
    assert.equal(entry.target_id, org.id);
    assert.equal(entry.ip, '127.0.0.1');
    assert.equal(entry.user_agent, 'audit-test/1.0');
    assert.equal(entry.outcome, 'success');
    assert.equal(entry.status_code, 200);
    assert.equal(entry.request_id, res.headers.get('x-request-id'));
  });

  it('records refused and failed mutations too, and anonymous ones', async () => {
    const org = await ctx.newOrg();
    const viewer = await ctx.addMember(org, 'viewer');
    await viewer.request(`/v1/organizations/${org.id}`, { method: 'DELETE' });
    const [denied] = await ctx.auditEntries({ action: 'org.delete', actor_id: viewer.user.id });
    assert.equal(denied.outcome, 'denied');
    assert.equal(denied.status_code, 403);
    assert.equal(denied.org_id, org.id);

    await org.owner.request(`/v1/organizations/${org.id}/members/${org.owner.user.id}`, { method: 'DELETE' });
    const [failed] = await ctx.auditEntries({ action: 'org.member.remove', actor_id: org.owner.user.id });
    assert.equal(failed.outcome, 'failure');
    assert.equal(failed.status_code, 409);

    const email = uniqueEmail('anon');
    await ctx.hub.request('/v1/auth/login', { method: 'POST', json: { email, password: 'guess-guess-1' } });
    const anon = (await ctx.auditEntries({ action: 'auth.login', outcome: 'denied' })).find(
      (e) => e.details?.email === email,
    );
    assert.equal(anon.actor_type, 'anonymous');
    assert.equal(anon.actor_id, null);

    await ctx.hub.request('/v1/organizations', { method: 'POST', json: { name: 'no credentials' } });
    const noCreds = await ctx.auditEntries({ action: 'org.create', outcome: 'denied' });
    assert.equal(noCreds[0].status_code, 401);
  });

  it('filters by actor, organization, action prefix, outcome and time range, and paginates', async () => {
    const org = await ctx.newOrg();
    // Rows are written just after each answer: let the creation's land before the window opens.
    await ctx.auditEntries({ action: 'org.create', org_id: org.id });
    await new Promise((r) => setTimeout(r, 20));
    const startedAt = new Date();
    for (let i = 0; i < 3; i++)
      await org.owner.request(`/v1/organizations/${org.id}`, { method: 'PUT', json: { name: `Name ${i}` } });
    await ctx.auditEntries({ org_id: org.id, action: 'org.update' }, 3);
    const page = await ctx.admin.request(`/v1/admin/audit-logs?org_id=${org.id}&action=org.*&limit=3&offset=0`);
    assert.equal(page.status, 200);
    assert.equal(page.body.total, 4, 'org.create and three org.update');
    assert.deepEqual(
      page.body.data.map((e: { action: string }) => e.action),
      ['org.update', 'org.update', 'org.update'],
    );
    assert.ok(Number(page.body.data[0].id) > Number(page.body.data[1].id), 'newest first');
    const rest = await ctx.admin.request(`/v1/admin/audit-logs?org_id=${org.id}&action=org.*&limit=3&offset=3`);
    assert.deepEqual(
      rest.body.data.map((e: { action: string }) => e.action),
      ['org.create'],
    );
    const exact = await ctx.admin.request(`/v1/admin/audit-logs?org_id=${org.id}&action=org.update&outcome=success`);
    assert.equal(exact.body.total, 3);
    const future = new Date(Date.now() + 60_000).toISOString();
    const none = await ctx.admin.request(`/v1/admin/audit-logs?org_id=${org.id}&from=${encodeURIComponent(future)}`);
    assert.equal(none.body.total, 0);
    const inRange = await ctx.admin.request(
      `/v1/admin/audit-logs?actor_id=${org.owner.user.id}&from=${encodeURIComponent(startedAt.toISOString())}&to=${encodeURIComponent(future)}`,
    );
    assert.equal(inRange.body.total, 3, 'only the updates happened after startedAt');
    const bad = await ctx.admin.request('/v1/admin/audit-logs?from=yesterday');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.fields[0].path, 'from');
  });

  it('exports as streamed NDJSON and CSV, in batches past the first thousand rows', async () => {
    const org = await ctx.newOrg();
    const pg = new Pg({ connectionString: ctx.hub.database.url });
    await pg.connect();
    try {
      await pg.query(
        `INSERT INTO audit_logs (actor_type, org_id, action, outcome, details)
         SELECT 'system', $1, 'bulk.test', 'success', jsonb_build_object('n', g, 'note', 'has "quotes", commas')
           FROM generate_series(1, 2500) g`,
        [org.id],
      );
      await pg.query(
        `INSERT INTO audit_logs (actor_type, org_id, action, outcome, user_agent) VALUES ('system', $1, 'bulk.test', 'success', '=HYPERLINK("x")')`,
        [org.id],
      );
    } finally {
      await pg.end();
    }
    const nd = await fetch(
      `${ctx.hub.url}/v1/admin/audit-logs/export?org_id=${org.id}&action=bulk.test&format=ndjson`,
      { headers: { authorization: `Bearer ${ctx.admin.accessToken}` } },
    );
    assert.equal(nd.status, 200);
    assert.match(nd.headers.get('content-type') ?? '', /application\/x-ndjson/);
    assert.equal(nd.headers.get('content-length'), null, 'streamed, not buffered');
    const lines = (await nd.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 2501);
    assert.deepEqual(
      lines.slice(0, 3).map((l) => l.details.n),
      [1, 2, 3],
      'oldest first',
    );
    assert.ok(lines.every((l, i) => i === 0 || Number(l.id) > Number(lines[i - 1].id)));

    const csv = await fetch(`${ctx.hub.url}/v1/admin/audit-logs/export?org_id=${org.id}&action=bulk.test&format=csv`, {
      headers: { authorization: `Bearer ${ctx.admin.accessToken}` },
    });
    assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
    assert.match(csv.headers.get('content-disposition') ?? '', /attachment; filename="hostplane-audit-.*\.csv"/);
    const rows = (await csv.text()).trim().split('\r\n');
    assert.equal(
      rows[0],
      'id,occurred_at,actor_type,actor_id,actor_email,api_token_id,org_id,action,target_type,target_id,ip,user_agent,outcome,status_code,request_id,details',
    );
    assert.equal(rows.length, 2502);
    assert.ok(rows[1]!.endsWith(`,"{""n"":1,""note"":""has \\""quotes\\"", commas""}"`), rows[1]);
    assert.ok(rows.at(-1)!.includes(`,"'=HYPERLINK(""x"")",`), `formula defused: ${rows.at(-1)}`);

    const forbidden = await fetch(`${ctx.hub.url}/v1/admin/audit-logs/export`, {
      headers: { authorization: `Bearer ${(await ctx.newUser()).accessToken}` },
    });
    assert.equal(forbidden.status, 403);
  });
});

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';

describe('fresh inventory: volatile sections on request and on a period', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let quiet: TestNode;
  let chatty: TestNode;
  let sleeper: ChildProcess | undefined;

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    // A quiet host: the change check never fires during the test.
    quiet = await registerNode(owner, ctx.hub.url, { HOSTPLANE_AGENT_INVENTORY_CHECK_INTERVAL_MS: '3600000' });
    chatty = await registerNode(owner, ctx.hub.url, {
      HOSTPLANE_AGENT_INVENTORY_CHECK_INTERVAL_MS: '1000',
      HOSTPLANE_AGENT_INVENTORY_VOLATILE_MAX_AGE_MS: '1000',
    });
    for (const n of [quiet, chatty]) {
      n.start();
      await n.waitStatus('online');
      await waitFor('inventory', async () =>
        (await owner.request(`/v1/nodes/${n.id}/inventory`)).status === 200 ? true : undefined,
      );
    }
  });
  after(async () => {
    sleeper?.kill('SIGKILL');
    await Promise.all([quiet?.stop(), chatty?.stop()]);
    await ctx?.close();
  });

  it('a process started after the agent connected shows with ?live=true and after POST …/inventory/refresh, with the age of the data', async () => {
    const marker = `${3000 + Math.floor(Math.random() * 1000)}.25`;
    sleeper = spawn('sleep', [marker], { stdio: 'ignore' });
    const has = (body: { processes: { pid: number; command: string }[] }) =>
      body.processes.some((p) => p.pid === sleeper!.pid);

    const stored = await owner.request(`/v1/nodes/${quiet.id}/inventory/processes`);
    assert.equal(stored.status, 200, stored.text);
    assert.equal(has(stored.body), false, 'the stored section predates the process');
    assert.equal(typeof stored.body.age_seconds, 'number');

    const live = await owner.request(`/v1/nodes/${quiet.id}/inventory/processes?live=true`);
    assert.equal(live.status, 200, live.text);
    assert.ok(has(live.body), 'collected now, the process is there');
    assert.ok(live.body.age_seconds < 5, String(live.body.age_seconds));
    assert.ok(Date.parse(live.body.collected_at) > Date.parse(stored.body.collected_at));

    const refreshed = await owner.request(`/v1/nodes/${quiet.id}/inventory/refresh`, { method: 'POST' });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.ok(Date.parse(refreshed.body.collected_at) >= Date.parse(live.body.collected_at));
    const full = await owner.request(`/v1/nodes/${quiet.id}/inventory`);
    assert.equal(full.headers.get('x-inventory-collected-at'), refreshed.body.collected_at);
    assert.ok(Number(full.headers.get('x-inventory-age-seconds')) >= 0);
  });

  it('an unchanged host still sends its inventory once the last one is older than the volatile max age', async () => {
    const first = (await owner.request(`/v1/nodes/${chatty.id}/inventory/system`)).body.collected_at as string;
    await waitFor(
      'a newer inventory without any request',
      async () => {
        const now = (await owner.request(`/v1/nodes/${chatty.id}/inventory/system`)).body.collected_at as string;
        return Date.parse(now) > Date.parse(first) ? true : undefined;
      },
      10_000,
      200,
    );
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import type { Client, IdentityContext } from '../../hub/test/support/identity';
import type { TestNode } from '../../hub/test/support/agents';
import { cliHome, hpctl, hubAgents, hubFleet, hubIdentity, totpCode } from './support/hpctl';

/** A PTDL_v2 egg as Pterodactyl exports them (import only: eggs run on docker nodes). */
const EGG = {
  meta: { version: 'PTDL_v2' },
  name: 'Tiny egg',
  author: 'tests@example.test',
  docker_images: { Busybox: 'hostplane/busybox:test' },
  startup: 'echo {{GREETING}}',
  config: { files: '{}', startup: '{"done": "ready"}', logs: '{}', stop: '^C' },
  variables: [{ name: 'Greeting', env_variable: 'GREETING', default_value: 'hi', rules: 'required|string|max:5' }],
};

describe('hpctl against a real hub and agent', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let nodes: TestNode[];
  let env: Record<string, string>;
  let apiToken: string;
  let orgId: string;

  const json = (stdout: string) => JSON.parse(stdout) as unknown;

  before(async () => {
    ctx = await hubIdentity.IdentityContext.start({ env: hubFleet.FLEET_ENV });
    const org = await ctx.newOrg();
    owner = org.owner;
    orgId = org.id;
    nodes = [await hubAgents.registerNode(owner, ctx.hub.url, hubAgents.FAST_JOBS_ENV)];
    nodes[0].start();
    await nodes[0].waitStatus('online', 60_000);
    env = cliHome();
  });
  after(async () => {
    await Promise.all((nodes ?? []).map((n) => n.stop()));
    await ctx?.close();
  });

  it('logs in with password and MFA code from the prompts and saves a 0600 context', async () => {
    const enroll = await owner.request('/v1/auth/mfa/enroll', { method: 'POST' });
    const secret = enroll.body.secret as string;
    const verify = await owner.request('/v1/auth/mfa/verify', { method: 'POST', json: { code: totpCode(secret) } });
    assert.equal(verify.status, 200, verify.text);
    const res = await hpctl(
      ['--url', ctx.hub.url, '--org', orgId, 'login', '--email', owner.user.email, '--name', 'lab'],
      env,
      // The enrolment's code cannot be used twice: the next step's, which the hub accepts (±1 step of skew).
      `${owner.user.password}\n${totpCode(secret, Date.now() + 30_000)}\n`,
    );
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /MFA code: /);
    const file = join(env.XDG_CONFIG_HOME, 'hostplane', 'config.yaml');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const config = YAML.parse(readFileSync(file, 'utf8'));
    assert.equal(config['current-context'], 'lab');
    assert.match(config.contexts.lab.refresh_token, /^hp_rt_/);
    const orgs = await hpctl(['orgs', 'list', '-o', 'json'], env);
    assert.equal(orgs.code, 0, orgs.stderr);
    assert.ok((json(orgs.stdout) as { id: string }[]).some((o) => o.id === orgId));
    assert.equal(config.contexts.lab.org_id, orgId);
    const contexts = await hpctl(['context', 'list', '-o', 'yaml'], env);
    assert.equal(YAML.parse(contexts.stdout)[0].credentials, 'login');
    assert.doesNotMatch(contexts.stdout, /hp_rt_|eyJ/, 'tokens are not printed');
  });

  it('creates an API token, and a CI job uses only HOSTPLANE_URL and HOSTPLANE_TOKEN', async () => {
    const created = await hpctl(['tokens', 'create', 'ci'], env);
    assert.equal(created.code, 0, created.stderr);
    apiToken = created.stdout.trim();
    assert.match(apiToken, /^hp_pat_/);
    const ci = cliHome({ HOSTPLANE_URL: ctx.hub.url, HOSTPLANE_TOKEN: apiToken });
    const list = await hpctl(['nodes', 'list', '-o', 'json'], ci);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual((json(list.stdout) as { id: string }[]).map((n) => n.id).sort(), nodes.map((n) => n.id).sort());
    const tokens = await hpctl(['tokens', 'list', '-o', 'json'], env);
    const id = (json(tokens.stdout) as { id: string; name: string }[]).find((t) => t.name === 'ci')!.id;
    const imported = await hpctl(['workloads', 'import-egg', '-', '-o', 'json'], ci, JSON.stringify(EGG));
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal((json(imported.stdout) as { name: string }).name, 'Tiny egg');
    const revoked = await hpctl(['tokens', 'revoke', id], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    const after = await hpctl(['nodes', 'list'], ci);
    assert.equal(after.code, 1, 'a revoked token is refused');
    assert.match(after.stderr, /error: .*\(\w+\)/);
  });

  it('exits 0 ok, 2 usage, 3 not found, 4 conflict', async () => {
    assert.equal((await hpctl(['nodes', 'list'], env)).code, 0);
    assert.equal((await hpctl(['nodes', 'frobnicate'], env)).code, 2);
    assert.equal((await hpctl(['nodes', 'list', '-o', 'xml'], env)).code, 2);
    const missing = await hpctl(['instances', 'get', randomUUID()], env);
    assert.equal(missing.code, 3, missing.stderr);
    const notFoundOp = await hpctl(['operations', 'cancel', randomUUID()], env);
    assert.equal(notFoundOp.code, 3);
    // A finished operation cannot be cancelled: 409, exit 4.
    const op = await owner.request(`/v1/nodes/${nodes[0].id}/selftest`, { method: 'POST', json: { marker: 'cli' } });
    const waited = await hpctl(['operations', 'wait', op.body.id, '-o', 'json'], env);
    assert.equal((json(waited.stdout) as { status: string }).status, 'succeeded');
    const conflict = await hpctl(['operations', 'cancel', op.body.id], env);
    assert.equal(conflict.code, 4, conflict.stderr);
    const add = await hpctl(['nodes', 'add'], env);
    assert.equal(add.code, 0, add.stderr);
    assert.match(
      add.stdout,
      new RegExp(
        `^curl -fsSL ${ctx.hub.url}/install\\.sh \\| sudo sh -s -- --hub ${ctx.hub.url} --token hp_reg_\\S+\\n$`,
      ),
    );
  });

  it('prints completion scripts for bash, zsh and fish', async () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const res = await hpctl(['completion', shell], env);
      assert.equal(res.code, 0);
      assert.match(res.stdout, /instances/);
    }
  });
});

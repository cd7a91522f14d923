import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { DataPermissions1796310000000 } from '../src/database/schema-migrations/1796310000000-data-permissions';
import { FAST_JOBS_ENV, waitForOperation, type TestNode } from './support/agents';
import { instanceRoot, newInstance, newWorkload, onlineNode, writeFiles } from './support/backups';
import { Client, IdentityContext } from './support/identity';
import type { TestResponse } from './support/test-hub';

type Role = 'owner' | 'admin' | 'member' | 'viewer';

function assertDenied(res: TestResponse, permission: string, what: string): void {
  assert.equal(res.status, 403, `${what}: ${res.status} ${res.text}`);
  assert.equal(res.body.code, 'permission_denied', what);
  assert.equal(res.body.permission, permission, what);
  assert.match(res.body.error, new RegExp(permission.replace('.', '\\.')), what);
}

/**
 * Least privilege on data: members operate instances but do not destroy data, and host-wide
 * views of a node are for its owners and admins (and platform admins). One organization with a
 * node, an instance and backups, a member of every role, a second organization and a platform
 * admin from outside.
 */
describe('least privilege on data: destructive file and backup operations, host-wide node views', () => {
  let ctx: IdentityContext;
  let org: { id: string; owner: Client };
  let other: { id: string; owner: Client };
  let node: TestNode;
  let instanceId: string;
  const as: Partial<Record<Role, Client>> = {};
  const backups: string[] = [];

  const files = (rest = '') => `/v1/instances/${instanceId}/files${rest}`;
  const backup = (id: string, rest = '') => `/v1/instances/${instanceId}/backups/${id}${rest}`;

  before(async () => {
    ctx = await IdentityContext.start({ env: { ...FAST_JOBS_ENV, HOSTPLANE_BACKUPS_MAX_PER_INSTANCE: '10' } });
    org = await ctx.newOrg();
    other = await ctx.newOrg();
    as.owner = org.owner;
    for (const role of ['admin', 'member', 'viewer'] as const) as[role] = await ctx.addMember(org, role);
    node = await onlineNode(org.owner, ctx.hub.url);
    instanceId = (await newInstance(org.owner, await newWorkload(org.owner), 'data-1', false)).id;
    writeFiles(instanceRoot(node, instanceId), { 'keep.txt': 'keep\n', 'a.txt': 'a\n', 'b.txt': 'b\n' });
    for (const locked of [true, false, false]) {
      const res = await org.owner.request(`/v1/instances/${instanceId}/backups`, { method: 'POST', json: { locked } });
      assert.equal(res.status, 202, res.text);
      assert.equal((await waitForOperation(org.owner, res.body.id)).status, 'succeeded');
      backups.push(res.body.backup.id as string);
    }
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  it('the permission list documents the new keys and which roles hold them', async () => {
    const list = await org.owner.request('/v1/permissions');
    assert.equal(list.status, 200, list.text);
    const roles = Object.fromEntries(
      (list.body.data as { key: string; roles: string[] }[]).map((p) => [p.key, p.roles]),
    );
    assert.deepEqual(roles['files.write'], ['owner', 'admin', 'member']);
    for (const key of ['files.delete', 'backups.delete', 'backups.restore', 'nodes.host'])
      assert.deepEqual(roles[key], ['owner', 'admin'], key);
    assert.deepEqual(roles['instances.files'], ['owner', 'admin', 'member']);
  });

  it('members and viewers cannot delete files, delete, unlock or restore backups (403 naming the key)', async () => {
    const [locked, plain] = backups as [string, string, string];
    for (const role of ['member', 'viewer'] as const) {
      const c = as[role]!;
      assertDenied(
        await c.request(files('?path=a.txt'), { method: 'DELETE' }),
        'files.delete',
        `${role} deletes a file`,
      );
      assertDenied(await c.request(backup(plain), { method: 'DELETE' }), 'backups.delete', `${role} deletes a backup`);
      assertDenied(
        await c.request(backup(plain, '/restore'), { method: 'POST', json: { truncate: true } }),
        'backups.restore',
        `${role} restores with truncate`,
      );
      assertDenied(
        await c.request(backup(plain, '/restore'), { method: 'POST', json: { truncate: false } }),
        'backups.restore',
        `${role} restores over files`,
      );
    }
    assertDenied(
      await as.member!.request(backup(locked), { method: 'PATCH', json: { locked: false } }),
      'backups.delete',
      'member unlocks a backup',
    );
    assert.equal(
      (await as.viewer!.request(backup(locked), { method: 'PATCH', json: { locked: false } })).status,
      403,
      'viewer unlocks a backup',
    );
    assertDenied(
      await as.viewer!.request(files('/content?path=new.txt'), {
        method: 'PUT',
        body: 'x',
        headers: { 'content-type': 'text/plain' },
      }),
      'files.write',
      'viewer writes',
    );

    // Nothing was touched.
    assert.equal((await org.owner.request(files('/content?path=a.txt'))).text, 'a\n');
    assert.equal((await org.owner.request(backup(locked))).body.locked, true);
    assert.equal((await org.owner.request(`/v1/instances/${instanceId}/backups`)).body.total, 3);
  });

  it('members still operate: write, upload-free edits, lock and rename backups, read files', async () => {
    const c = as.member!;
    const put = await c.request(files('/content?path=notes.txt'), {
      method: 'PUT',
      body: 'by member\n',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(put.status, 200, put.text);
    assert.equal((await c.request(files('/content?path=notes.txt'))).text, 'by member\n');
    assert.equal((await c.request(files('/mkdir'), { method: 'POST', json: { path: 'conf' } })).status, 201);
    const moved = await c.request(files('/move'), {
      method: 'POST',
      json: { from: 'notes.txt', to: 'conf/notes.txt' },
    });
    assert.equal(moved.status, 200, moved.text);
    const renamed = await c.request(backup(backups[2]!), { method: 'PATCH', json: { name: 'nightly', locked: true } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.locked, true);
  });

  it('another organization gets 404 for all of it, not a 403 that confirms it exists', async () => {
    const stranger = other.owner;
    for (const [path, method] of [
      [files('?path=a.txt'), 'DELETE'],
      [backup(backups[1]!), 'DELETE'],
      [backup(backups[1]!, '/restore'), 'POST'],
      [`/v1/nodes/${node.id}/inventory/processes`, 'GET'],
      [`/v1/nodes/${node.id}/containers/hostplane-${instanceId}/logs`, 'GET'],
    ] as const) {
      const res = await stranger.request(path, { method });
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.code, 'not_found');
    }
  });

  it("host-wide node views: processes and other containers' logs need nodes.host; members see only their own instances", async () => {
    const processes = `/v1/nodes/${node.id}/inventory/processes`;
    const foreign = `/v1/nodes/${node.id}/containers/hostplane-00000000-0000-4000-8000-000000000001/logs`;
    const portainer = `/v1/nodes/${node.id}/containers/portainer/logs?follow=true`;
    for (const role of ['member', 'viewer'] as const) {
      const c = as[role]!;
      assertDenied(await c.request(processes), 'nodes.host', `${role} lists host processes`);
      assertDenied(await c.request(foreign), 'nodes.host', `${role} reads another tenant's container logs`);
      assertDenied(await c.request(portainer), 'nodes.host', `${role} follows a host container's logs`);
      const inventory = await c.request(`/v1/nodes/${node.id}/inventory`);
      assert.equal(inventory.status, 200, inventory.text);
      assert.deepEqual(inventory.body.processes, [], `${role} sees no host processes in the full inventory`);
      assert.ok(inventory.body.system, 'the rest of the inventory is there');
      // Their own instance's container passes the check (this agent has no Docker, so the node answers, not the guard).
      const own = await c.request(`/v1/nodes/${node.id}/containers/hostplane-${instanceId}/logs`);
      assert.notEqual(own.status, 403, own.text);
    }
    for (const c of [as.owner!, as.admin!, ctx.admin.inOrg(org.id)]) {
      const res = await c.request(processes);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.processes.length > 0, 'owners, admins and platform admins see every process');
      assert.ok((await c.request(`/v1/nodes/${node.id}/inventory`)).body.processes.length > 0);
      assert.notEqual((await c.request(foreign)).status, 403);
    }
  });

  it('upgrading keeps what was given explicitly: grants and token scopes of the broad keys gain the new ones', async () => {
    const viewer = as.viewer!;
    const grant = await org.owner.request(`/v1/organizations/${org.id}/members/${viewer.user.id}/permissions`, {
      method: 'POST',
      json: { key: 'instances.files' },
    });
    assert.ok(grant.status < 300, grant.text);
    const token = await ctx.newApiToken(org.owner, {
      org: org.id,
      scopes: ['instances.view', 'instances.files', 'instances.manage'],
    });
    const db = ctx.hub.app.get(DataSource);
    const runner = db.createQueryRunner();
    try {
      await new DataPermissions1796310000000().up(runner);
    } finally {
      await runner.release();
    }
    const grants = (await db.query(
      `SELECT permission_key FROM member_permissions WHERE org_id = $1 AND user_id = $2 ORDER BY 1`,
      [org.id, viewer.user.id],
    )) as { permission_key: string }[];
    assert.deepEqual(
      grants.map((g) => g.permission_key),
      ['files.delete', 'files.write', 'instances.files'],
    );
    const [row] = (await db.query(`SELECT scopes FROM api_tokens WHERE id = $1`, [token.id])) as { scopes: string[] }[];
    assert.deepEqual(row!.scopes, [
      'backups.delete',
      'backups.restore',
      'files.delete',
      'files.write',
      'instances.files',
      'instances.manage',
      'instances.view',
    ]);
    const revoke = await org.owner.request(
      `/v1/organizations/${org.id}/members/${viewer.user.id}/permissions/instances.files`,
      { method: 'DELETE' },
    );
    assert.ok(revoke.status < 300, revoke.text);
    for (const key of ['files.write', 'files.delete'])
      await org.owner.request(`/v1/organizations/${org.id}/members/${viewer.user.id}/permissions/${key}`, {
        method: 'DELETE',
      });
  });

  it('admins (and the platform admin from outside) still delete files, unlock, restore and delete backups', async () => {
    const [locked, plain, renamed] = backups as [string, string, string];
    const admin = as.admin!;
    const del = await admin.request(files('?path=a.txt'), { method: 'DELETE' });
    assert.equal(del.status, 200, del.text);
    const unlocked = await admin.request(backup(locked), { method: 'PATCH', json: { locked: false } });
    assert.equal(unlocked.status, 200, unlocked.text);
    assert.equal(unlocked.body.locked, false);
    const restore = await admin.request(backup(plain, '/restore'), { method: 'POST', json: { truncate: true } });
    assert.equal(restore.status, 202, restore.text);
    assert.equal((await waitForOperation(admin, restore.body.id)).status, 'succeeded');
    assert.equal(
      (await admin.request(files('/content?path=a.txt'))).text,
      'a\n',
      'the restore brought the deleted file back',
    );
    const gone = await admin.request(backup(locked), { method: 'DELETE' });
    assert.ok([202, 204].includes(gone.status), gone.text);
    if (gone.status === 202) await waitForOperation(admin, gone.body.id);

    const platform = ctx.admin.inOrg(org.id);
    assert.equal((await platform.request(backup(renamed), { method: 'PATCH', json: { locked: false } })).status, 200);
    const removed = await platform.request(backup(renamed), { method: 'DELETE' });
    assert.ok([202, 204].includes(removed.status), removed.text);
    assert.equal((await platform.request(files('?path=b.txt'), { method: 'DELETE' })).status, 200);
  });
});

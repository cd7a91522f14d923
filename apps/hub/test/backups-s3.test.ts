import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { DataSource } from 'typeorm';
import { BackupSweeper } from '../src/backups/backup-sweeper';
import { FAST_JOBS_ENV, TestNode, waitFor, waitForOperation } from './support/agents';
import {
  agentArchive,
  backupEvents,
  download,
  instanceRoot,
  newInstance,
  newWorkload,
  onlineNode,
  sha256,
  startS3,
  TestS3,
  writeFiles,
} from './support/backups';
import { Client, IdentityContext } from './support/identity';
import type { TestResponse } from './support/test-hub';

/** Bigger than one 8 MiB part, so the upload is a real multipart upload. */
const ROOT_MB = Number(process.env.HOSTPLANE_TEST_BACKUP_MB ?? 9);

describe('backups in S3-compatible storage (s3rver, real agent)', () => {
  let s3: TestS3;
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let instance: any;
  let root: string;
  let config: any;
  let backup: any;
  /** Every answer the hub gave in this file: the secret must be in none. */
  const answers: TestResponse[] = [];
  const call = async (path: string, init: Parameters<Client['request']>[1] = {}, as: Client = owner) => {
    const res = await as.request(path, init);
    answers.push(res);
    return res;
  };

  before(async () => {
    s3 = await startS3();
    // The loopback S3 server is an address the outbound guard refuses unless allow-listed.
    ctx = await IdentityContext.start({ env: { ...FAST_JOBS_ENV, HOSTPLANE_OUTBOUND_ALLOW: '127.0.0.1' } });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await onlineNode(owner, ctx.hub.url);
    instance = await newInstance(owner, await newWorkload(owner), 'to-s3', false);
    root = instanceRoot(node, instance.id);
    writeFiles(root, { 'world.txt': 'original world\n', 'blob.bin': randomBytes(ROOT_MB * 1024 * 1024) });
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
    await s3?.close();
  });

  const configBody = () => ({
    name: 'local s3',
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: 'hp-backups',
    access_key_id: s3.accessKeyId,
    secret_access_key: s3.secretAccessKey,
    force_path_style: true,
    prefix: 'hostplane/',
  });

  it('stores a config with its secret encrypted and never shows the secret', async () => {
    assert.equal((await call('/v1/backup-config')).status, 404, 'no active config yet');
    const bad = await call('/v1/backup-config', {
      method: 'POST',
      json: { ...configBody(), endpoint: 'ftp://x', bucket: 'Not_A_Bucket' },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.fields.map((f: any) => f.path).sort(), ['bucket', 'endpoint']);
    const res = await call('/v1/backup-config', { method: 'POST', json: configBody() });
    assert.equal(res.status, 201, res.text);
    config = res.body;
    assert.equal(config.secret_access_key_set, true);
    assert.equal(config.active, false);
    assert.equal('secret_access_key' in config, false);
    assert.equal((await call('/v1/backup-config', { method: 'POST', json: configBody() })).body.code, 'name_taken');

    const db = ctx.hub.app.get(DataSource);
    const rows = (await db.query(`SELECT row_to_json(c)::text AS row FROM backup_storage_configs c`)) as {
      row: string;
    }[];
    assert.equal(rows.length, 1);
    assert.ok(!rows[0]!.row.includes(s3.secretAccessKey), 'the secret is not stored in plaintext');
    assert.match(rows[0]!.row, /"secret_access_key_sealed":"v1\./);
  });

  it('routes /list and /s3-buckets are not taken for config ids, which must be UUIDs', async () => {
    const list = await call('/v1/backup-config/list');
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(
      list.body.data.map((c: any) => c.id),
      [config.id],
    );
    assert.equal((await call(`/v1/backup-config/${config.id}`)).body.name, 'local s3');
    assert.equal((await call('/v1/backup-config/not-a-uuid')).status, 400);
    assert.equal((await call(`/v1/backup-config/${randomUUID()}`)).status, 404);
    assert.equal((await call('/v1/backup-config/s3-buckets')).status, 400, 'config_id is required');
  });

  it("lists and creates buckets with the config's credentials", async () => {
    const empty = await call(`/v1/backup-config/s3-buckets?config_id=${config.id}`);
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.body.data, []);
    const created = await call('/v1/backup-config/s3-buckets', {
      method: 'POST',
      json: { config_id: config.id, bucket: 'hp-backups' },
    });
    assert.equal(created.status, 201, created.text);
    const listed = await call(`/v1/backup-config/s3-buckets?config_id=${config.id}`);
    assert.deepEqual(
      listed.body.data.map((b: any) => b.name),
      ['hp-backups'],
    );
    const bad = await call('/v1/backup-config/s3-buckets', {
      method: 'POST',
      json: { config_id: config.id, bucket: 'x' },
    });
    assert.equal(bad.status, 400);
  });

  it('activates only a config whose bucket is reachable, one per organization', async () => {
    // s3rver checks the access key id but not SigV4 signatures, so the wrong credential is the key id.
    const wrong = await call('/v1/backup-config', {
      method: 'POST',
      json: { ...configBody(), name: 'wrong key', access_key_id: 'AKIANOSUCHKEY' },
    });
    assert.equal(wrong.status, 201, wrong.text);
    const refused = await call(`/v1/backup-config/${wrong.body.id}/activate`, { method: 'POST' });
    assert.equal(refused.status, 422, refused.text);
    assert.equal(refused.body.code, 'storage_unreachable');
    assert.equal((await call('/v1/backup-config')).status, 404, 'still none active');
    const buckets = await call(`/v1/backup-config/s3-buckets?config_id=${wrong.body.id}`);
    assert.equal(buckets.status, 502, 'the provider refuses the wrong key');
    assert.equal(buckets.body.code, 'storage_error');
    assert.match(buckets.body.error, /access key id is not known to the storage \(HTTP 403\)/);
    assert.doesNotMatch(
      buckets.body.error,
      /InvalidAccessKeyId|<Code>|<Message>/,
      'the remote answer is summarised, not echoed',
    );

    const activated = await call(`/v1/backup-config/${config.id}/activate`, { method: 'POST' });
    assert.equal(activated.status, 200, activated.text);
    assert.equal(activated.body.active, true);
    assert.equal((await call('/v1/backup-config')).body.id, config.id);
    assert.equal((await call(`/v1/backup-config/${wrong.body.id}`, { method: 'DELETE' })).status, 204);
  });

  it('a new backup is archived on the node, streamed to the bucket, checked, and the node copy removed', async () => {
    const res = await call(`/v1/instances/${instance.id}/backups`, { method: 'POST', json: { name: 'to s3' } });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.backup.storage, 's3');
    const op = await waitForOperation(owner, res.body.id, 60_000);
    assert.equal(op.status, 'succeeded', JSON.stringify(op));
    assert.match(op.progress.message ?? '', /uploading to S3/);
    backup = (await call(`/v1/instances/${instance.id}/backups/${res.body.backup.id}`)).body;
    assert.equal(backup.status, 'ready');
    assert.equal(backup.object_key, `hostplane/${owner.defaultOrg}/${instance.id}/${backup.id}.tar.gz`);
    assert.ok(backup.size_bytes > ROOT_MB * 1024 * 1024, 'random data does not compress');

    const head = await s3.client().send(new HeadObjectCommand({ Bucket: 'hp-backups', Key: backup.object_key }));
    assert.equal(head.ContentLength, backup.size_bytes);
    await waitFor(
      'node copy removed',
      async () => (existsSync(agentArchive(node, instance.id, backup.id)) ? undefined : true),
      10_000,
    );
    const statuses = await waitFor(
      'status events',
      async () => {
        const seen = (await backupEvents(ctx.hub, 'backup.status', backup.id)).map((e) => e.status);
        return seen.length >= 3 ? seen : undefined;
      },
      5000,
    );
    assert.deepEqual(statuses, ['creating', 'uploading', 'ready']);
    const uploaded = (await backupEvents(ctx.hub, 'backup.progress', backup.id)).map((e) => e.bytes as number);
    assert.ok(
      uploaded.length >= 1 && uploaded.at(-1) === backup.size_bytes,
      `upload progress events: ${uploaded.join(', ')}`,
    );

    const archiveJob = (
      await call(
        `/v1/operations?kind=instance.backup.create&resource=${encodeURIComponent(`/v1/instances/${instance.id}/backups/${backup.id}`)}`,
      )
    ).body.data[0];
    const mb = backup.size_bytes / 1024 / 1024;
    const archiveS = (Date.parse(archiveJob.finished_at) - Date.parse(archiveJob.started_at)) / 1000;
    const uploadS = (Date.parse(op.finished_at) - Date.parse(archiveJob.finished_at)) / 1000;
    console.log(
      `# backup of ${mb.toFixed(1)} MB: archive on the node ${archiveS.toFixed(2)} s (${(mb / archiveS).toFixed(1)} MB/s), node → hub → S3 ${uploadS.toFixed(2)} s (${(mb / uploadS).toFixed(1)} MB/s)`,
    );
  });

  it('downloads from the bucket the archive that was made', async () => {
    const res = await download(owner, `/v1/instances/${instance.id}/backups/${backup.id}/download`);
    assert.equal(res.status, 200, res.body.subarray(0, 300).toString());
    assert.equal(res.body.length, backup.size_bytes);
    assert.equal(sha256(res.body), backup.sha256);
    assert.equal(res.headers.get('content-length'), String(backup.size_bytes));
    assert.equal(res.headers.get('x-checksum-sha256'), backup.sha256);
  });

  it('restores from the bucket into the stopped instance and removes the staged copy', async () => {
    writeFiles(root, { 'world.txt': 'changed\n', 'later.txt': 'x' });
    const res = await call(`/v1/instances/${instance.id}/backups/${backup.id}/restore`, { method: 'POST' });
    assert.equal(res.status, 202, res.text);
    const op = await waitForOperation(owner, res.body.id, 60_000);
    assert.equal(op.status, 'succeeded', JSON.stringify(op));
    assert.equal(readFileSync(join(root, 'world.txt'), 'utf8'), 'original world\n');
    assert.ok(!existsSync(join(root, 'later.txt')));
    const dir = join(node.stateDir, 'backups', instance.id);
    await waitFor('staged copy removed', async () => (readdirSync(dir).length === 0 ? true : undefined), 10_000);
  });

  it("deleting an instance removes its backups' objects from the bucket", async () => {
    const doomed = await newInstance(owner, await newWorkload(owner, 'doomed-workload'), 'doomed', false);
    writeFiles(instanceRoot(node, doomed.id), { 'a.txt': 'short-lived\n' });
    const res = await call(`/v1/instances/${doomed.id}/backups`, { method: 'POST', json: {} });
    assert.equal((await waitForOperation(owner, res.body.id)).status, 'succeeded');
    const key = (await call(`/v1/instances/${doomed.id}/backups/${res.body.backup.id}`)).body.object_key;
    await s3.client().send(new HeadObjectCommand({ Bucket: 'hp-backups', Key: key }));
    const del = await call(`/v1/instances/${doomed.id}`, { method: 'DELETE' });
    assert.equal((await waitForOperation(owner, del.body.id)).status, 'succeeded');
    await waitFor('instance gone', async () =>
      (await call(`/v1/instances/${doomed.id}`)).status === 404 ? true : undefined,
    );
    await ctx.hub.app.get(BackupSweeper).sweep();
    await assert.rejects(
      s3.client().send(new HeadObjectCommand({ Bucket: 'hp-backups', Key: key })),
      (err: Error) => err.name === 'NotFound',
    );
    const rows = (await ctx.hub.app
      .get(DataSource)
      .query('SELECT id FROM backups WHERE instance_id = $1', [doomed.id])) as unknown[];
    assert.equal(rows.length, 0);
  });

  it('another organization finds none of it', async () => {
    const other = (await ctx.newOrg()).owner;
    const routes: [string, string, unknown?][] = [
      ['GET', '/v1/backup-config'],
      ['GET', `/v1/backup-config/${config.id}`],
      ['PUT', `/v1/backup-config/${config.id}`, { name: 'mine now' }],
      ['DELETE', `/v1/backup-config/${config.id}`],
      ['POST', `/v1/backup-config/${config.id}/activate`],
      ['POST', `/v1/backup-config/${config.id}/deactivate`],
      ['GET', `/v1/backup-config/s3-buckets?config_id=${config.id}`],
      ['POST', '/v1/backup-config/s3-buckets', { config_id: config.id, bucket: 'stolen-bucket' }],
      ['GET', `/v1/instances/${instance.id}/backups/${backup.id}`],
      ['GET', `/v1/instances/${instance.id}/backups/${backup.id}/download`],
      ['DELETE', `/v1/instances/${instance.id}/backups/${backup.id}`],
    ];
    for (const [method, path, json] of routes) {
      const res = await call(path, { method, ...(json ? { json } : {}) }, other);
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
    }
    assert.equal((await call('/v1/backup-config/list', {}, other)).body.total, 0);
    assert.equal((await call(`/v1/backup-config/${config.id}`)).body.name, 'local s3', 'unchanged');
  });

  it('a config holding backups cannot be deleted; deleting the backup removes its object', async () => {
    const inUse = await call(`/v1/backup-config/${config.id}`, { method: 'DELETE' });
    assert.equal(inUse.status, 409);
    assert.equal(inUse.body.code, 'config_in_use');
    const del = await call(`/v1/instances/${instance.id}/backups/${backup.id}`, { method: 'DELETE' });
    assert.equal(del.status, 204, del.text);
    await assert.rejects(
      s3.client().send(new HeadObjectCommand({ Bucket: 'hp-backups', Key: backup.object_key })),
      (err: Error) => err.name === 'NotFound',
    );
    assert.equal((await call(`/v1/instances/${instance.id}/backups/${backup.id}`)).status, 404);

    const off = await call(`/v1/backup-config/${config.id}/deactivate`, { method: 'POST' });
    assert.equal(off.body.active, false);
    assert.equal((await call('/v1/backup-config')).status, 404);
    assert.equal((await call(`/v1/backup-config/${config.id}`, { method: 'DELETE' })).status, 204);
  });

  it('never answered, logged or audited the secret', async () => {
    for (const res of answers) assert.ok(!res.text.includes(s3.secretAccessKey), `secret in ${res.text.slice(0, 200)}`);
    assert.ok(!ctx.hub.logs.text().includes(s3.secretAccessKey), 'secret in the hub log');
    const db = ctx.hub.app.get(DataSource);
    const [{ n }] = (await db.query(
      `SELECT count(*)::int AS n FROM audit_logs a WHERE row_to_json(a)::text LIKE '%' || $1 || '%'`,
      [s3.secretAccessKey],
    )) as [{ n: number }];
    assert.equal(n, 0, 'secret in the audit log');
    const audited = await ctx.auditEntries({ action: 'backup_config.create' });
    assert.ok(audited.length >= 1, 'config changes are audited');
  });
});

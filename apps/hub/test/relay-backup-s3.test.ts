import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type TestNode, waitForOperation } from './support/agents';
import {
  instanceRoot,
  newInstance,
  newWorkload,
  onlineNode,
  sha256,
  startS3,
  type TestS3,
  writeFiles,
} from './support/backups';
import { Replicas } from './support/replicas';

/**
 * A restore from S3 streams the object into the node (`backup.write`) from the replica that runs
 * it: here A, while the agent is connected to B.
 */
describe('restore from S3 through a replica that does not hold the agent', () => {
  let s3: TestS3;
  let r: Replicas;
  let node: TestNode;

  before(async () => {
    s3 = await startS3();
    // The loopback S3 server is an address the outbound guard refuses unless allow-listed.
    r = await Replicas.start(2, { HOSTPLANE_OUTBOUND_ALLOW: '127.0.0.1' });
    node = await onlineNode(r.via(1), r.hubs[1]!.url);
  });
  after(async () => {
    await node?.stop();
    await r?.close();
    await s3?.close();
  });

  it('a backup in the bucket is restored into the stopped instance, requested through A', async () => {
    const onA = r.via(0);
    const config = await onA.request('/v1/backup-config', {
      method: 'POST',
      json: {
        name: 'local s3',
        endpoint: s3.endpoint,
        region: s3.region,
        bucket: 'hp-relay',
        access_key_id: s3.accessKeyId,
        secret_access_key: s3.secretAccessKey,
        force_path_style: true,
      },
    });
    assert.equal(config.status, 201, config.text);
    const bucket = await onA.request('/v1/backup-config/s3-buckets', {
      method: 'POST',
      json: { config_id: config.body.id, bucket: 'hp-relay' },
    });
    assert.equal(bucket.status, 201, bucket.text);
    const activated = await onA.request(`/v1/backup-config/${config.body.id}/activate`, { method: 'POST' });
    assert.equal(activated.status, 200, activated.text);

    const instance = await newInstance(onA, await newWorkload(onA), 'restored', false);
    const root = instanceRoot(node, instance.id);
    const blob = randomBytes(3 * 1024 * 1024);
    writeFiles(root, { 'world.txt': 'original\n', 'blob.bin': blob });
    const made = await onA.request(`/v1/instances/${instance.id}/backups`, { method: 'POST', json: {} });
    assert.equal(made.status, 202, made.text);
    assert.equal((await waitForOperation(onA, made.body.id, 60_000)).status, 'succeeded');
    const backup = (await onA.request(`/v1/instances/${instance.id}/backups/${made.body.backup.id}`)).body;
    assert.equal(backup.storage, 's3');

    writeFiles(root, { 'world.txt': 'changed\n', 'later.txt': 'x' });
    const restore = await onA.request(`/v1/instances/${instance.id}/backups/${backup.id}/restore`, { method: 'POST' });
    assert.equal(restore.status, 202, restore.text);
    const op = await waitForOperation(onA, restore.body.id, 60_000);
    assert.equal(op.status, 'succeeded', JSON.stringify(op));
    assert.equal(readFileSync(join(root, 'world.txt'), 'utf8'), 'original\n');
    assert.equal(sha256(readFileSync(join(root, 'blob.bin'))), sha256(blob));
    assert.ok(!existsSync(join(root, 'later.txt')));
  });
});

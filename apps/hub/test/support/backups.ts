import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { registerNode, waitFor, type TestNode } from './agents';
import type { Client } from './identity';
import { EventsService } from '../../src/events/events.service';
import { tempDir } from './test-env';
import type { TestHub } from './test-hub';

/** A registered, running agent whose inventory is in (the scheduler places nothing before). */
export async function onlineNode(owner: Client, hubUrl: string, env: Record<string, string> = {}): Promise<TestNode> {
  const node = await registerNode(owner, hubUrl, env);
  node.start();
  await node.waitStatus('online');
  await waitFor('inventory', async () =>
    (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
  );
  return node;
}

/** A process workload that idles until stopped (SIGTERM, 2 s grace); its root is left to the test. */
export const IDLE_WORKLOAD = {
  name: 'idle-service',
  driver: 'process',
  startup: 'echo ready; while read -r line; do echo "got: $line"; done',
  variables: [],
  resources: { cpu_cores: 0.1, memory_bytes: 64 * 1024 * 1024, disk_bytes: 0 },
  ready_pattern: '^ready$',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 2 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

export async function newWorkload(owner: Client, name = IDLE_WORKLOAD.name): Promise<string> {
  const w = await owner.request('/v1/workloads', { method: 'POST', json: { ...IDLE_WORKLOAD, name } });
  assert.equal(w.status, 201, w.text);
  return w.body.id as string;
}

/** An instance created through the API, once the node reports it `running` (start) or `stopped`. */
export async function newInstance(owner: Client, workloadId: string, name: string, start: boolean): Promise<any> {
  const created = await owner.request('/v1/instances', {
    method: 'POST',
    json: { name, workload_id: workloadId, start },
  });
  assert.equal(created.status, 202, created.text);
  const want = start ? 'running' : 'stopped';
  return waitFor(
    `instance ${name} ${want}`,
    async () => {
      const i = await owner.request(`/v1/instances/${created.body.instance.id}`);
      return i.body.state === want ? i.body : undefined;
    },
    30_000,
  );
}

/** The instance root on the agent's host (the process driver's data directory). */
export function instanceRoot(node: TestNode, instanceId: string): string {
  return join(node.stateDir, 'instances', instanceId, 'data');
}

export function agentArchive(node: TestNode, instanceId: string, backupId: string): string {
  return join(node.stateDir, 'backups', instanceId, `${backupId}.tar.gz`);
}

export function writeFiles(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256OfFile(path: string): string {
  return sha256(readFileSync(path));
}

/** Events of `type` about backup `backupId`, oldest first, read back from the hub's event stream in Redis. */
export async function backupEvents(hub: TestHub, type: string, backupId: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const e of hub.app.get(EventsService).replay('0-0'))
    if (e.type === type && e.data.backup_id === backupId) out.push(e.data);
  return out;
}

/** A binary GET with the client's credentials. */
export async function download(
  client: Client,
  path: string,
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(client.hub.url + path, {
    headers: { authorization: `Bearer ${client.accessToken}`, 'x-org-id': client.defaultOrg ?? client.personalOrgId },
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

export interface TestS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  dir: string;
  client(): S3Client;
  close(): Promise<void>;
}

/**
 * A real S3-protocol server (s3rver: objects on the filesystem, SigV4 checked) on a free port,
 * with its own random key pair, so a wrong secret is refused as at any provider.
 */
export async function startS3(): Promise<TestS3> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as new (o: Record<string, unknown>) => {
    run(): Promise<{ port: number }>;
    close(): Promise<void>;
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account') as {
    DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
  };
  const accessKeyId = `HPTEST${randomBytes(6).toString('hex').toUpperCase()}`;
  const secretAccessKey = `hp-secret-${randomBytes(18).toString('base64url')}`;
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  const dir = tempDir('hostplane-s3-');
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    region: 'us-east-1',
    accessKeyId,
    secretAccessKey,
    dir,
    client: () =>
      new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    close: () => server.close(),
  };
}

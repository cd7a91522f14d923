import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor } from './agents';
import { Client, IdentityContext } from './identity';
import { tempDir } from './test-env';

const IDLE_WORKLOAD = {
  name: 'file-host',
  driver: 'process',
  startup: 'echo ready; while true; do sleep 1; done',
  variables: [],
  resources: { cpu_cores: 0.1, memory_bytes: 64 * 1024 * 1024, disk_bytes: 0 },
  ready_pattern: '^ready$',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 1 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

/**
 * A hub, a real agent and one stopped instance (process driver) whose root the files API works
 * on; `root` is that directory on the agent's host, for planting what the API must not reach.
 */
export class FilesFixture {
  private constructor(
    readonly ctx: IdentityContext,
    readonly owner: Client,
    readonly node: TestNode,
    readonly instanceId: string,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<FilesFixture> {
    const ctx = await IdentityContext.start({ env: { ...FAST_JOBS_ENV, ...env } });
    const owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    const node = await registerNode(owner, ctx.hub.url);
    node.start();
    await node.waitStatus('online');
    await waitFor('inventory', async () =>
      (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
    const w = await owner.request('/v1/workloads', { method: 'POST', json: IDLE_WORKLOAD });
    assert.equal(w.status, 201, w.text);
    const created = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'files-1', workload_id: w.body.id, start: false },
    });
    assert.equal(created.status, 202, created.text);
    const id = created.body.instance.id as string;
    await waitFor(
      'installed',
      async () => ((await owner.request(`/v1/instances/${id}`)).body.state === 'stopped' ? true : undefined),
      30_000,
    );
    return new FilesFixture(ctx, owner, node, id);
  }

  get hubUrl(): string {
    return this.ctx.hub.url;
  }

  /** The instance root on the agent's host. */
  get root(): string {
    return join(this.node.stateDir, 'instances', this.instanceId, 'data');
  }

  /** Where the agent stages uploads of this instance. */
  get staging(): string {
    return join(this.node.stateDir, 'uploads', this.instanceId);
  }

  url(rest: string): string {
    return `/v1/instances/${this.instanceId}/files${rest}`;
  }

  /** A directory outside the root with one file, and a link `name` inside the root pointing at it. */
  plantEscape(name: string): { outside: string; secret: string } {
    const outside = tempDir('hostplane-outside-');
    const secret = join(outside, 'secret.txt');
    writeFileSync(secret, 'do not touch\n');
    mkdirSync(this.root, { recursive: true });
    symlinkSync(outside, join(this.root, name));
    return { outside, secret };
  }

  async close(): Promise<void> {
    await this.node?.stop();
    await this.ctx?.close();
  }
}

export function sha256(data: Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic bytes that are not all alike (so offsets and truncation show). */
export function patternBytes(n: number, seed = 7): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >>> 16;
  }
  return b;
}

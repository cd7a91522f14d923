import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';

const run = promisify(execFile);
/** Imported locally by scripts/services.sh (never pulled). */
const IMAGE = 'hostplane/busybox:test';
const BASE = 22_000 + Math.floor(Math.random() * 400) * 20;

/** Listens on container port 8080 and says who it is: proof of which host port reaches which instance. */
const WHOAMI = {
  name: 'whoami',
  driver: 'docker',
  image: IMAGE,
  startup: 'echo ready; while true; do echo "i am {{WHO}}" | nc -l -p 8080; done',
  variables: [
    {
      key: 'WHO',
      name: 'Who',
      default: 'nobody',
      type: 'string',
      rules: { required: true, max: 20 },
      user_editable: true,
    },
  ],
  ports: [{ name: 'web', container_port: 8080 }],
  resources: { cpu_cores: 0.05, memory_bytes: 16 * 1024 * 1024, disk_bytes: 0 },
  ready_pattern: '^ready',
  stop: { type: 'signal', value: 'SIGKILL', grace_seconds: 1 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => resolve(text.trim()));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error(`no answer on ${port}`)));
  });
}

describe('allocations on a real agent (docker driver)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  const ids: string[] = [];

  before(async () => {
    ctx = await IdentityContext.start({
      env: { ...FAST_JOBS_ENV, HOSTPLANE_AGENT_DEFAULT_ALLOCATIONS: `0.0.0.0:${BASE}-${BASE + 9}` },
    });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, { HOSTPLANE_AGENT_DOCKER_SOCKET: '/var/run/docker.sock' });
    node.start();
    await node.waitStatus('online');
    await waitFor('inventory', async () =>
      (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
  });
  after(async () => {
    for (const id of ids) await owner?.request(`/v1/instances/${id}`, { method: 'DELETE' }).catch(() => undefined);
    await waitFor(
      'containers removed',
      async () => ((await owner.request('/v1/instances')).body.total === 0 ? true : undefined),
      60_000,
    ).catch(() => undefined);
    await node?.stop();
    await ctx?.close();
  });

  it('ten instances of one workload on one node get ten distinct host ports, all run, and docker publishes exactly those', async () => {
    const w = await owner.request('/v1/workloads', { method: 'POST', json: WHOAMI });
    assert.equal(w.status, 201, w.text);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        owner.request('/v1/instances', {
          method: 'POST',
          json: { name: `who-${i}`, workload_id: w.body.id, variables: { WHO: `who-${i}` } },
        }),
      ),
    );
    const byPort = new Map<number, string>();
    for (const [i, res] of results.entries()) {
      assert.equal(res.status, 202, res.text);
      ids.push(res.body.instance.id);
      const [port] = res.body.instance.ports as {
        name: string;
        container_port: number;
        host_port: number;
        protocol: string;
      }[];
      assert.deepEqual([port!.name, port!.container_port, port!.protocol], ['web', 8080, 'tcp']);
      byPort.set(port!.host_port, `who-${i}`);
    }
    assert.equal(byPort.size, 10, 'ten distinct host ports');
    assert.ok([...byPort.keys()].every((p) => p >= BASE && p < BASE + 10));
    const refused = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'who-11', workload_id: w.body.id },
    });
    assert.equal(refused.status, 409, 'the eleventh finds no free port');

    for (const id of ids)
      await waitFor(
        `instance ${id} running`,
        async () => ((await owner.request(`/v1/instances/${id}`)).body.state === 'running' ? true : undefined),
        60_000,
      );
    for (const [port, who] of byPort) {
      assert.equal(await ask(port), `i am ${who}`, `host port ${port} reaches ${who}`);
      const { stdout } = await run('docker', [
        'inspect',
        '--format',
        '{{json .HostConfig.PortBindings}}',
        `hostplane-${ids[Number(who.slice(4))]}`,
      ]);
      assert.deepEqual(JSON.parse(stdout), { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }] });
    }
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';

/** The agent's simulated Parallels tools and sysctl (a path, not an import: the hub never imports the agent). */
const SIM_BIN = join(__dirname, '../../../agent/test/sim-tools/bin');
const GIB = 2 ** 30;

interface Host {
  key: string;
  /** What the simulated Mac is (`prl-host.json`): hardware and licence terms. */
  mac: Record<string, unknown>;
  labels: Record<string, string>;
  /** prlctl calls that set up its VMs before the agent starts. */
  setup: string[][];
  state: string;
  node?: TestNode;
}

const TEMPLATES = [
  ['create', 'ubuntu-base', '-d', 'ubuntu'],
  ['clone', 'ubuntu-base', '--name', 'ubuntu-tpl', '--template'],
  ['create', 'macos-base', '-d', 'macosx'],
  ['clone', 'macos-base', '--name', 'macos-tpl', '--template'],
  ['delete', 'macos-base'],
];

describe('orchestrator views: resources, placement and create "somewhere" over several simulated Macs', () => {
  let ctx: IdentityContext;
  let owner: Client;
  const root = mkdtempSync(join(tmpdir(), 'hp-orch-'));
  const hosts: Host[] = [
    {
      // Apple silicon at its macOS guest limit (2, from its Pro licence): two macOS guests registered.
      key: 'a',
      mac: { hostname: 'mac-a.local', machine: 'arm64', logicalCpus: 12, memoryBytes: 32 * GIB, macosVmsLimit: 2 },
      labels: { pool: 'ci' },
      setup: [
        ...TEMPLATES,
        ['create', 'mac-1', '-d', 'macosx'],
        ['create', 'mac-2', '-d', 'macosx'],
        ['create', 'debian-only-on-a', '-d', 'debian'],
      ],
      state: '',
    },
    {
      // Apple silicon, Business licence allowing 3 macOS guests, more memory than a.
      key: 'b',
      mac: {
        hostname: 'mac-b.local',
        machine: 'arm64',
        logicalCpus: 8,
        memoryBytes: 64 * GIB,
        edition: 'Business Edition',
        macosVmsLimit: 3,
      },
      labels: { pool: 'ci' },
      setup: [...TEMPLATES],
      state: '',
    },
    {
      key: 'intel',
      mac: { hostname: 'mac-intel.local', machine: 'x86_64', cpuBrand: 'Intel(R) Core(TM) i7-8700B', logicalCpus: 12 },
      labels: { pool: 'ci' },
      setup: [...TEMPLATES],
      state: '',
    },
    {
      // The most memory of all, but cordoned (the seed's "disabled" host) during the test.
      key: 'cordoned',
      mac: { hostname: 'mac-big.local', machine: 'arm64', logicalCpus: 24, memoryBytes: 192 * GIB, macosVmsLimit: 2 },
      labels: { pool: 'ci' },
      setup: [...TEMPLATES],
      state: '',
    },
  ];
  const host = (key: string) => hosts.find((h) => h.key === key)!;
  const idOf = (key: string) => host(key).node!.id;

  async function resources(): Promise<any> {
    const res = await owner.request('/v1/machines/resources');
    assert.equal(res.status, 200, res.text);
    return res.body;
  }
  async function place(body: Record<string, unknown>): Promise<any> {
    const res = await owner.request('/v1/machines/placement', { method: 'POST', json: body });
    assert.equal(res.status, 200, res.text);
    return res.body;
  }
  const reasonsOf = (placement: any, key: string): string[] =>
    placement.rejected.find((r: { node_id: string }) => r.node_id === idOf(key))?.reasons ?? [];

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    for (const h of hosts) {
      h.state = join(root, h.key);
      mkdirSync(h.state, { recursive: true });
      writeFileSync(join(h.state, 'prl-host.json'), JSON.stringify(h.mac));
      const env = { ...process.env, HOSTPLANE_SIM_STATE: h.state };
      for (const argv of h.setup) execFileSync(join(SIM_BIN, 'prlctl'), argv, { env });
      h.node = await registerNode(
        owner,
        ctx.hub.url,
        {
          PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          HOSTPLANE_SIM_STATE: h.state,
          HOSTPLANE_AGENT_PARALLELS_ENABLED: 'on',
          HOSTPLANE_AGENT_PARALLELS_SERVICE_LOG_FILE: join(h.state, 'parallels.log'),
        },
        h.labels,
      );
      h.node.start();
    }
    for (const h of hosts) await h.node!.waitStatus('online', 30_000);
    await waitFor(
      'every host’s Parallels inventory',
      async () => ((await resources()).hosts_count === hosts.length ? true : undefined),
      60_000,
      250,
    );
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.node?.stop()));
    await ctx?.close();
  });

  it('reports each host’s hardware and licence terms as read from the host, and totals that add up', async () => {
    const r = await resources();
    const a = r.hosts.find((h: { node_id: string }) => h.node_id === idOf('a'));
    const b = r.hosts.find((h: { node_id: string }) => h.node_id === idOf('b'));
    const intel = r.hosts.find((h: { node_id: string }) => h.node_id === idOf('intel'));
    assert.deepEqual([a.architecture, a.total.cpus, a.total.memory_bytes], ['arm64', 12, 32 * GIB]);
    assert.deepEqual([b.total.cpus, b.total.memory_bytes], [8, 64 * GIB]);
    assert.equal(intel.architecture, 'x86_64');
    assert.deepEqual(
      [a.license.edition, a.license.macos_vm_limit, a.license.macos_vm_limit_source],
      ['Pro Edition', 2, 'license'],
    );
    assert.deepEqual([b.license.edition, b.macos_vm_limit], ['Business Edition', 3]);
    // a: ubuntu-base, ubuntu-tpl (template), macos-tpl (template), mac-1, mac-2, debian-only-on-a; all stopped.
    assert.deepEqual(a.machines, { total: 6, templates: 2, by_state: { stopped: 6 }, macos: 2 });
    assert.deepEqual(a.used.cpus, 0);
    assert.deepEqual(a.reserved, { cpus: 8, memory_bytes: 4 * 2 * GIB, disk_bytes: 4 * 64 * GIB });
    assert.deepEqual(a.free.cpus, 12);
    for (const field of ['total', 'used', 'reserved', 'free'] as const)
      for (const unit of ['cpus', 'memory_bytes', 'disk_bytes'] as const)
        assert.equal(
          r[field][unit],
          r.hosts.reduce((sum: number, h: any) => sum + h[field][unit], 0),
          `${field}.${unit} is the sum over hosts`,
        );
    assert.equal(r.machines.total, 6 + 3 + 3 + 3);
    assert.equal(r.machines.by_state.stopped, r.machines.total);

    const one = await owner.request(`/v1/nodes/${idOf('a')}/machines/resources`);
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.body.reserved, a.reserved);
  });

  it('counts a running VM as used, and the host’s free CPUs and memory drop by its size', async () => {
    const started = await owner.request(`/v1/nodes/${idOf('a')}/machines/ubuntu-base/start`, { method: 'POST' });
    assert.equal(started.status, 202, started.text);
    assert.equal((await waitForOperation(owner, started.body.id, 60_000)).status, 'succeeded');
    const a = await waitFor(
      'the inventory showing the running VM',
      async () => {
        const r = await owner.request(`/v1/nodes/${idOf('a')}/machines/resources`);
        return r.body.used.cpus === 2 ? r.body : undefined;
      },
      30_000,
      200,
    );
    assert.deepEqual([a.used.memory_bytes, a.free.cpus, a.free.memory_bytes], [2 * GIB, 10, 30 * GIB]);
    assert.deepEqual(a.machines.by_state, { stopped: 5, running: 1 });
    const stopped = await owner.request(`/v1/nodes/${idOf('a')}/machines/ubuntu-base/stop`, {
      method: 'POST',
      json: { kill: true },
    });
    assert.equal((await waitForOperation(owner, stopped.body.id, 60_000)).status, 'succeeded');
  });

  it('prefers the host that has the source; skips one without it, naming why', async () => {
    const p = await place({ source: { vm: 'debian-only-on-a' }, cpus: 2, memory_mb: 2048 });
    assert.equal(p.chosen?.node_id, idOf('a'), JSON.stringify(p));
    assert.equal(p.chosen.source_cached, true);
    assert.ok(reasonsOf(p, 'b').includes('source debian-only-on-a is not on this host'), JSON.stringify(p));
  });

  it('skips a host at its licence’s macOS guest limit, and one cordoned, and one of another architecture', async () => {
    const cordon = await owner.request(`/v1/nodes/${idOf('cordoned')}/cordon`, { method: 'POST' });
    assert.equal(cordon.status, 200, cordon.text);
    const p = await place({ source: { vm: 'macos-tpl' }, cpus: 4, memory_mb: 8192, architecture: 'arm64' });
    assert.equal(p.chosen?.node_id, idOf('b'), JSON.stringify(p));
    assert.deepEqual(reasonsOf(p, 'a'), ['macOS guests at the licence limit (2 of 2)']);
    assert.deepEqual(reasonsOf(p, 'cordoned'), ['cordoned (disabled for new machines)']);
    assert.deepEqual(reasonsOf(p, 'intel'), ['architecture x86_64, arm64 asked']);
    // The same VM with a non-macOS OS is not limited: a fits (b has more free memory, so b is still first).
    const linux = await place({ source: { vm: 'ubuntu-tpl' }, cpus: 4, memory_mb: 8192, architecture: 'aarch64' });
    assert.deepEqual(reasonsOf(linux, 'a'), []);
    // Enabling the host again (uncordon) makes it the first choice: it has the most free memory.
    assert.equal((await owner.request(`/v1/nodes/${idOf('cordoned')}/uncordon`, { method: 'POST' })).status, 200);
    const again = await place({ source: { vm: 'ubuntu-tpl' }, cpus: 4, memory_mb: 8192 });
    assert.equal(again.chosen?.node_id, idOf('cordoned'));
  });

  it('creates a VM somewhere: placed on the only x86_64 host, cloned and sized there, then counted as reserved', async () => {
    const before = (await owner.request(`/v1/nodes/${idOf('intel')}/machines/resources`)).body;
    const res = await owner.request('/v1/machines', {
      method: 'POST',
      json: {
        name: 'ci-intel-1',
        source: { vm: 'ubuntu-tpl' },
        linked: true,
        cpus: 4,
        memory_mb: 4096,
        // Grown from the template's 64 GiB: the host's VM home volume must have 65 GiB free.
        disk_mb: 66560,
        architecture: 'x86_64',
        tags: { pool: 'ci' },
      },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.headers.get('location'), `/v1/operations/${res.body.id}`);
    assert.equal(res.body.placement.node_id, idOf('intel'));
    const done = await waitForOperation(owner, res.body.id, 60_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.deepEqual(
      [done.result.data.name, done.result.data.cpus, done.result.data.memory_bytes, done.result.data.disk_bytes],
      ['ci-intel-1', 4, 4 * GIB, 65 * GIB],
    );
    const vm = await owner.request(`/v1/nodes/${idOf('intel')}/machines/ci-intel-1`);
    assert.equal(vm.status, 200, 'the VM is on the chosen host');
    const after = await waitFor(
      'the new VM in the inventory',
      async () => {
        const r = (await owner.request(`/v1/nodes/${idOf('intel')}/machines/resources`)).body;
        return r.machines.total === before.machines.total + 1 ? r : undefined;
      },
      30_000,
      200,
    );
    assert.equal(after.reserved.cpus, before.reserved.cpus + 4);
    assert.equal(after.reserved.memory_bytes, before.reserved.memory_bytes + 4 * GIB);
  });

  it('answers 409 no_node_fits naming every host’s reasons when no host fits, and 400 for bad input; nothing is created', async () => {
    const res = await owner.request('/v1/machines', {
      method: 'POST',
      json: { name: 'too-big', source: { vm: 'ubuntu-tpl' }, cpus: 64, memory_mb: 4096, tags: { pool: 'gpu' } },
    });
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.code, 'no_node_fits');
    assert.equal(res.body.rejected.length, hosts.length);
    const b = res.body.rejected.find((r: { node_id: string }) => r.node_id === idOf('b'));
    assert.deepEqual(b.reasons, [
      'tag pool=gpu missing (has pool=ci)',
      'licence allows at most 32 vCPUs per VM',
      'needs 64 CPUs, 8 free',
    ]);
    const again = await owner.request('/v1/machines', {
      method: 'POST',
      json: { name: 'ci-intel-1', source: { vm: 'ubuntu-tpl' }, cpus: 1, memory_mb: 1024, architecture: 'x86_64' },
    });
    assert.equal(again.status, 409, again.text);
    const intel = again.body.rejected.find((r: { node_id: string }) => r.node_id === idOf('intel'));
    assert.deepEqual(intel.reasons, ['a VM named ci-intel-1 is already on this host']);
    const disk = await owner.request('/v1/machines', {
      method: 'POST',
      json: { name: 'huge-disk', source: { vm: 'ubuntu-tpl' }, cpus: 1, memory_mb: 1024, disk_mb: 64 * 1_048_576 },
    });
    assert.equal(disk.status, 409, disk.text);
    assert.match(disk.body.rejected[0].reasons.join(), /needs 67108864 MiB of disk, \d+ MiB free/);

    for (const [json, code] of [
      [{ name: 'x; rm -rf /', source: { vm: 'ubuntu-tpl' }, cpus: 1, memory_mb: 1024 }, 'invalid_argument'],
      [{ name: 'ok', source: { vm: '--help' }, cpus: 1, memory_mb: 1024 }, 'invalid_argument'],
      [{ name: 'ok', source: { catalog: 'ubuntu-24.04' }, cpus: 1, memory_mb: 1024 }, 'catalog_unavailable'],
      [{ name: 'ok', source: { vm: 'ubuntu-tpl' }, cpus: 0, memory_mb: 1024 }, 'validation_failed'],
      [
        { name: 'ok', source: { vm: 'ubuntu-tpl' }, cpus: 1, memory_mb: 1024, architecture: 'sparc' },
        'validation_failed',
      ],
    ] as const) {
      const bad = await owner.request('/v1/machines', { method: 'POST', json });
      assert.equal(bad.status, 400, `${JSON.stringify(json)}: ${bad.text}`);
      assert.equal(bad.body.code, code, bad.text);
    }
    const clones = hosts.flatMap((h) =>
      readFileSync(join(h.state, 'calls.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { tool: string; argv: string[] })
        .filter((c) => c.tool === 'prlctl' && c.argv[0] === 'clone' && !c.argv.includes('--template')),
    );
    assert.deepEqual(
      clones.map((c) => c.argv[c.argv.indexOf('--name') + 1]),
      ['ci-intel-1'],
      'the only clone is the one placed',
    );
  });

  it('reads a host’s hardware and the tail of its Parallels service log through the agent', async () => {
    const hw = await owner.request(`/v1/nodes/${idOf('intel')}/machines/host/hardware`);
    assert.equal(hw.status, 200, hw.text);
    assert.deepEqual(
      [hw.body.data.arch, hw.body.data.cpu_model, hw.body.data.cpus, hw.body.data.hostname],
      ['x86_64', 'Intel(R) Core(TM) i7-8700B', 12, 'mac-intel.local'],
    );
    assert.ok(hw.body.data.disk_total_bytes > 0 && hw.body.data.disk_free_bytes > 0);
    assert.deepEqual(
      hw.body.data.devices.map((d: { type: string }) => d.type),
      ['hdd', 'hdd-part', 'net'],
    );
    const logs = await owner.request(`/v1/nodes/${idOf('intel')}/machines/host/logs?lines=3`);
    assert.equal(logs.status, 200, logs.text);
    assert.equal(logs.body.data.lines.length, 3);
    assert.match(logs.body.data.lines[2], /^\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} I \/prl_disp_service:\d+:\d+\/ prl/);
    assert.equal(logs.body.data.truncated, true);
    for (const q of ['lines=0', 'lines=5001', 'lines=abc'])
      assert.equal((await owner.request(`/v1/nodes/${idOf('intel')}/machines/host/logs?${q}`)).status, 400, q);
  });

  it('shows another organization none of these hosts, places nothing for it, and refuses a member', async () => {
    const other = await ctx.newOrg();
    const theirs = await other.owner.request('/v1/machines/resources');
    assert.equal(theirs.status, 200, theirs.text);
    assert.deepEqual([theirs.body.hosts_count, theirs.body.machines.total, theirs.body.total.cpus], [0, 0, 0]);
    const create = await other.owner.request('/v1/machines', {
      method: 'POST',
      json: { name: 'theirs', source: { vm: 'ubuntu-tpl' }, cpus: 1, memory_mb: 1024 },
    });
    assert.equal(create.status, 409, create.text);
    assert.deepEqual(create.body.rejected, []);
    for (const path of ['resources', 'host/hardware', 'host/logs'])
      assert.equal((await other.owner.request(`/v1/nodes/${idOf('a')}/machines/${path}`)).status, 404, path);
    const member = await ctx.addMember({ id: owner.defaultOrg!, owner }, 'member');
    assert.equal((await member.request('/v1/machines/resources')).status, 403);
    const refused = await member.request('/v1/machines', {
      method: 'POST',
      json: { name: 'm', source: { vm: 'ubuntu-tpl' }, cpus: 1, memory_mb: 1024 },
    });
    assert.equal(refused.status, 403);
  });
});

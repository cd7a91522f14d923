import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bindPorts, type HeldAllocation, portSlots, remapPorts } from '../src/allocations/port-plan';
import { renderInstanceSpec } from '../src/instances/instance-spec';
import { importEgg } from '../src/workloads/egg-import';
import { resolveVariables } from '../src/workloads/resolve-variables';
import { workloadSpec } from '../src/workloads/workload.schemas';

const EGGS_DIR = join(__dirname, '../../test/fixtures/eggs');
const rust = importEgg(JSON.parse(readFileSync(join(EGGS_DIR, 'panel__egg-rust__PTDL_v2.json'), 'utf8'))).spec;
const held = (port: number, portName: string, isPrimary = false, ip = '0.0.0.0'): HeldAllocation => ({
  id: `a${port}`,
  ip,
  port,
  portName,
  isPrimary,
});
const ID = '7b0e7c1e-3f7a-4c55-9d7e-0b5c2f1a9e10';

describe('port plan: what an instance takes from the pool and how it is published', () => {
  it("an egg gets a primary plus one allocation per *_PORT variable left unset; a given one is the user's", () => {
    assert.deepEqual(
      portSlots(rust).map((s) => [s.name, s.variable]),
      [
        ['default', null],
        ['query-port', 'QUERY_PORT'],
        ['rcon-port', 'RCON_PORT'],
        ['app-port', 'APP_PORT'],
      ],
    );
    assert.deepEqual(
      portSlots(rust, { RCON_PORT: 28016 }).map((s) => s.name),
      ['default', 'query-port', 'app-port'],
    );
  });

  it('docker maps each declared port from its allocation to the container port; a process listens on the allocation', () => {
    const spec = workloadSpec.parse({
      name: 'w',
      driver: 'docker',
      image: 'busybox',
      startup: 'x {{SERVER_PORT}}',
      ports: [
        { name: 'game', container_port: 7777 },
        { name: 'fixed', container_port: 80, host_port: 8080 },
      ],
      resources: { cpu_cores: 1, memory_bytes: 64 * 1024 * 1024, disk_bytes: 0 },
    });
    const slots = portSlots(spec);
    assert.deepEqual(
      slots.map((s) => s.name),
      ['game'],
      'a fixed host_port takes nothing from the pool',
    );
    const docker = bindPorts(spec, slots, [held(30005, 'game', true, '10.0.0.2')], 'docker');
    assert.deepEqual(docker.ports, [
      { name: 'fixed', container_port: 80, host_port: 8080, protocol: 'tcp' },
      { name: 'game', container_port: 7777, host_port: 30005, protocol: 'tcp', host_ip: '10.0.0.2' },
    ]);
    assert.equal(resolveVariables(spec, {}, docker.context).env.SERVER_PORT, '7777', 'inside the container');
    const proc = bindPorts({ ...spec, driver: 'process' }, slots, [held(30005, 'game', true, '10.0.0.2')], 'process');
    assert.equal(resolveVariables(spec, {}, proc.context).env.SERVER_PORT, '30005');
    assert.equal(proc.context.ip, '10.0.0.2');
  });

  it('a migration rewrites host ports, SERVER_PORT, port variables and config values to the target allocations', () => {
    const slots = portSlots(rust);
    const from = [
      held(30000, 'default', true),
      held(30001, 'query-port'),
      held(30002, 'rcon-port'),
      held(30003, 'app-port'),
    ];
    const b = bindPorts(rust, slots, from, 'docker');
    const resolved = resolveVariables(rust, { RCON_PASS: 'x' }, { ...b.context, assigned: b.variables });
    const spec = renderInstanceSpec({ instanceId: ID, workload: rust, resolved, ports: b.ports });
    const to = [
      held(31000, 'default', true),
      held(31001, 'query-port'),
      held(31002, 'rcon-port'),
      held(31003, 'app-port'),
    ];
    const moved = remapPorts(
      spec,
      resolved.values,
      from.map((f, i) => ({ from: f, to: to[i]! })),
    );
    assert.deepEqual([...new Set(moved.spec.ports.map((p) => p.host_port))], [31000, 31001, 31002, 31003]);
    assert.ok(moved.spec.ports.every((p) => p.container_port === p.host_port));
    assert.equal(moved.spec.env.SERVER_PORT, '31000');
    assert.deepEqual(
      [moved.variables.QUERY_PORT, moved.variables.RCON_PORT, moved.variables.APP_PORT],
      ['31001', '31002', '31003'],
    );
    assert.equal(moved.variables.WORLD_SIZE, '3000', 'other numbers are left alone');
  });
});

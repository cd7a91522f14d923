import { checkParams, type ParamSpec } from '@hostplane/protocol';
import { AgentError } from '../errors/agent-error';
import { PrlHost } from './prl-host';
import { hostHardware, licenseOf, serviceLogTail } from './prl-host-views';
import { snapshotTree } from './prl-parsers';

/** One machine operation: its parameters, whether it changes the host, and what it asks of prlctl. */
interface MachineOperation {
  params: ParamSpec;
  write: boolean;
  // checkParams has checked each value against this operation's own params.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  run(host: PrlHost, p: Record<string, any>): Promise<unknown>;
}

/** Output kept in an exec result (the tunnel's messages stay well below 1 MB). */
const EXEC_OUTPUT_BYTES = 256 * 1024;
const ALL_EXIT_CODES = Array.from({ length: 255 }, (_, i) => i + 1);

export class MachineNotFound extends AgentError {
  constructor(vm: string) {
    super('machine_not_found', `no VM "${vm.slice(0, 100)}" on this host`);
  }
}

async function found(host: PrlHost, vm: string) {
  const machine = await host.machine(vm);
  if (!machine) throw new MachineNotFound(vm);
  return machine;
}

/** A lifecycle verb (`prlctl start|suspend|… <vm>`), answering the VM as it is afterwards. */
function verb(name: string): MachineOperation {
  return {
    params: { vm: 'vm' },
    write: true,
    run: async (host, p) => {
      await found(host, p.vm);
      await host.prlctl([name, p.vm]);
      return found(host, p.vm);
    },
  };
}

function clip(text: string): { text: string; truncated: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= EXEC_OUTPUT_BYTES
    ? { text, truncated: false }
    : { text: bytes.subarray(bytes.length - EXEC_OUTPUT_BYTES).toString('utf8'), truncated: true };
}

/**
 * The Parallels Desktop VMs of a macOS host by operation name (`machines.list`,
 * `machines.snapshots.create`, …), as the illumos resources have theirs: one table, parameters
 * checked before the first command, every command through the one exec layer.
 */
export const MACHINE_OPERATIONS: Record<string, MachineOperation> = {
  'machines.list': { params: {}, write: false, run: (host) => host.machines() },
  'machines.get': { params: { vm: 'vm' }, write: false, run: (host, p) => found(host, p.vm) },
  'machines.status': {
    params: { vm: 'vm' },
    write: false,
    run: async (host, p) => {
      const m = await found(host, p.vm);
      return { id: m.id, name: m.name, state: m.state, ip_addresses: m.network.ip_addresses };
    },
  },
  'machines.host': {
    params: {},
    write: false,
    run: async (host) => ({ info: await host.serverInfo(), users: await host.users() }),
  },
  'machines.host.hardware': {
    params: {},
    write: false,
    run: async (host) => {
      const info = await host.serverInfo();
      return {
        hostname: info.hostname,
        license: licenseOf(info, host.macosVmLimit),
        ...(await hostHardware(host, info)),
      };
    },
  },
  'machines.host.logs': {
    params: { lines: 'lines?' },
    write: false,
    run: (host, p) => serviceLogTail(host.serviceLogFile, p.lines ?? 200),
  },
  'machines.start': verb('start'),
  'machines.suspend': verb('suspend'),
  'machines.resume': verb('resume'),
  'machines.pause': verb('pause'),
  'machines.reset': verb('reset'),
  'machines.restart': verb('restart'),
  'machines.stop': {
    params: { vm: 'vm', kill: 'bool?', drop_state: 'bool?' },
    write: true,
    run: async (host, p) => {
      await found(host, p.vm);
      await host.stop(p.vm, p.drop_state ? 'drop-state' : p.kill ? 'kill' : 'acpi');
      return found(host, p.vm);
    },
  },
  'machines.rename': {
    params: { vm: 'vm', name: 'vmname' },
    write: true,
    run: async (host, p) => {
      const m = await found(host, p.vm);
      await host.set(m.id, ['--name', p.name]);
      return found(host, m.id);
    },
  },
  'machines.set': {
    params: { vm: 'vm', cpus: 'cpus?', memory_mb: 'memory?', description: 'text?', boot_order: 'bootorder?' },
    write: true,
    run: async (host, p) => {
      const flags: string[] = [];
      if (p.cpus !== undefined) flags.push('--cpus', String(p.cpus));
      if (p.memory_mb !== undefined) flags.push('--memsize', String(p.memory_mb));
      if (p.description !== undefined) flags.push('--description', p.description);
      if (p.boot_order !== undefined) flags.push('--device-bootorder', p.boot_order);
      if (flags.length === 0)
        throw new AgentError('invalid_argument', 'set needs at least one of cpus, memory_mb, description, boot_order');
      await found(host, p.vm);
      await host.set(p.vm, flags);
      return found(host, p.vm);
    },
  },
  'machines.clone': {
    params: { vm: 'vm', name: 'vmname', linked: 'bool?', cpus: 'cpus?', memory_mb: 'memory?', disk_mb: 'diskmb?' },
    write: true,
    run: async (host, p) => {
      await found(host, p.vm);
      await host.clone(p.vm, p.name, { linked: p.linked === true });
      // Sized before its first boot (a placed create asks for cpus, memory and disk).
      const flags: string[] = [];
      if (p.cpus !== undefined) flags.push('--cpus', String(p.cpus));
      if (p.memory_mb !== undefined) flags.push('--memsize', String(p.memory_mb));
      if (p.disk_mb !== undefined) flags.push('--device-set', 'hdd0', '--size', String(p.disk_mb));
      if (flags.length > 0) await host.set(p.name, flags);
      return found(host, p.name);
    },
  },
  'machines.register': {
    params: { path: 'path', uuid: 'uuid?', regenerate_uuid: 'bool?', force: 'bool?' },
    write: true,
    run: async (host, p) => {
      const args = ['register', p.path];
      if (p.uuid) args.push('--uuid', `{${p.uuid}}`);
      if (p.regenerate_uuid) args.push('--regenerate-src-uuid');
      if (p.force) args.push('--force');
      const before = new Set((await host.machines()).map((m) => m.id));
      await host.prlctl(args);
      return (await host.machines()).find((m) => !before.has(m.id)) ?? null;
    },
  },
  'machines.unregister': {
    params: { vm: 'vm' },
    write: true,
    run: async (host, p) => {
      const m = await found(host, p.vm);
      await host.prlctl(['unregister', m.id]);
      return { id: m.id, name: m.name, home: m.home };
    },
  },
  'machines.delete': {
    params: { vm: 'vm' },
    write: true,
    run: async (host, p) => {
      const m = await found(host, p.vm);
      await host.delete(m.id);
      return { id: m.id, name: m.name, deleted: true };
    },
  },
  'machines.exec': {
    params: { vm: 'vm', argv: 'argv' },
    write: true,
    run: async (host, p) => {
      await found(host, p.vm);
      const r = await host.exec.run(host.execArgv(p.vm, p.argv), { okExitCodes: ALL_EXIT_CODES });
      const stdout = clip(r.stdout);
      return {
        exit_code: r.exitCode,
        stdout: stdout.text,
        stderr: r.stderr,
        truncated: stdout.truncated,
      };
    },
  },
  'machines.snapshots.list': {
    params: { vm: 'vm' },
    write: false,
    run: async (host, p) => {
      await found(host, p.vm);
      const snapshots = await host.snapshots(p.vm);
      return { snapshots, tree: snapshotTree(snapshots) };
    },
  },
  'machines.snapshots.create': {
    params: { vm: 'vm', name: 'vmname', description: 'text?' },
    write: true,
    run: async (host, p) => {
      await found(host, p.vm);
      return { id: await host.createSnapshot(p.vm, p.name, p.description ?? null), name: p.name };
    },
  },
  'machines.snapshots.delete': {
    params: { vm: 'vm', snapshot: 'uuid', children: 'bool?' },
    write: true,
    run: async (host, p) => {
      await found(host, p.vm);
      await host.prlctl(['snapshot-delete', p.vm, '--id', `{${p.snapshot}}`, ...(p.children ? ['-c'] : [])]);
      return { id: p.snapshot, deleted: true };
    },
  },
  'machines.snapshots.switch': {
    params: { vm: 'vm', snapshot: 'uuid', skip_resume: 'bool?' },
    write: true,
    run: async (host, p) => {
      await found(host, p.vm);
      await host.prlctl([
        'snapshot-switch',
        p.vm,
        '--id',
        `{${p.snapshot}}`,
        ...(p.skip_resume ? ['--skip-resume'] : []),
      ]);
      return found(host, p.vm);
    },
  },
};

export function isMachineOperation(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(MACHINE_OPERATIONS, name);
}

/** Runs one machine operation, its parameters checked before any command. */
export async function runMachineOperation(host: PrlHost, name: string, params: unknown): Promise<unknown> {
  const op = MACHINE_OPERATIONS[name];
  return op.run(host, checkParams(op.params, params));
}

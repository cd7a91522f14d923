import {
  checkParams,
  HOST_OPERATION_SPECS,
  type EphemeralRecord,
  type Machine,
  type ParamSpec,
} from '@hostplane/protocol';
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
  run(host: PrlHost, p: Record<string, any>, progress: Progress): Promise<unknown>;
}

type Progress = (percent: number, message?: string) => void;
/** Installing the guest tools downloads and runs an installer in the guest. */
const TOOLS_INSTALL_TIMEOUT_MS = 30 * 60_000;

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

/** How long an ephemeral clone waits for its guest address unless told (`wait_ip_seconds`). */
const DEFAULT_WAIT_IP_SECONDS = 120;
const IP_POLL_MS = 500;

function firstIpv4(m: Machine): string | null {
  return m.network.ip_addresses.find((a) => /^\d{1,3}(\.\d{1,3}){3}$/.test(a)) ?? m.network.ip_addresses[0] ?? null;
}

/** Polls the VM's guest addresses (`prlctl list -i --json`) until one shows or `seconds` pass. */
async function waitForIp(host: PrlHost, id: string, seconds: number): Promise<{ machine: Machine; ip: string | null }> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const machine = await found(host, id);
    const ip = firstIpv4(machine);
    if (ip || Date.now() >= deadline) return { machine, ip };
    await new Promise((r) => setTimeout(r, IP_POLL_MS));
  }
}

/**
 * Ephemeral clones for CI: a linked clone of a template, started, with its guest address; and
 * its removal, which is idempotent (a clone already gone counts as deleted) so the hub may retry
 * it until it succeeds.
 */
const EPHEMERAL_OPERATIONS: Record<string, MachineOperation> = {
  'machines.ephemeral.create': {
    params: HOST_OPERATION_SPECS['machines.ephemeral.create'].params,
    write: true,
    run: async (host, p) => {
      const record = p.record as EphemeralRecord;
      // A job delivered again after the agent restarted finds the clone it already made.
      let clone = await host.machine(p.vm);
      if (!clone) {
        if (!(await host.machine(p.template)))
          throw new AgentError('template_not_found', `no VM or template "${p.template}" on this host to clone`);
        await host.clone(p.template, p.vm, { linked: true });
        clone = await found(host, p.vm);
      }
      if (p.start === false) return { ...record, machine_id: clone.id, name: clone.name, ip: null, state: clone.state };
      if (clone.state !== 'running') await host.start(clone.id);
      const { machine, ip } = await waitForIp(host, clone.id, p.wait_ip_seconds ?? DEFAULT_WAIT_IP_SECONDS);
      if (!ip && p.wait_ip_seconds !== 0)
        throw new AgentError(
          'ip_timeout',
          `the clone ${machine.name} (${machine.id}) showed no guest address within ${p.wait_ip_seconds ?? DEFAULT_WAIT_IP_SECONDS} s (are guest tools running?)`,
        );
      return { ...record, machine_id: machine.id, name: machine.name, ip, state: machine.state };
    },
  },
  'machines.ephemeral.delete': {
    params: HOST_OPERATION_SPECS['machines.ephemeral.delete'].params,
    write: true,
    run: async (host, p) => {
      // By UUID when the hub knows it: a VM that took the name since is not ours to delete.
      const m = await host.machine(p.id ?? p.vm);
      if (!m) return { id: p.id ?? null, name: p.vm, deleted: true, already_gone: true };
      if (m.state !== 'stopped') await host.stop(m.id, m.state === 'suspended' ? 'drop-state' : 'kill');
      await host.delete(m.id);
      return { id: m.id, name: m.name, deleted: true, already_gone: false };
    },
  },
};
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
  'machines.tools.install': {
    params: { vm: 'vm' },
    write: true,
    run: async (host, p, progress) => {
      progress(5, 'checking the VM');
      const m = await found(host, p.vm);
      if (m.state !== 'running')
        throw new AgentError(
          'machine_not_running',
          `VM ${m.name} is ${m.state}: Parallels Tools install in a running guest`,
        );
      const before = m.guest_tools;
      progress(20, 'prlctl installtools');
      await host.prlctl(['installtools', m.id], { timeoutMs: TOOLS_INSTALL_TIMEOUT_MS });
      progress(90, 'reading the guest tools state');
      const after = await found(host, m.id);
      return { id: after.id, name: after.name, guest_tools_before: before, guest_tools: after.guest_tools };
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
  ...EPHEMERAL_OPERATIONS,
};

export function isMachineOperation(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(MACHINE_OPERATIONS, name);
}

/** Runs one machine operation, its parameters checked before any command. */
export async function runMachineOperation(
  host: PrlHost,
  name: string,
  params: unknown,
  progress: Progress = () => undefined,
): Promise<unknown> {
  const op = MACHINE_OPERATIONS[name];
  return op.run(host, checkParams(op.params, params), progress);
}

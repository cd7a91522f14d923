import { Command } from 'commander';
import { unwrap } from '@hostplane/sdk';
import { call, examples, run } from '../command-kit';
import { print, type Column } from '../output';
import type { Session } from '../session';
import { hostWriteResult } from '../wait';

/** A VM as the node reports it (`prlctl list -a -i --json`); across nodes with its node. */
interface Machine {
  id: string;
  name: string;
  state: string;
  os: string;
  cpus: number;
  memory_bytes: number;
  network?: { ip_addresses: string[] };
  node_id?: string;
  node_name?: string;
}

interface Snapshot {
  id: string;
  name: string;
  date: string;
  state: string;
  current: boolean;
  parent: string | null;
}

interface ExecResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  truncated: boolean;
}

const MACHINE_COLUMNS: Column<Machine>[] = [
  ['ID', (m) => m.id],
  ['NAME', (m) => m.name],
  ['STATE', (m) => m.state],
  ['OS', (m) => m.os],
  ['CPUS', (m) => m.cpus],
  ['MEMORY', (m) => (m.memory_bytes ? `${Math.round(m.memory_bytes / 2 ** 20)}Mi` : null)],
  ['ADDRESSES', (m) => m.network?.ip_addresses.join(',') || null],
  ['NODE', (m) => m.node_name ?? m.node_id],
];

const SNAPSHOT_COLUMNS: Column<Snapshot>[] = [
  ['ID', (x) => x.id],
  ['NAME', (x) => x.name],
  ['DATE', (x) => x.date],
  ['CURRENT', (x) => (x.current ? '*' : '')],
  ['PARENT', (x) => x.parent],
];

interface Where {
  node?: string;
}
interface WaitOption extends Where {
  wait?: boolean;
}

/** The node of a VM: `--node`, else the node the hub finds holding it (`GET /v1/machines/{vm}`). */
async function nodeOf(s: Session, vm: string, o: Where): Promise<string> {
  if (o.node) return o.node;
  return ((await unwrap(s.client.api.GET('/v1/machines/{vm}', { params: { path: { vm } } }))) as Machine).node_id!;
}

async function getMachine(s: Session, vm: string, o: Where): Promise<Machine> {
  if (!o.node) return (await unwrap(s.client.api.GET('/v1/machines/{vm}', { params: { path: { vm } } }))) as Machine;
  const answer = await unwrap(
    s.client.api.GET('/v1/nodes/{id}/machines/{vm}', { params: { path: { id: o.node, vm } } }),
  );
  return (answer as { data: Machine }).data;
}

type Action = 'start' | 'stop' | 'suspend' | 'resume' | 'pause' | 'reset' | 'restart' | 'clone' | 'exec';

/** A VM write: on `--node` through the node's route, else on whichever node holds the VM. */
async function machineWrite(s: Session, vm: string, action: Action, o: Where, body?: object) {
  if (!o.node)
    return call(
      s.client.api.POST('/v1/machines/{vm}/{action}', {
        params: { path: { vm, action } },
        ...(body ? { body } : {}),
      } as never),
    );
  const lifecycle = !['stop', 'clone', 'exec'].includes(action);
  const path = lifecycle ? '/v1/nodes/{id}/machines/{vm}/{action}' : `/v1/nodes/{id}/machines/{vm}/${action}`;
  return call(
    s.client.api.POST(
      path as '/v1/nodes/{id}/machines/{vm}/{action}',
      {
        params: { path: { id: o.node, vm, ...(lifecycle ? { action } : {}) } },
        ...(body ? { body } : {}),
      } as never,
    ),
  );
}

const UUID = /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i;

async function listSnapshots(s: Session, node: string, vm: string): Promise<Snapshot[]> {
  const answer = await unwrap(
    s.client.api.GET('/v1/nodes/{id}/machines/{vm}/snapshots', { params: { path: { id: node, vm } } }),
  );
  return (answer as { data: { snapshots: Snapshot[] } }).data.snapshots;
}

/** A snapshot by id, or by its name when that names exactly one. */
async function snapshotId(s: Session, node: string, vm: string, snapshot: string): Promise<string> {
  if (UUID.test(snapshot)) return snapshot;
  const matches = (await listSnapshots(s, node, vm)).filter((x) => x.name === snapshot);
  if (matches.length === 1) return matches[0].id;
  // Let the hub answer: an unknown id is its 404, a name given twice is ambiguous here.
  if (matches.length > 1) throw new Error(`${matches.length} snapshots are named '${snapshot}': give its id`);
  return snapshot;
}

function where(command: Command): Command {
  return command.option('--node <id>', 'the parallels node (default: whichever node holds the VM)');
}
function withWait(command: Command): Command {
  return where(command).option('--wait', 'wait for the operation (progress on stderr); print the VM afterwards');
}

const LIFECYCLE: [Action, string][] = [
  ['start', 'Start a VM'],
  ['suspend', 'Suspend a VM'],
  ['resume', 'Resume a suspended or paused VM'],
  ['pause', 'Pause a VM'],
  ['reset', 'Reset a VM (hard reboot)'],
  ['restart', 'Restart a VM (guest reboot)'],
];

/** Parallels Desktop VMs on macOS nodes (docs/api/machines.md). */
export function machinesCommand(): Command {
  const machines = new Command('machines').description(
    'Parallels VMs of macOS nodes: list, lifecycle, clone, snapshots, exec',
  );
  machines.addCommand(
    examples(
      new Command('list')
        .description('VMs across every parallels node, or of one node with --node')
        .option('--node <id>', 'only this node')
        .action(
          run<Where>(async (s, _a, o) => {
            if (o.node) {
              const answer = await unwrap(
                s.client.api.GET('/v1/nodes/{id}/machines', { params: { path: { id: o.node } } }),
              );
              return print(s.format, (answer as { data: Machine[] }).data, MACHINE_COLUMNS);
            }
            const answer = (await unwrap(s.client.api.GET('/v1/machines'))) as {
              data: Machine[];
              unreachable: { node_id: string; error: string }[];
            };
            for (const u of answer.unreachable) process.stderr.write(`node ${u.node_id} did not answer: ${u.error}\n`);
            print(s.format, answer.data, MACHINE_COLUMNS);
          }),
        ),
      ['hpctl machines list', 'hpctl machines list --node 2b1f… -o json | jq -r ".[].name"'],
    ),
  );
  machines.addCommand(
    examples(
      where(new Command('get').description('One VM, by name or UUID'))
        .argument('<vm>')
        .action(run<Where>(async (s, [vm], o) => print(s.format, await getMachine(s, vm, o)))),
      ['hpctl machines get ubuntu-base', 'hpctl machines get 5a6e…-… --node 2b1f… -o yaml'],
    ),
  );
  const lifecycle = async (s: Session, vm: string, action: Action, o: WaitOption, body?: object) => {
    const accepted = await machineWrite(s, vm, action, o, body);
    const answer = await hostWriteResult(s.client, accepted, o.wait, action);
    if (o.wait) print(s.format, answer as Machine, MACHINE_COLUMNS);
    else print(s.format, answer);
  };
  machines.addCommand(
    examples(
      withWait(new Command('stop').description('Stop a VM: ACPI shutdown, --kill powers it off'))
        .argument('<vm>')
        .option('--kill', 'power off at once')
        .option('--drop-state', 'stop a suspended VM, discarding its saved state')
        .action(
          run<WaitOption & { kill?: boolean; dropState?: boolean }>(async (s, [vm], o) =>
            lifecycle(s, vm, 'stop', o, {
              ...(o.kill ? { kill: true } : {}),
              ...(o.dropState ? { drop_state: true } : {}),
            }),
          ),
        ),
      ['hpctl machines stop ubuntu-base --wait', 'hpctl machines stop ubuntu-base --kill'],
    ),
  );
  for (const [action, description] of LIFECYCLE) {
    machines.addCommand(
      examples(
        withWait(new Command(action).description(description))
          .argument('<vm>')
          .action(run<WaitOption>(async (s, [vm], o) => lifecycle(s, vm, action, o))),
        [`hpctl machines ${action} ubuntu-base --wait`],
      ),
    );
  }
  machines.addCommand(
    examples(
      withWait(new Command('clone').description('Clone a VM (full, or --linked to share the source disk)'))
        .argument('<vm>', 'the source')
        .argument('<name>', 'the new VM')
        .option('--linked', 'a linked clone')
        .action(
          run<WaitOption & { linked?: boolean }>(async (s, [vm, name], o) =>
            lifecycle(s, vm, 'clone', o, { name, ...(o.linked ? { linked: true } : {}) }),
          ),
        ),
      ['hpctl machines clone ubuntu-base ci-1 --linked --wait'],
    ),
  );
  machines.addCommand(
    examples(
      where(
        new Command('exec').description(
          "Run a command in the guest (argv, no shell of ours) and wait; prints its output and exits with the command's exit code (-o json: the result, exit 0)",
        ),
      )
        .argument('<vm>')
        .argument('<argv...>', 'the command and its arguments (after --)')
        .action(
          run<Where>(async (s, [vm, ...argv], o) => {
            const accepted = await machineWrite(s, vm, 'exec', o, { argv });
            const result = (await hostWriteResult(s.client, accepted, true, 'exec')) as ExecResult;
            if (s.format !== 'table') return print(s.format, result);
            process.stdout.write(result.stdout);
            process.stderr.write(result.stderr);
            if (result.truncated) process.stderr.write('(output truncated: the last 256 KiB)\n');
            process.exitCode = result.exit_code;
          }),
        ),
      [
        'hpctl machines exec ubuntu-base -- uname -a',
        'hpctl machines exec ubuntu-base -o json -- /bin/sh -c "df -h /"',
      ],
    ),
  );
  machines.addCommand(
    examples(
      withWait(new Command('delete').description('Delete a stopped VM and its files'))
        .argument('<vm>')
        .action(
          run<WaitOption>(async (s, [vm], o) => {
            const accepted = await call(
              o.node
                ? s.client.api.DELETE('/v1/nodes/{id}/machines/{vm}', { params: { path: { id: o.node, vm } } })
                : s.client.api.DELETE('/v1/machines/{vm}', { params: { path: { vm } } }),
            );
            print(s.format, await hostWriteResult(s.client, accepted, o.wait, 'delete'));
          }),
        ),
      ['hpctl machines delete ci-1 --wait'],
    ),
  );
  machines.addCommand(snapshotsCommand());
  return machines;
}

function snapshotsCommand(): Command {
  const snapshots = new Command('snapshots').description("A VM's snapshots");
  snapshots.addCommand(
    examples(
      where(new Command('list').description("A VM's snapshots (-o json adds the tree)"))
        .argument('<vm>')
        .action(
          run<Where>(async (s, [vm], o) => {
            const node = await nodeOf(s, vm, o);
            if (s.format === 'table') return print(s.format, await listSnapshots(s, node, vm), SNAPSHOT_COLUMNS);
            const answer = await unwrap(
              s.client.api.GET('/v1/nodes/{id}/machines/{vm}/snapshots', { params: { path: { id: node, vm } } }),
            );
            print(s.format, (answer as { data: unknown }).data);
          }),
        ),
      ['hpctl machines snapshots list ubuntu-base'],
    ),
  );
  snapshots.addCommand(
    examples(
      withWait(new Command('create').description('Take a snapshot'))
        .argument('<vm>')
        .argument('<name>')
        .option('--description <text>', 'what it is')
        .action(
          run<WaitOption & { description?: string }>(async (s, [vm, name], o) => {
            const node = await nodeOf(s, vm, o);
            const accepted = await call(
              s.client.api.POST('/v1/nodes/{id}/machines/{vm}/snapshots', {
                params: { path: { id: node, vm } },
                body: { name, ...(o.description ? { description: o.description } : {}) },
              }),
            );
            print(s.format, await hostWriteResult(s.client, accepted, o.wait, 'snapshot'));
          }),
        ),
      ['hpctl machines snapshots create ubuntu-base before-upgrade --wait'],
    ),
  );
  snapshots.addCommand(
    examples(
      withWait(new Command('delete').description('Delete a snapshot (by id, or by name)'))
        .argument('<vm>')
        .argument('<snapshot>')
        .option('--children', 'with its children')
        .action(
          run<WaitOption & { children?: boolean }>(async (s, [vm, snapshot], o) => {
            const node = await nodeOf(s, vm, o);
            const accepted = await call(
              s.client.api.DELETE('/v1/nodes/{id}/machines/{vm}/snapshots/{snapshot}', {
                params: {
                  path: { id: node, vm, snapshot: await snapshotId(s, node, vm, snapshot) },
                  query: o.children ? { children: 'true' } : {},
                },
              } as never),
            );
            print(s.format, await hostWriteResult(s.client, accepted, o.wait, 'delete'));
          }),
        ),
      ['hpctl machines snapshots delete ubuntu-base before-upgrade --wait'],
    ),
  );
  snapshots.addCommand(
    examples(
      withWait(new Command('switch').description('Revert the VM to a snapshot (by id, or by name)'))
        .argument('<vm>')
        .argument('<snapshot>')
        .option('--skip-resume', 'leave the VM stopped even if the snapshot was taken running')
        .action(
          run<WaitOption & { skipResume?: boolean }>(async (s, [vm, snapshot], o) => {
            const node = await nodeOf(s, vm, o);
            const accepted = await call(
              s.client.api.POST('/v1/nodes/{id}/machines/{vm}/snapshots/{snapshot}/switch', {
                params: { path: { id: node, vm, snapshot: await snapshotId(s, node, vm, snapshot) } },
                body: o.skipResume ? { skip_resume: true } : {},
              }),
            );
            const answer = await hostWriteResult(s.client, accepted, o.wait, 'switch');
            if (o.wait) print(s.format, answer as Machine, MACHINE_COLUMNS);
            else print(s.format, answer);
          }),
        ),
      ['hpctl machines snapshots switch ubuntu-base before-upgrade --wait'],
    ),
  );
  return snapshots;
}

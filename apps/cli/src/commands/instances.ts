import { Command } from 'commander';
import { collectAll, openConsole, openLogs, unwrap, type Instance } from '@hostplane/sdk';
import { nodeWebSocket } from '@hostplane/sdk/node';
import { call, collect, examples, keyValues, positiveInt, run } from '../command-kit';
import { print, type Column } from '../output';
import { attachTerminal } from '../terminal';
import type { Session } from '../session';
import { finishAccepted, waitWithProgress } from '../wait';

const INSTANCE_COLUMNS: Column<Instance>[] = [
  ['ID', (i) => i.id],
  ['NAME', (i) => i.name],
  ['STATE', (i) => i.state],
  ['DESIRED', (i) => i.desired_state],
  ['DRIVER', (i) => i.driver],
  ['NODE', (i) => i.node_id],
];

const POWER = {
  start: '/v1/instances/{id}/start',
  stop: '/v1/instances/{id}/stop',
  restart: '/v1/instances/{id}/restart',
  kill: '/v1/instances/{id}/kill',
} as const;

/**
 * After the install: the start is an operation of its own, queued behind it (`POST /v1/instances`
 * answers only the install's), so `--wait` finds that operation and waits for it too.
 */
async function waitForStart(s: Session, id: string): Promise<Instance> {
  const page = await unwrap(
    s.client.api.GET('/v1/operations', { params: { query: { kind: 'instance.start', limit: 50 } } }),
  );
  const start = page.data.find((op) => op.resources.includes(`/v1/instances/${id}`));
  if (start) await waitWithProgress(s.client, start.id, 'start');
  return unwrap(s.client.api.GET('/v1/instances/{id}', { params: { path: { id } } }));
}

export function instancesCommand(): Command {
  const instances = new Command('instances').description('Running copies of workloads on nodes');
  instances.addCommand(
    examples(
      new Command('list').description('List instances').action(
        run(async (s) => {
          const all = await collectAll(async (page) =>
            unwrap(s.client.api.GET('/v1/instances', { params: { query: page } })),
          );
          print(s.format, all, INSTANCE_COLUMNS);
        }),
      ),
      ['hpctl instances list -o json'],
    ),
  );
  instances.addCommand(
    examples(
      new Command('get')
        .description('One instance: state, node, ports')
        .argument('<id>')
        .action(
          run(async (s, [id]) =>
            print(s.format, await unwrap(s.client.api.GET('/v1/instances/{id}', { params: { path: { id } } }))),
          ),
        ),
      ['hpctl instances get 5d2a…'],
    ),
  );
  instances.addCommand(
    examples(
      new Command('create')
        .description('Create (and by default start) an instance of a workload')
        .argument('<name>')
        .requiredOption('--workload <id>', 'the workload')
        .option('--var <key=value>', 'a workload variable (repeatable)', collect)
        .option('--node <id>', 'place it on this node')
        .option('--no-start', 'create it stopped')
        .option('--wait', 'wait until it is installed and running')
        .action(
          run<{ workload: string; var?: string[]; node?: string; start: boolean; wait?: boolean }>(
            async (s, [name], o) => {
              const { data, response } = await call(
                s.client.api.POST('/v1/instances', {
                  body: {
                    name,
                    workload_id: o.workload,
                    variables: keyValues(o.var),
                    start: o.start,
                    ...(o.node ? { node_id: o.node } : {}),
                  },
                }),
              );
              await finishAccepted(s.client, response, data, o.wait, 'create');
              let instance = data.instance as Instance;
              if (o.wait)
                instance = o.start
                  ? await waitForStart(s, data.instance.id)
                  : await unwrap(
                      s.client.api.GET('/v1/instances/{id}', { params: { path: { id: data.instance.id } } }),
                    );
              print(s.format, instance, INSTANCE_COLUMNS);
            },
          ),
        ),
      ['hpctl instances create web-1 --workload 91c0… --var SERVER_PORT=25565 --wait'],
    ),
  );
  for (const [action, path] of Object.entries(POWER) as [keyof typeof POWER, (typeof POWER)[keyof typeof POWER]][]) {
    const command = new Command(action)
      .description(`${action[0].toUpperCase()}${action.slice(1)} an instance`)
      .argument('<id>')
      .option('--wait', 'wait for the operation (progress on stderr)');
    if (action === 'kill') command.option('--signal <signal>', 'signal to send (default SIGKILL)');
    instances.addCommand(
      examples(
        command.action(
          run<{ wait?: boolean; signal?: string }>(async (s, [id], o) => {
            const { data, response } = await call(
              s.client.api.POST(path, {
                params: { path: { id } },
                ...(action === 'kill' ? { body: o.signal ? { signal: o.signal } : {} } : {}),
              } as never),
            );
            print(s.format, await finishAccepted(s.client, response, data, o.wait, action));
          }),
        ),
        [`hpctl instances ${action} 5d2a… --wait`],
      ),
    );
  }
  instances.addCommand(
    examples(
      new Command('delete')
        .description('Delete an instance and its data on the node')
        .argument('<id>')
        .option('--wait', 'wait until it is gone')
        .action(
          run<{ wait?: boolean }>(async (s, [id], o) => {
            const { data, response } = await call(
              s.client.api.DELETE('/v1/instances/{id}', { params: { path: { id } } }),
            );
            print(s.format, await finishAccepted(s.client, response, data, o.wait, 'delete'));
          }),
        ),
      ['hpctl instances delete 5d2a… --wait'],
    ),
  );
  instances.addCommand(
    examples(
      new Command('console')
        .description(
          'Attach to the console: scrollback, then live; raw tty, resize follows the window, Ctrl-] detaches',
        )
        .argument('<id>')
        .option('--scrollback <lines>', 'history lines first', positiveInt)
        .action(
          run<{ scrollback?: number }>(async (s, [id], o) => {
            const stream = openConsole(s.client, id, { webSocket: nodeWebSocket, scrollback: o.scrollback });
            process.exitCode = await attachTerminal(stream, { scrollback: true });
          }),
        ),
      ['hpctl instances console 5d2a…', 'echo "say hello" | hpctl instances console 5d2a…'],
    ),
  );
  instances.addCommand(
    examples(
      new Command('logs')
        .description('The last lines of output; -f follows live output')
        .argument('<id>')
        .option('-f, --follow', 'keep printing new output')
        .option('--tail <lines>', 'lines of history', positiveInt, 100)
        .action(
          run<{ follow?: boolean; tail: number }>(async (s, [id], o) => {
            if (!o.follow) {
              const history = await unwrap(
                s.client.api.GET('/v1/instances/{id}/logs/history', {
                  params: { path: { id }, query: { lines: o.tail } },
                }),
              );
              if (s.format !== 'table') return print(s.format, history);
              for (const line of history.lines) process.stdout.write(`${line}\n`);
              return;
            }
            const stream = openLogs(s.client, id, { webSocket: nodeWebSocket, tail: o.tail });
            stream.onOutput((chunk) => process.stdout.write(chunk));
            process.once('SIGINT', () => stream.close());
            const closed = await stream.closed;
            process.exitCode = closed.code === 1000 || closed.code === 1005 ? 0 : 1;
          }),
        ),
      ['hpctl instances logs 5d2a… --tail 50', 'hpctl instances logs 5d2a… -f'],
    ),
  );
  return instances;
}

import { Command } from 'commander';
import { streamEvents, unwrap, type Operation } from '@hostplane/sdk';
import { call, collect, examples, positiveInt, run } from '../command-kit';
import { print, type Column } from '../output';
import { waitWithProgress } from '../wait';

const OPERATION_COLUMNS: Column<Operation>[] = [
  ['ID', (o) => o.id],
  ['KIND', (o) => o.kind],
  ['STATUS', (o) => o.status],
  ['PROGRESS', (o) => (o.progress ? `${o.progress.percent ?? 0}%` : null)],
  ['NODE', (o) => o.node_id],
  ['CREATED', (o) => o.created_at],
];

export function operationsCommand(): Command {
  const operations = new Command('operations').description('Work the hub asked hosts to do');
  operations.addCommand(
    examples(
      new Command('list')
        .description('Operations, newest first')
        .option('--status <status>', 'queued, running, succeeded, failed, …')
        .option('--kind <kind>', 'e.g. instance.start')
        .option('--node <id>', 'on this node')
        .option('--limit <n>', 'at most this many', positiveInt, 50)
        .action(
          run<{ status?: Operation['status']; kind?: string; node?: string; limit: number }>(async (s, _a, o) => {
            const page = await unwrap(
              s.client.api.GET('/v1/operations', {
                params: { query: { limit: o.limit, status: o.status, kind: o.kind, node_id: o.node } },
              }),
            );
            print(s.format, page.data, OPERATION_COLUMNS);
          }),
        ),
      ['hpctl operations list --status failed'],
    ),
  );
  operations.addCommand(
    examples(
      new Command('get')
        .description('One operation')
        .argument('<id>')
        .action(
          run(async (s, [id]) =>
            print(s.format, await unwrap(s.client.api.GET('/v1/operations/{id}', { params: { path: { id } } }))),
          ),
        ),
      ['hpctl operations get 340f…'],
    ),
  );
  operations.addCommand(
    examples(
      new Command('wait')
        .description('Wait until the operation is final (progress on stderr); exit 1 unless it succeeded')
        .argument('<id>')
        .action(
          run(async (s, [id]) => print(s.format, await waitWithProgress(s.client, id, 'wait'), OPERATION_COLUMNS)),
        ),
      ['hpctl operations wait 340f…'],
    ),
  );
  operations.addCommand(
    examples(
      new Command('cancel')
        .description('Cancel a queued or running operation')
        .argument('<id>')
        .action(
          run(async (s, [id]) =>
            print(
              s.format,
              (await call(s.client.api.POST('/v1/operations/{id}/cancel', { params: { path: { id } } }))).data,
              OPERATION_COLUMNS,
            ),
          ),
        ),
      ['hpctl operations cancel 340f…'],
    ),
  );
  return operations;
}

export function eventsCommand(): Command {
  return examples(
    new Command('events')
      .description('Events of your organizations (replayed from --since, then live with -f); one JSON object a line')
      .option('-f, --follow', 'keep streaming (reconnects and resumes after a cut)')
      .option('--type <pattern>', 'event type or pattern, e.g. node.* (repeatable)', collect)
      .option('--since <event-id>', 'replay events after this one')
      .action(
        run<{ follow?: boolean; type?: string[]; since?: string }>(async (s, _a, o) => {
          const controller = new AbortController();
          process.once('SIGINT', () => controller.abort());
          let idle: NodeJS.Timeout | undefined;
          // Without -f: what is there (the replay), then stop once the stream has been quiet for a second.
          const quiet = () => {
            if (o.follow) return;
            clearTimeout(idle);
            idle = setTimeout(() => controller.abort(), 1000);
          };
          quiet();
          for await (const event of streamEvents(s.client, {
            types: o.type,
            since: o.since,
            signal: controller.signal,
            onReconnect: (last) => process.stderr.write(`stream cut; resuming after ${last ?? 'the start'}\n`),
          })) {
            if (s.format === 'table')
              process.stdout.write(`${event.id}  ${event.ts}  ${event.type}  ${JSON.stringify(event.data)}\n`);
            else if (s.format === 'yaml') print('yaml', [event]);
            else process.stdout.write(`${JSON.stringify(event)}\n`);
            quiet();
          }
          clearTimeout(idle);
        }),
      ),
    ['hpctl events -f --type "instance.*" --type operation.completed', 'hpctl events --since 1733600000000-0 -o json'],
  );
}

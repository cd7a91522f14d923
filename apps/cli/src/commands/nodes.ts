import { Command } from 'commander';
import { collectAll, openTerminal, unwrap, type Node } from '@hostplane/sdk';
import { nodeWebSocket } from '@hostplane/sdk/node';
import { call, collect, examples, keyValues, positiveInt, run } from '../command-kit';
import { print, type Column } from '../output';
import { attachTerminal } from '../terminal';
import { progress } from '../progress';
import type { Session } from '../session';

const NODE_COLUMNS: Column<Node>[] = [
  ['ID', (n) => n.id],
  ['NAME', (n) => n.name],
  ['STATUS', (n) => n.status],
  ['SCHEDULABLE', (n) => n.schedulable],
  ['DRAIN', (n) => (n.drain as { status?: string } | null)?.status],
  ['OS/ARCH', (n) => (n.os ? `${n.os}/${n.arch}` : null)],
  ['DRIVERS', (n) => n.drivers?.join(',')],
];

async function getNode(s: Session, id: string): Promise<Node> {
  return unwrap(s.client.api.GET('/v1/nodes/{id}', { params: { path: { id } } }));
}

interface TokenOptions {
  maxUses?: number;
  expiresIn?: number;
  label?: string[];
  description?: string;
}

async function registrationToken(s: Session, o: TokenOptions) {
  const { data } = await call(
    s.client.api.POST('/v1/nodes/register-token', {
      body: {
        ...(o.maxUses !== undefined ? { max_uses: o.maxUses } : {}),
        ...(o.expiresIn !== undefined ? { expires_in: o.expiresIn } : {}),
        ...(o.label ? { labels: keyValues(o.label) } : {}),
        ...(o.description ? { description: o.description } : {}),
      },
    }),
  );
  return data;
}

function withTokenOptions(command: Command): Command {
  return command
    .option('--max-uses <n>', 'hosts that may register with it', positiveInt)
    .option('--expires-in <seconds>', 'lifetime in seconds', positiveInt)
    .option('--label <key=value>', 'a label every node registered with it gets (repeatable)', collect)
    .option('--description <text>', 'what the token is for');
}

export function nodesCommand(): Command {
  const nodes = new Command('nodes').description('Hosts running the agent');
  nodes.addCommand(
    examples(
      new Command('list')
        .description('List nodes')
        .option('--status <status>', 'pending, online or offline')
        .option('--label <key=value>', 'only nodes with this label')
        .action(
          run<{ status?: 'pending' | 'online' | 'offline'; label?: string }>(async (s, _a, o) => {
            const all = await collectAll(async (page) =>
              unwrap(
                s.client.api.GET('/v1/nodes', { params: { query: { ...page, status: o.status, label: o.label } } }),
              ),
            );
            print(s.format, all, NODE_COLUMNS);
          }),
        ),
      ['hpctl nodes list --status online', 'hpctl nodes list -o json | jq -r ".[].id"'],
    ),
  );
  nodes.addCommand(
    examples(
      new Command('get')
        .description('One node: status, drain, capacity, agent facts')
        .argument('<id>')
        .action(run(async (s, [id]) => print(s.format, await getNode(s, id)))),
      ['hpctl nodes get 2b1f… -o yaml'],
    ),
  );
  for (const action of ['cordon', 'uncordon'] as const) {
    nodes.addCommand(
      examples(
        new Command(action)
          .description(action === 'cordon' ? 'Stop placing new instances on the node' : 'Place instances on it again')
          .argument('<id>')
          .action(
            run(async (s, [id]) => {
              const path = action === 'cordon' ? '/v1/nodes/{id}/cordon' : '/v1/nodes/{id}/uncordon';
              print(s.format, (await call(s.client.api.POST(path, { params: { path: { id } } }))).data, NODE_COLUMNS);
            }),
          ),
        [`hpctl nodes ${action} 2b1f…`],
      ),
    );
  }
  nodes.addCommand(
    examples(
      new Command('drain')
        .description('Cordon the node and migrate its instances elsewhere')
        .argument('<id>')
        .option('--deadline <seconds>', 'stop what is left after this long', positiveInt)
        .option('--force', 'stop everything now')
        .option('--max-parallel <n>', 'migrations at a time', positiveInt)
        .option('--wait', 'wait until the drain is complete (progress on stderr)')
        .action(
          run<{ deadline?: number; force?: boolean; maxParallel?: number; wait?: boolean }>(async (s, [id], o) => {
            let node = (
              await call(
                s.client.api.POST('/v1/nodes/{id}/drain', {
                  params: { path: { id } },
                  body: {
                    ...(o.deadline !== undefined ? { deadline_seconds: o.deadline } : {}),
                    ...(o.force ? { force: true } : {}),
                    ...(o.maxParallel !== undefined ? { max_parallel: o.maxParallel } : {}),
                  },
                }),
              )
            ).data;
            if (o.wait) node = await waitForDrain(s, id);
            print(s.format, node, NODE_COLUMNS);
          }),
        ),
      ['hpctl nodes drain 2b1f… --wait', 'hpctl nodes drain 2b1f… --deadline 600 --max-parallel 4'],
    ),
  );
  nodes.addCommand(
    examples(
      withTokenOptions(new Command('register-token').description('Create a registration token for new hosts')).action(
        run<TokenOptions>(async (s, _a, o) => {
          const token = await registrationToken(s, o);
          if (s.format === 'table') process.stdout.write(`${token.token}\n`);
          else print(s.format, token);
        }),
      ),
      ['hpctl nodes register-token --max-uses 5 --expires-in 3600 --label zone=eu-1'],
    ),
  );
  nodes.addCommand(
    examples(
      withTokenOptions(
        new Command('add').description('Print the one line that installs and registers the agent on a new host'),
      ).action(
        run<TokenOptions>(async (s, _a, o) => {
          const token = await registrationToken(s, { maxUses: 1, ...o });
          const hub = s.client.baseUrl;
          process.stdout.write(`curl -fsSL ${hub}/install.sh | sudo sh -s -- --hub ${hub} --token ${token.token}\n`);
        }),
      ),
      ['hpctl nodes add --label zone=eu-1'],
    ),
  );
  nodes.addCommand(
    examples(
      new Command('terminal')
        .description('A root shell on the host (raw terminal; Ctrl-] detaches)')
        .argument('<id>')
        .action(
          run(async (s, [id]) => {
            const stream = openTerminal(s.client, id, {
              webSocket: nodeWebSocket,
              cols: process.stdout.columns,
              rows: process.stdout.rows,
            });
            process.exitCode = await attachTerminal(stream);
          }),
        ),
      ['hpctl nodes terminal 2b1f…'],
    ),
  );
  return nodes;
}

async function waitForDrain(s: Session, id: string): Promise<Node> {
  const bar = progress('drain');
  for (;;) {
    const node = await getNode(s, id);
    const drain = node.drain as { status: string; remaining?: number; migrated?: number } | null;
    if (!drain || drain.status !== 'draining') {
      bar.update(100, drain?.status ?? 'done');
      bar.stop();
      return node;
    }
    const total = (drain.remaining ?? 0) + (drain.migrated ?? 0);
    bar.update(total ? ((drain.migrated ?? 0) / total) * 100 : 0, `${drain.remaining ?? 0} left`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

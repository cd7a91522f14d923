import { Command } from 'commander';
import { unwrap, type ResponseOf } from '@hostplane/sdk';
import { call, collect, examples, keyValues, run } from '../command-kit';
import { UsageError } from '../exit-codes';
import { print } from '../output';
import { progress } from '../progress';
import type { Session } from '../session';
import { readJsonFile } from './workloads';

type Deployment = ResponseOf<'/v1/deploy/{id}', 'get'>;
const DEPLOY_DONE = new Set(['running', 'installed', 'failed']);

export function deployCommand(): Command {
  return examples(
    new Command('deploy')
      .description('One-click deploy: a workload (existing, from a template, or an egg) and its instance')
      .requiredOption('--name <name>', 'instance name')
      .option('--workload <id>', 'an existing workload')
      .option('--template <name>', 'a template (see /v1/templates)')
      .option('--size <size>', "the template's size")
      .option('--egg <file>', 'a Pterodactyl egg JSON file')
      .option('--var <key=value>', 'a variable (repeatable)', collect)
      .option('--node <id>', 'place it on this node')
      .option('--no-start', 'install without starting')
      .option('--wait', 'wait until it runs (progress on stderr); exit 1 if it fails')
      .action(
        run<{
          name: string;
          workload?: string;
          template?: string;
          size?: string;
          egg?: string;
          var?: string[];
          node?: string;
          start: boolean;
          wait?: boolean;
        }>(async (s, _a, o) => {
          if ([o.workload, o.template, o.egg].filter(Boolean).length !== 1)
            throw new UsageError('give one of --workload, --template or --egg');
          const { data } = await call(
            s.client.api.POST('/v1/deploy', {
              body: {
                name: o.name,
                start: o.start,
                variables: keyValues(o.var),
                ...(o.workload ? { workload_id: o.workload } : {}),
                ...(o.template ? { template: o.template, ...(o.size ? { size: o.size } : {}) } : {}),
                ...(o.egg ? { egg: readJsonFile(o.egg) } : {}),
                ...(o.node ? { node_id: o.node } : {}),
              } as never,
            }),
          );
          const deployment = o.wait ? await waitForDeployment(s, data.id) : data;
          print(s.format, deployment, [
            ['ID', (d) => d.id],
            ['STATUS', (d) => d.status],
            ['INSTANCE', (d) => d.instance_id],
            ['NODE', (d) => d.node_id],
            ['ERROR', (d) => (d.error as { message?: string } | null)?.message],
          ]);
          if (deployment.status === 'failed') process.exitCode = 1;
        }),
      ),
    [
      'hpctl deploy --name paper-1 --egg egg-paper.json --var SERVER_JARFILE=server.jar --wait',
      'hpctl deploy --name web --workload 91c0… --node 2b1f…',
    ],
  );
}

async function waitForDeployment(s: Session, id: string): Promise<Deployment> {
  const bar = progress('deploy');
  const steps = ['pending', 'installing', 'starting', 'running'];
  for (;;) {
    const d = await unwrap(s.client.api.GET('/v1/deploy/{id}', { params: { path: { id } } }));
    bar.update((Math.max(0, steps.indexOf(d.status)) / (steps.length - 1)) * 100, d.status);
    if (DEPLOY_DONE.has(d.status)) {
      bar.stop();
      return d;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function migrateCommand(): Command {
  return examples(
    new Command('migrate')
      .description('Move instances (with their data) off a node; all of them unless --instance')
      .argument('<node>')
      .option('--instance <id>', 'only this instance (repeatable)', collect)
      .option('--target <node>', 'to this node (default: the scheduler picks)')
      .option('--wait', 'wait until every migration is final')
      .action(
        run<{ instance?: string[]; target?: string; wait?: boolean }>(async (s, [node], o) => {
          const { data } = await call(
            s.client.api.POST('/v1/nodes/{id}/migrate', {
              params: { path: { id: node } },
              body: {
                ...(o.instance ? { instance_ids: o.instance } : {}),
                ...(o.target ? { target_node_id: o.target } : {}),
              },
            }),
          );
          let migrations = data.data;
          if (o.wait) {
            const bar = progress('migrate');
            for (;;) {
              migrations = await Promise.all(
                migrations.map((m) =>
                  unwrap(s.client.api.GET('/v1/migrations/{id}', { params: { path: { id: m.id } } })),
                ),
              );
              const done = migrations.filter((m) => !['queued', 'running'].includes(m.status)).length;
              bar.update((done / Math.max(1, migrations.length)) * 100, `${done}/${migrations.length}`);
              if (done === migrations.length) break;
              await new Promise((r) => setTimeout(r, 1000));
            }
            bar.stop();
            if (migrations.some((m) => m.status !== 'succeeded')) process.exitCode = 1;
          }
          print(s.format, migrations, [
            ['ID', (m) => m.id],
            ['INSTANCE', (m) => m.instance_id],
            ['STATUS', (m) => m.status],
            ['TARGET', (m) => m.target_node_id],
          ]);
        }),
      ),
    ['hpctl migrate 2b1f… --wait', 'hpctl migrate 2b1f… --instance 5d2a… --target 7c3d…'],
  );
}

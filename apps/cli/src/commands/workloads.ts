import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { collectAll, unwrap, type ResponseOf } from '@hostplane/sdk';
import { call, examples, run } from '../command-kit';
import { print, type Column } from '../output';

type WorkloadSummary = ResponseOf<'/v1/workloads', 'get'>['data'][number];
type EggImport = Record<string, unknown>;

export const WORKLOAD_COLUMNS: Column<Pick<WorkloadSummary, 'id' | 'name' | 'driver' | 'revision'>>[] = [
  ['ID', (w) => w.id],
  ['NAME', (w) => w.name],
  ['DRIVER', (w) => w.driver],
  ['REVISION', (w) => w.revision],
];

export function readJsonFile(path: string): EggImport {
  return JSON.parse(readFileSync(path === '-' ? 0 : path, 'utf8')) as EggImport;
}

export function workloadsCommand(): Command {
  const workloads = new Command('workloads').description('Workload specs: what instances run');
  workloads.addCommand(
    examples(
      new Command('list').description('List workloads').action(
        run(async (s) => {
          const all = await collectAll(async (page) =>
            unwrap(s.client.api.GET('/v1/workloads', { params: { query: page } })),
          );
          print(s.format, all, WORKLOAD_COLUMNS);
        }),
      ),
      ['hpctl workloads list'],
    ),
  );
  workloads.addCommand(
    examples(
      new Command('get')
        .description('One workload spec')
        .argument('<id>')
        .action(
          run(async (s, [id]) =>
            print(s.format, await unwrap(s.client.api.GET('/v1/workloads/{id}', { params: { path: { id } } }))),
          ),
        ),
      ['hpctl workloads get 91c0… -o yaml'],
    ),
  );
  workloads.addCommand(
    examples(
      new Command('import-egg')
        .description('Import a Pterodactyl egg (JSON file, or - for stdin) as a workload')
        .argument('<file>')
        .option('--name <name>', 'workload name (default: the egg name)')
        .action(
          run<{ name?: string }>(async (s, [file], o) => {
            const { data } = await call(
              s.client.api.POST('/v1/workloads/import-egg', {
                body: { egg: readJsonFile(file), ...(o.name ? { name: o.name } : {}) },
              }),
            );
            print(s.format, data.workload, WORKLOAD_COLUMNS);
          }),
        ),
      ['hpctl workloads import-egg egg-paper.json --name paper'],
    ),
  );
  workloads.addCommand(
    examples(
      new Command('export')
        .description('Export a workload as a document that POST /v1/workloads takes back (stdout, or --file)')
        .argument('<id>')
        .option('--file <path>', 'write it here')
        .action(
          run<{ file?: string }>(async (s, [id], o) => {
            const egg = await unwrap(s.client.api.GET('/v1/workloads/{id}/export', { params: { path: { id } } }));
            const text = `${JSON.stringify(egg, null, 2)}\n`;
            if (o.file) writeFileSync(o.file, text);
            else process.stdout.write(text);
          }),
        ),
      ['hpctl workloads export 91c0… --file paper.json'],
    ),
  );
  return workloads;
}

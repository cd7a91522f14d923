import { Command } from 'commander';
import { collectAll, unwrap } from '@hostplane/sdk';
import { downloadToFile } from '@hostplane/sdk/node';
import { call, examples, run } from '../command-kit';
import { print } from '../output';
import { bytesProgress } from '../progress';
import { finishAccepted } from '../wait';

export function backupsCommand(): Command {
  const backups = new Command('backups').description("Archives of an instance's files");
  backups.addCommand(
    examples(
      new Command('create')
        .description('Back up an instance')
        .argument('<instance>')
        .option('--name <name>', 'backup name')
        .option('--locked', 'protect it from deletion')
        .option('--wait', 'wait until the archive is ready (progress on stderr)')
        .action(
          run<{ name?: string; locked?: boolean; wait?: boolean }>(async (s, [id], o) => {
            const { data, response } = await call(
              s.client.api.POST('/v1/instances/{id}/backups', {
                params: { path: { id } },
                body: { ...(o.name ? { name: o.name } : {}), ...(o.locked ? { locked: true } : {}) },
              }),
            );
            await finishAccepted(s.client, response, data, o.wait, 'backup');
            const backup = o.wait
              ? await unwrap(
                  s.client.api.GET('/v1/instances/{id}/backups/{bid}', {
                    params: { path: { id, bid: data.backup.id } },
                  }),
                )
              : data.backup;
            print(s.format, backup);
          }),
        ),
      ['hpctl backups create 5d2a… --name nightly --wait'],
    ),
  );
  backups.addCommand(
    examples(
      new Command('list')
        .description("An instance's backups")
        .argument('<instance>')
        .action(
          run(async (s, [id]) => {
            const all = await collectAll(async (page) =>
              unwrap(s.client.api.GET('/v1/instances/{id}/backups', { params: { path: { id }, query: page } })),
            );
            print(s.format, all, [
              ['ID', (b) => b.id],
              ['NAME', (b) => b.name],
              ['STATUS', (b) => b.status],
              ['BYTES', (b) => b.size_bytes],
              ['CREATED', (b) => b.created_at],
            ]);
          }),
        ),
      ['hpctl backups list 5d2a…'],
    ),
  );
  backups.addCommand(
    examples(
      new Command('download')
        .description('Download a backup archive (progress on stderr)')
        .argument('<instance>')
        .argument('<backup>')
        .argument('[file]', 'where to write it (default: <backup>.tar.gz)')
        .action(
          run(async (s, [id, bid, file]) => {
            const target = file ?? `${bid}.tar.gz`;
            const { bytes, headers } = await downloadToFile(
              s.client,
              `/v1/instances/${encodeURIComponent(id)}/backups/${encodeURIComponent(bid)}/download`,
              target,
              { onProgress: bytesProgress('download') },
            );
            process.stderr.write(`wrote ${bytes} bytes to ${target} (sha256 ${headers.get('x-checksum-sha256')})\n`);
          }),
        ),
      ['hpctl backups download 5d2a… 0c9e… nightly.tar.gz'],
    ),
  );
  backups.addCommand(
    examples(
      new Command('restore')
        .description("Restore a backup into the instance's files")
        .argument('<instance>')
        .argument('<backup>')
        .option('--truncate', 'delete the current files first')
        .option('--wait', 'wait until restored (progress on stderr)')
        .action(
          run<{ truncate?: boolean; wait?: boolean }>(async (s, [id, bid], o) => {
            const { data, response } = await call(
              s.client.api.POST('/v1/instances/{id}/backups/{bid}/restore', {
                params: { path: { id, bid } },
                body: o.truncate ? { truncate: true } : {},
              }),
            );
            print(s.format, await finishAccepted(s.client, response, data, o.wait, 'restore'));
          }),
        ),
      ['hpctl backups restore 5d2a… 0c9e… --truncate --wait'],
    ),
  );
  return backups;
}

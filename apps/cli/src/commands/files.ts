import { basename } from 'node:path';
import { Command } from 'commander';
import { unwrap } from '@hostplane/sdk';
import { downloadToFile, uploadPath } from '@hostplane/sdk/node';
import { examples, positiveInt, run } from '../command-kit';
import { uploadStatePath } from '../config-file';
import { print } from '../output';
import { bytesProgress } from '../progress';

interface Entry {
  name: string;
  type: string;
  size_bytes?: number;
  mode?: string;
  modified_at?: string;
}

export function filesCommand(): Command {
  const files = new Command('files').description("An instance's files");
  files.addCommand(
    examples(
      new Command('ls')
        .description('List a directory of the instance')
        .argument('<instance>')
        .argument('[path]', 'relative to the instance root', '.')
        .action(
          run(async (s, [id, path = '.']) => {
            const listing = await unwrap(
              s.client.api.GET('/v1/instances/{id}/files', { params: { path: { id }, query: { path } } }),
            );
            if (s.format !== 'table') return print(s.format, listing);
            print(s.format, listing.entries as Entry[], [
              ['TYPE', (e) => e.type],
              ['SIZE', (e) => e.size_bytes],
              ['MODIFIED', (e) => e.modified_at],
              ['NAME', (e) => e.name],
            ]);
          }),
        ),
      ['hpctl files ls 5d2a… config'],
    ),
  );
  files.addCommand(
    examples(
      new Command('get')
        .description('Download a file of the instance (progress on stderr)')
        .argument('<instance>')
        .argument('<path>', 'relative to the instance root')
        .argument('[local]', 'where to write it (default: its name here)')
        .action(
          run(async (s, [id, path, local]) => {
            const query = new URLSearchParams({ path });
            const target = local ?? basename(path);
            const { bytes } = await downloadToFile(
              s.client,
              `/v1/instances/${encodeURIComponent(id)}/files/download?${query}`,
              target,
              { onProgress: bytesProgress(`get ${path}`) },
            );
            process.stderr.write(`wrote ${bytes} bytes to ${target}\n`);
          }),
        ),
      ['hpctl files get 5d2a… world/level.dat ./level.dat'],
    ),
  );
  files.addCommand(
    examples(
      new Command('put')
        .description('Upload a file (TUS: resumable; running it again after a cut continues where it stopped)')
        .argument('<instance>')
        .argument('<local>')
        .argument('<path>', 'target, relative to the instance root')
        .option('--chunk-mib <n>', 'MiB per request', positiveInt, 8)
        .action(
          run<{ chunkMib: number }>(async (s, [id, local, path], o) => {
            const report = bytesProgress(`put ${path}`);
            const result = await uploadPath(s.client, id, local, {
              path,
              chunkSize: o.chunkMib * 1024 * 1024,
              resumeStore: uploadStatePath(),
              onProgress: report,
            });
            if (result.resumedFrom > 0) process.stderr.write(`resumed from byte ${result.resumedFrom}\n`);
            process.stderr.write(`uploaded ${local} to ${path}\n`);
          }),
        ),
      ['hpctl files put 5d2a… ./world.tar backups/world.tar'],
    ),
  );
  return files;
}

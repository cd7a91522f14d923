import { z } from 'zod';
import { fileEntry, instanceFilePath } from '@hostplane/protocol';

const pathParam = instanceFilePath.describe(
  "Relative to the instance root, e.g. 'config/server.properties'; the root itself is '.'",
);
const flag = (description: string) => z.stringbool({ error: 'must be true or false' }).describe(description);

export const filesParams = z.object({ id: z.uuid({ message: 'instance id must be a UUID' }) });
export const uploadParams = filesParams.extend({ upload_id: z.uuid({ message: 'upload id must be a UUID' }) });

export const listFilesQuery = z.object({ path: pathParam.default('.') });
export const filePathQuery = z.object({ path: pathParam });
export const writeFileQuery = z.object({
  path: pathParam,
  overwrite: flag('Replace an existing file (default true)').default(true),
});
export const uploadFilesQuery = z.object({
  path: pathParam
    .default('.')
    .describe("Directory the files go to; each part's filename is relative to it and may name sub-directories"),
  overwrite: flag('Replace existing files (default true)').default(true),
});

export const deleteFilesQuery = z.object({
  path: pathParam.optional().describe('One path to delete (instead of a body)'),
});
export const deleteFilesBody = z.object({ paths: z.array(instanceFilePath).min(1).max(100) }).strict();

export const mkdirBody = z.object({ path: instanceFilePath }).strict();

const move = z.object({ from: instanceFilePath, to: instanceFilePath }).strict();
export const moveFilesBody = z
  .union([
    z.object({ moves: z.array(move).min(1).max(100), overwrite: z.boolean().default(false) }).strict(),
    move.extend({ overwrite: z.boolean().default(false) }).strict(),
  ])
  .transform((b) => ('moves' in b ? b : { moves: [{ from: b.from, to: b.to }], overwrite: b.overwrite }));

export const zipQuery = z
  .object({
    path: pathParam.optional().describe('A directory (or file) to archive'),
    paths: z
      .string()
      .max(64 * 1024)
      .transform((s) => s.split(',').filter((p) => p !== ''))
      .pipe(z.array(instanceFilePath).min(1).max(1000))
      .optional()
      .describe('Comma-separated paths to archive together (instead of path)'),
  })
  .refine((q) => (q.path === undefined) !== (q.paths === undefined), { message: 'give either path or paths' });

export const fileListResponse = z.object({ path: z.string(), entries: z.array(fileEntry), truncated: z.boolean() });
export const deleteFilesResponse = z.object({ deleted: z.array(z.string()), missing: z.array(z.string()) });
export const moveFilesResponse = z.object({ moved: z.array(z.object({ from: z.string(), to: z.string() })) });
export const writeFileResponse = z.object({ path: z.string(), size_bytes: z.number().int() });
export const uploadFilesResponse = z.object({ files: z.array(fileEntry) });
export const fileEntryResponse = fileEntry;

export type FilesParams = z.infer<typeof filesParams>;
export type UploadParams = z.infer<typeof uploadParams>;

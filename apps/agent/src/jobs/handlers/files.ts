import type { JobKind } from '@hostplane/protocol';
import type { InstanceFiles } from '../../files/instance-files';
import type { UploadStaging } from '../../files/uploads';
import { JobHandler, settle } from '../handler-registry';

type FileJobKind = Extract<JobKind, `instance.files.${string}`>;
export type FileJobHandlers = { [K in FileJobKind]: JobHandler<K> };

/**
 * The `instance.files.*` kinds. Each is idempotent by state: a re-run delete reports what is
 * gone as missing, mkdir answers the existing directory, a re-run commit answers the committed
 * file, a re-run move counts a source already at its target as moved.
 */
export function createFileHandlers(files: InstanceFiles, uploads: UploadStaging): FileJobHandlers {
  return {
    'instance.files.list': ({ instance_id: id, path }) => settle(() => files.list(id, path)),
    'instance.files.stat': ({ instance_id: id, path }) => settle(() => files.stat(id, path)),
    'instance.files.delete': ({ instance_id: id, paths }) => settle(() => files.delete(id, paths)),
    'instance.files.mkdir': ({ instance_id: id, path }) => settle(() => files.mkdir(id, path)),
    'instance.files.move': ({ instance_id: id, moves, overwrite }, ctx) =>
      settle(() => files.move(id, moves, overwrite, ctx.rerun ?? false)),
    'instance.files.commit-upload': ({ instance_id: id, upload_id: uploadId, path, overwrite }) =>
      settle(() => uploads.commit(id, uploadId, path, overwrite)),
    'instance.files.abort-upload': ({ instance_id: id, upload_id: uploadId }) =>
      settle(() => ({ removed: uploads.abort(id, uploadId) })),
  };
}

import { AgentError } from '../errors/agent-error';

/** Stable codes of instance file, upload and backup failures, as the hub and its users see them. */
export type FileErrorCode =
  | 'instance_not_found'
  | 'invalid_path'
  | 'path_not_found'
  | 'path_outside_root'
  | 'not_a_directory'
  | 'not_a_file'
  | 'path_exists'
  | 'file_too_large'
  | 'special_file'
  | 'invalid_move'
  | 'offset_mismatch'
  | 'invalid_offset'
  | 'upload_in_progress'
  | 'upload_not_found'
  | 'backup_not_found'
  | 'checksum_mismatch'
  | 'size_mismatch'
  | 'instance_running'
  | 'restore_in_progress'
  | 'permission_denied'
  | 'no_space'
  | 'io_error';

/** A file operation refused or failed in a way the hub should see as is (job error, stream refusal, stream close). */
export class FileError extends AgentError {
  declare readonly code: FileErrorCode;

  constructor(code: FileErrorCode, message: string) {
    super(code, message);
  }
}

/** An errno from the filesystem in words, with the stable code closest to it. */
export function fileErrorFromErrno(err: unknown, what: string): FileError {
  if (err instanceof FileError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return new FileError('path_not_found', `${what}: no such file or directory`);
    case 'EEXIST':
    case 'ENOTEMPTY':
      return new FileError('path_exists', `${what}: the target already exists`);
    case 'ENOTDIR':
      return new FileError('not_a_directory', `${what}: a path component is not a directory`);
    case 'EISDIR':
      return new FileError('not_a_file', `${what}: is a directory`);
    case 'ELOOP':
      return new FileError('path_outside_root', `${what}: a symbolic link appeared in the path; refusing to follow it`);
    case 'EACCES':
    case 'EPERM':
      return new FileError('permission_denied', `${what}: permission denied on the host`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new FileError('no_space', `${what}: the host's disk is full`);
    case 'EFBIG':
      return new FileError('file_too_large', `${what}: the file is too large for the host's filesystem`);
    default:
      return new FileError('io_error', `${what}: ${e.code ?? e.message}`);
  }
}

import { defineErrors } from '../http/error-catalog';

/** Instance files, uploads (multipart and TUS) and transfers; most come from the agent as is. */
export const FILE_ERRORS = defineErrors('files', {
  invalid_path: {
    status: 400,
    message: 'the path is malformed, absolute, has `..`, or leads outside the root through a link',
  },
  invalid_payload: { status: 400, message: 'the node refused the request as malformed' },
  special_file: { status: 400, message: 'the path is a device, socket or FIFO' },
  invalid_offset: { status: 400, message: 'the offset is not valid for this file' },
  invalid_move: { status: 400, message: 'a directory cannot be moved into itself' },
  invalid_header: { status: 400, message: 'a TUS header is missing or malformed' },
  path_not_found: { status: 404, message: 'no such file or directory' },
  upload_not_found: { status: 404, message: 'no such upload (or it expired)' },
  not_a_directory: { status: 409, message: 'a path component is not a directory' },
  not_a_file: { status: 409, message: 'the path is a directory' },
  path_exists: { status: 409, message: 'the target already exists' },
  offset_mismatch: {
    status: 409,
    message: "Upload-Offset differs from the upload's offset: ask with HEAD and resume from there",
  },
  instance_running: { status: 409, message: 'stop the instance first' },
  tus_version_unsupported: { status: 412, message: 'Tus-Resumable is not 1.0.0' },
  file_too_large: { status: 413, message: 'the file is larger than the limit' },
  upload_too_long: { status: 413, message: 'the body goes past Upload-Length' },
  upload_locked: { status: 423, message: 'another request is appending to this upload' },
  upload_in_progress: { status: 423, message: 'an upload to this path is in progress' },
  restore_in_progress: { status: 423, message: 'a backup is being restored into the instance' },
  transfer_interrupted: { status: 502, message: 'the transfer with the node was interrupted: nothing was completed' },
  no_space: { status: 507, message: "the node's disk is full" },
});

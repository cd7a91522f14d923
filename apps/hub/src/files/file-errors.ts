import { DomainError } from '../http/errors';
import { StreamFailedError } from '../tunnel/stream-io';
import { type StreamCloseInfo, StreamOpenError } from '../tunnel/tunnel-streams';

/**
 * What each agent file error means over HTTP. The agent's code is kept (a client can branch on
 * it) except the path refusals, which all read as `invalid_path`: whether a path was malformed
 * or led outside the root through a link is the same mistake for the caller.
 */
const AGENT_FILE_ERRORS: Record<string, { status: number; code?: string }> = {
  path_not_found: { status: 404 },
  instance_not_found: { status: 404 },
  upload_not_found: { status: 404 },
  path_outside_root: { status: 400, code: 'invalid_path' },
  invalid_path: { status: 400 },
  invalid_payload: { status: 400 },
  special_file: { status: 400 },
  not_a_directory: { status: 409 },
  not_a_file: { status: 409 },
  path_exists: { status: 409 },
  offset_mismatch: { status: 409 },
  invalid_offset: { status: 400 },
  invalid_move: { status: 400 },
  upload_in_progress: { status: 423 },
  restore_in_progress: { status: 423 },
  transfer_interrupted: { status: 502 },
  instance_running: { status: 409 },
  permission_denied: { status: 403 },
  file_too_large: { status: 413 },
  no_space: { status: 507 },
  node_offline: { status: 409 },
  agent_timeout: { status: 504 },
  node_timeout: { status: 504 },
};

export class FileTooLargeError extends DomainError {
  constructor(what: string, limit: number) {
    super(`${what} is larger than the limit of ${limit} bytes`, 'file_too_large', 413, { limit_bytes: limit });
  }
}

/**
 * The agent ends a finished transfer with exit code 0 (output) or `bytes` (input). A close
 * without either came from the hub's side (the tunnel dropped, the agent went away): the
 * transfer is incomplete, whatever arrived so far.
 */
export class TransferInterruptedError extends DomainError {
  constructor(reason: string | undefined) {
    super(`the transfer with the node was interrupted${reason ? ` (${reason})` : ''}: nothing was completed, try again`, 'transfer_interrupted', 502);
  }
}

/** The bytes the agent confirmed for an input stream, or TransferInterruptedError. */
export function confirmedBytes(info: StreamCloseInfo): number {
  if (info.bytes === undefined) throw new TransferInterruptedError(info.reason);
  return info.bytes;
}


/** A failure from the agent (a job, a stream open, a stream that failed midway) as the right HTTP answer. */
export function fileErrorFromAgent(err: unknown): unknown {
  let code: string;
  let message: string;
  if (err instanceof StreamOpenError || err instanceof StreamFailedError) {
    code = err.code;
    message = err.message;
  } else if (err instanceof DomainError && err.status >= 500) {
    // InstanceQueries.ask answers a failed job with 502 and the agent's code.
    code = err.code;
    message = err.message;
  } else {
    return err;
  }
  const known = AGENT_FILE_ERRORS[code];
  if (!known) return new DomainError(message, code, 502);
  return new DomainError(message, known.code ?? code, known.status);
}

/** Runs an agent call and rethrows its failure mapped to HTTP. */
export async function agentCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw fileErrorFromAgent(err);
  }
}

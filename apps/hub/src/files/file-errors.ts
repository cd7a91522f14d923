import { agentCodeError } from '../http/error-catalog';
import { DomainError } from '../http/errors';
import { StreamFailedError } from '../tunnel/stream-io';
import { type StreamCloseInfo, StreamOpenError } from '../tunnel/tunnel-streams';

/**
 * The agent's codes are kept (a client can branch on them; their statuses are in the catalogs)
 * except the path refusals, which all read as `invalid_path`: whether a path was malformed or
 * led outside the root through a link is the same mistake for the caller.
 */
const RENAMED_AGENT_CODES: Record<string, string> = { path_outside_root: 'invalid_path' };

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
    super(
      `the transfer with the node was interrupted${reason ? ` (${reason})` : ''}: nothing was completed, try again`,
      'transfer_interrupted',
      502,
    );
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
  return agentCodeError(RENAMED_AGENT_CODES[code] ?? code, message);
}

/** Runs an agent call and rethrows its failure mapped to HTTP. */
export async function agentCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw fileErrorFromAgent(err);
  }
}

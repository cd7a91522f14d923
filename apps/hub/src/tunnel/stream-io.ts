import { Readable } from 'node:stream';
import { STREAM_CHUNK_BYTES } from '@hostplane/protocol';
import type { HubStream, StreamCloseInfo } from './tunnel-streams';

/** An agent-side failure of a tunnel stream, with the agent's code (`checksum_mismatch`, `not_found`, …). */
export class StreamFailedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StreamFailedError';
  }
}

/**
 * Byte streams (file.read, backup.read, files.archive, container.logs, and the input kinds) end
 * cleanly only with the agent's `exit_code: 0`. Anything else failed: the agent's error, a
 * non-zero exit, or a close without an exit code — the tunnel dropped, or the hub closed it —
 * which must never pass for a complete (but truncated) file.
 */
export function closeFailure(info: StreamCloseInfo): StreamFailedError | null {
  if (info.error) return new StreamFailedError(info.error.code, info.error.message);
  if (info.exit_code === 0) return null;
  if (info.exit_code !== undefined)
    return new StreamFailedError('stream_failed', info.reason ?? `stream ended with exit code ${info.exit_code}`);
  return new StreamFailedError(
    'transfer_interrupted',
    `the transfer was interrupted: ${info.reason ?? 'the stream closed early'}`,
  );
}

/**
 * A tunnel stream's output as a Node Readable. Credit goes back to the agent only when the
 * reader wants more, so a slow HTTP client slows the agent's reads and nothing piles up here.
 * Destroying the Readable (client went away) closes the stream on the agent.
 */
export function readableFromStream(stream: HubStream): Readable {
  let owed = 0;
  const readable = new Readable({
    highWaterMark: STREAM_CHUNK_BYTES * 4,
    read() {
      if (owed > 0) {
        stream.consumed(owed);
        owed = 0;
      }
    },
    destroy(err, cb) {
      if (!stream.closed) stream.close(err ? `reader failed: ${err.message}` : 'the reader went away');
      cb(err);
    },
  });
  // Whoever reads sees the error; this keeps one that comes before a reader attached from being uncaught.
  readable.on('error', () => undefined);
  stream.onData((chunk) => {
    owed += chunk.length;
    if (readable.push(chunk)) {
      stream.consumed(owed);
      owed = 0;
    }
  });
  stream.onClose((info) => {
    const failure = closeFailure(info);
    if (failure) readable.destroy(failure);
    else readable.push(null);
  });
  return readable;
}

/**
 * Sends a byte source into an input stream (file.write, backup.write) with backpressure, then
 * ends the input and returns the agent's verdict. A failure on the agent throws StreamFailedError.
 */
export async function pipeIntoStream(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  stream: HubStream,
): Promise<StreamCloseInfo> {
  try {
    for await (const chunk of source) {
      if (stream.closed) break;
      await stream.writeAndDrain(
        typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      );
    }
  } catch (err) {
    stream.close(`the source failed: ${(err as Error).message}`);
    throw err;
  }
  const info = await stream.endInput();
  const failure =
    closeFailure(info) ??
    (info.bytes === undefined
      ? new StreamFailedError('transfer_interrupted', 'the agent closed the input without confirming what it stored')
      : null);
  if (failure) throw failure;
  return info;
}

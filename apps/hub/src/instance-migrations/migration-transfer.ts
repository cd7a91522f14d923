import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { closeFailure, pipeIntoStream, readableFromStream, StreamFailedError } from '../tunnel/stream-io';
import { NodeNotConnectedError, type NodeStreams } from '../tunnel/relay/node-streams';
import { StreamOpenError, type HubStream, type StreamCloseInfo } from '../tunnel/tunnel-streams';
import type { MigrationBackup } from './migration.entity';

export interface TransferOptions {
  instanceId: string;
  sourceNodeId: string;
  targetNodeId: string;
  backup: MigrationBackup;
  /** Called with the bytes sent so far, as they go. */
  onBytes(sent: number): void;
  /**
   * Aborts the transfer (cancel, watchdog, hub stopping); a TransferError as the reason is what the transfer fails
   * with.
   */
  signal: AbortSignal;
  /** 0: as fast as the target takes it. */
  bytesPerSecond: number;
}

/**
 * A transfer that failed for a reason worth a second try (a stream that could not open) or not (checksum, a peer gone).
 */
export class TransferError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A peer's socket closed: the transfer fails at once, and trying again cannot help until it is back. */
export const PEER_GONE = new Set(['source_disconnected', 'target_disconnected']);

/**
 * Copies a backup archive from the source host to the target host through this hub:
 * `backup.read` on the source's tunnel piped into `backup.write` on the target's, with credit
 * flow control end to end (the target's pace sets the source's), nothing buffered on disk. The
 * target checks size and SHA-256 at eof and refuses a mismatch. Either agent may be connected to
 * another replica: its stream is relayed there with the same credit.
 *
 * Every part is joined by one `pipeline` and one abort signal, so whatever ends first (the
 * caller's abort, either peer's socket closing, either stream failing) ends the whole chain and
 * closes both streams on the agents; nothing is left waiting for a chunk that will not come.
 */
export async function transferBackup(streams: Pick<NodeStreams, 'open'>, o: TransferOptions): Promise<number> {
  const chain = new AbortController();
  let failure: TransferError | undefined;
  const opened: HubStream[] = [];
  const stop = (e: TransferError) => {
    if (chain.signal.aborted) return;
    failure = e;
    // Closed first: a write waiting for credit from a frozen peer is released, so the chain can unwind.
    for (const s of opened) s.close(`migration transfer failed: ${e.message}`);
    chain.abort(e);
  };
  const onAbort = () =>
    stop(
      o.signal.reason instanceof TransferError
        ? o.signal.reason
        : new TransferError('aborted', 'the transfer was aborted'),
    );
  const onSourceGone = () =>
    stop(new TransferError('source_disconnected', 'the source node disconnected during the transfer'));
  const onTargetGone = () =>
    stop(new TransferError('target_disconnected', 'the target node disconnected during the transfer'));
  const ended = (info: StreamCloseInfo, gone: () => void) => {
    const f = closeFailure(info);
    if (!f) return;
    // The peer's socket (or the replica holding it) went away.
    if (info.disconnected) gone();
    // Only what the agent reported: a close from this side is the chain's own doing and already in its error.
    else if (info.error || info.exit_code !== undefined) stop(new TransferError(f.code, f.message));
  };
  if (o.signal.aborted) onAbort();
  else o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const params = { instance_id: o.instanceId, backup_id: o.backup.backup_id };
    const reader = await openUnlessAborted(streams, o.sourceNodeId, 'backup.read', params, chain.signal, opened).catch(
      offline('source'),
    );
    const writer = await openUnlessAborted(
      streams,
      o.targetNodeId,
      'backup.write',
      { ...params, size_bytes: o.backup.size_bytes, sha256: o.backup.sha256 },
      chain.signal,
      opened,
    ).catch(offline('target'));
    // Either stream ending badly ends the chain even while no chunk is in flight (the tunnel
    // closes a dead peer's streams before its socket's disconnect listeners here run).
    reader.onClose((info) => ended(info, onSourceGone));
    writer.onClose((info) => ended(info, onTargetGone));
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        sent += chunk.length;
        o.onBytes(sent);
        cb(null, chunk);
      },
    });
    let info: StreamCloseInfo = {};
    await pipeline(
      readableFromStream(reader),
      throttle(o.bytesPerSecond),
      counter,
      async (chunks: AsyncIterable<Buffer>) => {
        info = await pipeIntoStream(chunks, writer);
      },
      { signal: chain.signal },
    );
    if (failure) throw failure;
    if (sent !== o.backup.size_bytes)
      throw new TransferError('transfer_incomplete', `the source sent ${sent} of ${o.backup.size_bytes} bytes`);
    return info.bytes ?? sent;
  } catch (err) {
    for (const s of opened) s.close('migration transfer failed');
    if (failure) throw failure;
    if (err instanceof TransferError) throw err;
    if (err instanceof StreamFailedError || err instanceof StreamOpenError)
      throw new TransferError(err.code, err.message);
    throw new TransferError('transfer_failed', (err as Error).message);
  } finally {
    o.signal.removeEventListener('abort', onAbort);
  }
}

function offline(which: 'source' | 'target'): (err: unknown) => never {
  return (err) => {
    if (err instanceof NodeNotConnectedError)
      throw new TransferError('node_offline', `the ${which} node is not connected to any hub replica`);
    throw err;
  };
}

/** Opens a stream, giving up as soon as the chain is aborted; a stream that opens after that is closed at once. */
async function openUnlessAborted(
  streams: Pick<NodeStreams, 'open'>,
  nodeId: string,
  kind: 'backup.read' | 'backup.write',
  params: Record<string, unknown>,
  signal: AbortSignal,
  opened: HubStream[],
): Promise<HubStream> {
  const opening = streams.open(nodeId, kind, params).then((s) => {
    opened.push(s);
    if (signal.aborted) s.close('migration transfer aborted');
    return s;
  });
  return new Promise<HubStream>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void opening.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Passes chunks on no faster than `bytesPerSecond` on average (0: untouched); credit flow control slows the source to
 * match.
 */
export function throttle(bytesPerSecond: number): Transform {
  const startedAt = Date.now();
  let passed = 0;
  let timer: NodeJS.Timeout | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (bytesPerSecond <= 0) return cb(null, chunk);
      passed += chunk.length;
      const wait = startedAt + (passed / bytesPerSecond) * 1000 - Date.now();
      if (wait <= 0) return cb(null, chunk);
      timer = setTimeout(() => cb(null, chunk), wait);
    },
    destroy(err, cb) {
      clearTimeout(timer);
      cb(err);
    },
  });
}

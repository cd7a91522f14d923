import { Transform } from 'node:stream';
import { closeFailure, pipeIntoStream, readableFromStream, StreamFailedError } from '../tunnel/stream-io';
import { StreamOpenError, type HubStream } from '../tunnel/tunnel-streams';
import type { TunnelServer } from '../tunnel/tunnel.server';
import type { MigrationBackup } from './migration.entity';

export interface TransferOptions {
  instanceId: string;
  sourceNodeId: string;
  targetNodeId: string;
  backup: MigrationBackup;
  /** Called with the bytes sent so far, as they go. */
  onBytes(sent: number): void;
  /** Aborts the transfer (cancel, hub stopping): both streams are closed. */
  signal: AbortSignal;
}

/** A transfer that failed for a reason worth a second try (a dropped tunnel) or not (checksum). */
export class TransferError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Copies a backup archive from the source host to the target host through this hub:
 * `backup.read` on the source's tunnel piped into `backup.write` on the target's, with credit
 * flow control end to end (the target's pace sets the source's), nothing buffered on disk. The
 * target checks size and SHA-256 at eof and refuses a mismatch. Both agents must be connected to
 * this replica.
 */
export async function transferBackup(tunnel: TunnelServer, o: TransferOptions): Promise<number> {
  const source = tunnel.session(o.sourceNodeId);
  const target = tunnel.session(o.targetNodeId);
  if (!source || !target) {
    throw new TransferError('node_offline', `the ${!source ? 'source' : 'target'} node is not connected to this hub replica`);
  }
  let reader: HubStream | undefined;
  let writer: HubStream | undefined;
  const abort = () => {
    reader?.close('migration transfer aborted');
    writer?.close('migration transfer aborted');
  };
  o.signal.addEventListener('abort', abort, { once: true });
  try {
    const params = { instance_id: o.instanceId, backup_id: o.backup.backup_id };
    reader = await open(tunnel, source, 'backup.read', params);
    writer = await open(tunnel, target, 'backup.write', { ...params, size_bytes: o.backup.size_bytes, sha256: o.backup.sha256 });
    if (o.signal.aborted) abort();
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        sent += chunk.length;
        o.onBytes(sent);
        cb(null, chunk);
      },
    });
    const source$ = readableFromStream(reader).pipe(counter);
    const info = await pipeIntoStream(source$, writer);
    if (o.signal.aborted) throw new TransferError('aborted', 'the transfer was aborted');
    if (sent !== o.backup.size_bytes) throw new TransferError('transfer_incomplete', `the source sent ${sent} of ${o.backup.size_bytes} bytes`);
    const failure = closeFailure(info);
    if (failure) throw failure;
    return info.bytes ?? sent;
  } catch (err) {
    abort();
    if (err instanceof TransferError) throw err;
    if (err instanceof StreamFailedError) throw new TransferError(err.code, err.message);
    if (err instanceof StreamOpenError) throw new TransferError(err.code, err.message);
    throw new TransferError('transfer_failed', (err as Error).message);
  } finally {
    o.signal.removeEventListener('abort', abort);
  }
}

async function open(tunnel: TunnelServer, session: NonNullable<ReturnType<TunnelServer['session']>>, kind: 'backup.read' | 'backup.write', params: Record<string, unknown>): Promise<HubStream> {
  return tunnel.streams.open(session, kind, params);
}

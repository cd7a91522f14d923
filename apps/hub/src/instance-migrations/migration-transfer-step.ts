import type { Logger } from 'pino';
import type { NodeStreams } from '../tunnel/relay/node-streams';
import type { TunnelServer } from '../tunnel/tunnel.server';
import { PEER_GONE, TransferError, transferBackup } from './migration-transfer';
import type { StepWatchdog } from './migration-watchdog';
import type { MigrationEntity, MigrationError } from './migration.entity';

/** An agent job of a step ended badly, or the transfer failed: before the switch this rolls back. */
export class StepFailed extends Error {
  constructor(readonly error: MigrationError) {
    super(error.message);
  }
}

/** The hub is shutting down: the job is retried (here after a restart, or on another replica), resuming at its step. */
export class RunnerStopping extends Error {}

const PROGRESS_EVERY_MS = 500;
/** How often a running transfer looks for a cancel or a stall. */
const WATCH_MS = 500;
const ATTEMPTS = 3;
/** After a hub restart the agents reconnect within seconds; a transfer waits this long for both. */
const SESSION_WAIT_MS = 30_000;

/** What the transfer step needs from the runner that owns the migration. */
export interface TransferStepHost {
  readonly tunnel: TunnelServer;
  readonly streams: NodeStreams;
  readonly log: Logger;
  readonly bytesPerSecond: number;
  stopping(): boolean;
  cancelRequested(id: string): Promise<boolean>;
  progress(m: MigrationEntity, fraction: number, message: string, bytes?: number): Promise<void>;
  stalledError(m: MigrationEntity): MigrationError;
}

/**
 * The `transfer` step: the archive from source to target through this replica, tried again when
 * a stream could not open, ended at once by a cancel, the watchdog, or a peer's socket closing.
 */
export class TransferStep {
  /** The running transfers: aborted when the hub shuts down. */
  readonly aborts = new Set<AbortController>();

  constructor(private readonly host: TransferStepHost) {}

  async run(m: MigrationEntity, watchdog: StepWatchdog | undefined): Promise<void> {
    if (!m.backup)
      throw new StepFailed({
        code: 'no_backup',
        message: 'transfer: the backup step left no archive',
        step: 'transfer',
      });
    const { backup } = m;
    const total = backup.size_bytes;
    let last = 0;
    for (let attempt = 1; ; attempt++) {
      await this.waitForSessions(m);
      const abort = new AbortController();
      this.aborts.add(abort);
      watchdog?.touch();
      const watch = setInterval(() => {
        if (watchdog?.stalled) abort.abort(new TransferError('stalled', this.host.stalledError(m).message));
        void this.host.cancelRequested(m.id).then(
          (c) => c && abort.abort(new TransferError('cancelled', 'cancelled on request')),
          () => undefined,
        );
      }, WATCH_MS);
      try {
        await this.host.progress(m, 0, `transferring ${mb(total)} MB`);
        await transferBackup(this.host.streams, {
          instanceId: m.instanceId,
          sourceNodeId: m.sourceNodeId,
          targetNodeId: m.targetNodeId,
          backup,
          signal: abort.signal,
          bytesPerSecond: this.host.bytesPerSecond,
          onBytes: (sent) => {
            watchdog?.touch();
            if (Date.now() - last < PROGRESS_EVERY_MS && sent < total) return;
            last = Date.now();
            void this.host
              .progress(m, total ? sent / total : 1, `transferred ${mb(sent)} of ${mb(total)} MB`, sent)
              .catch(() => undefined);
          },
        });
        await this.host.progress(m, 1, `transferred ${mb(total)} MB`, total);
        return;
      } catch (err) {
        if (this.host.stopping()) throw new RunnerStopping();
        if (await this.host.cancelRequested(m.id))
          throw new StepFailed({ code: 'cancelled', message: 'cancelled on request', step: 'transfer' });
        const e = err instanceof TransferError ? err : new TransferError('transfer_failed', (err as Error).message);
        if (e.code === 'stalled') throw new StepFailed(this.host.stalledError(m));
        // A checksum mismatch will not heal by itself, nor is a peer that went away worth keeping
        // the instance down for: both roll back at once. A stream that could not open may work next time.
        if (e.code === 'checksum_mismatch' || PEER_GONE.has(e.code) || attempt >= ATTEMPTS)
          throw new StepFailed({ code: e.code, message: `transfer: ${e.message}`, step: 'transfer' });
        this.host.log.warn(
          { migrationId: m.id, attempt, code: e.code, reason: e.message },
          'migration transfer failed, trying again',
        );
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      } finally {
        clearInterval(watch);
        this.aborts.delete(abort);
      }
    }
  }

  private async waitForSessions(m: MigrationEntity): Promise<void> {
    const { tunnel } = this.host;
    const until = Date.now() + SESSION_WAIT_MS;
    // Any replica may hold either socket: the transfer relays to it.
    for (;;) {
      const [source, target] = await Promise.all([tunnel.isOnline(m.sourceNodeId), tunnel.isOnline(m.targetNodeId)]);
      if (source && target) return;
      if (this.host.stopping()) throw new RunnerStopping();
      if (await this.host.cancelRequested(m.id))
        throw new StepFailed({ code: 'cancelled', message: 'cancelled on request', step: 'transfer' });
      if (Date.now() > until) {
        const which = source ? 'target' : 'source';
        throw new StepFailed({
          code: 'node_offline',
          message: `transfer: the ${which} node is not connected to any hub replica`,
          step: 'transfer',
        });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

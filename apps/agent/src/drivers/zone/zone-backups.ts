import { closeSync, fsyncSync, openSync, renameSync, statSync } from 'node:fs';
import type { BackupInfo } from '@hostplane/protocol';
import type { BackupStore } from '../../backups/backup-store';
import { sha256OfFile } from '../../files/file-hash';
import { runWithFiles } from '../../illumos/host-exec';
import { DriverError } from '../driver';
import type { ZoneDriver } from './zone-driver';

const STREAM_TIMEOUT_MS = 6 * 3600_000;

/**
 * Backups of zone instances: a recursive snapshot of the zone's dataset (zonepath and boot disk)
 * sent as one `zfs send -R` stream, restored with `zfs receive -F` over the stopped zone's
 * dataset. The snapshot is destroyed once sent: the stream is the backup. It is kept where the
 * backup store keeps every archive, with the same record, so download, S3 upload and migration
 * transfer carry it like any other backup (its content is a ZFS stream, not a tarball).
 */
export class ZoneBackups {
  constructor(
    private readonly driver: ZoneDriver,
    private readonly store: BackupStore,
  ) {}

  async create(instanceId: string, backupId: string): Promise<BackupInfo> {
    const done = this.store.info(instanceId, backupId);
    if (done) return done;
    const stream = this.store.archivePath(instanceId, backupId);
    const plan = this.driver.plan(this.driver.store.readSpec(instanceId));
    const snapshot = backupSnapshot(plan.dataset, backupId);
    const host = this.driver.host;
    const all = await host.datasets(plan.dataset);
    const datasets = all.filter((d) => !d.includes('@'));
    if (!all.includes(snapshot)) await host.exec.run(['zfs', 'snapshot', '-r', snapshot]);
    this.store.prepareDir(instanceId);
    // A dot name: the store sweeps what a crashed agent left half-written.
    const partial = stream.replace(/([^/]+)$/, '.$1.part-zfs');
    const fd = openSync(partial, 'w', 0o600);
    try {
      await runWithFiles(host.exec, ['zfs', 'send', '-R', snapshot], { stdoutFd: fd }, STREAM_TIMEOUT_MS);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
      await host.exec.run(['zfs', 'destroy', '-r', snapshot]).catch(() => undefined);
    }
    renameSync(partial, stream);
    const info: BackupInfo = {
      backup_id: backupId,
      instance_id: instanceId,
      size_bytes: statSync(stream).size,
      sha256: await sha256OfFile(stream),
      file_count: datasets.length,
      created_at: new Date().toISOString(),
    };
    await this.store.writeRecord(instanceId, backupId, info);
    return info;
  }

  /**
   * Replaces the zone's datasets with the backup's; the instance must be stopped. A zone that is
   * only configured (a migration's target, created with `restoreFollows`) receives them as new and
   * is attached over them. The snapshot the stream carries is destroyed once received, as the
   * source destroyed its own: the zone keeps no snapshot it did not have.
   */
  async restore(instanceId: string, backupId: string, sha256?: string): Promise<{ file_count: number }> {
    const info = this.store.require(instanceId, backupId);
    const stream = this.store.archivePath(instanceId, backupId);
    if ((await sha256OfFile(stream)) !== (sha256 ?? info.sha256))
      throw new DriverError('driver_error', `backup ${backupId} does not match its checksum; it was not restored`);
    const plan = this.driver.plan(this.driver.store.readSpec(instanceId));
    const host = this.driver.host;
    const state = (await host.zone(plan.zone))?.state;
    if (state === 'running' || state === 'ready')
      throw new DriverError(
        'instance_busy',
        `zone ${plan.zone} is ${state}; stop the instance before restoring a backup`,
      );
    const fd = openSync(stream, 'r');
    try {
      await runWithFiles(host.exec, ['zfs', 'receive', '-F', plan.dataset], { stdinFd: fd }, STREAM_TIMEOUT_MS);
    } finally {
      closeSync(fd);
    }
    const received = backupSnapshot(plan.dataset, backupId);
    if ((await host.datasets(plan.dataset)).includes(received)) await host.exec.run(['zfs', 'destroy', '-r', received]);
    if (state === 'configured') await host.attach(plan.zone);
    return { file_count: info.file_count };
  }

  delete(instanceId: string, backupId: string): boolean {
    return this.store.delete(instanceId, backupId);
  }
}

function backupSnapshot(dataset: string, backupId: string): string {
  return `${dataset}@hp-backup-${backupId}`;
}

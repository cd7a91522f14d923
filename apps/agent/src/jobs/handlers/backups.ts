import type { JobKind } from '@hostplane/protocol';
import type { BackupStore } from '../../backups/backup-store';
import { FileError } from '../../files/file-error';
import type { InstanceManager } from '../../instances/instance-manager';
import { JobHandler, settle } from '../handler-registry';
import { ZoneBackups } from '../../drivers/zone/zone-backups';
import { ZoneDriver } from '../../drivers/zone/zone-driver';

type BackupJobKind = Extract<JobKind, `instance.backup.${string}`>;
export type BackupJobHandlers = { [K in BackupJobKind]: JobHandler<K> };

export function createBackupHandlers(backups: BackupStore, instances: InstanceManager): BackupJobHandlers {
  // Zone instances are backed up as ZFS send streams of their datasets, not as file archives.
  const zoneBackups = async (id: string): Promise<ZoneBackups | null> => {
    if (!instances.has(id) || instances.store.readSpec(id).driver !== 'zone') return null;
    const driver = await instances.driverOf(id);
    return driver instanceof ZoneDriver ? new ZoneBackups(driver, backups) : null;
  };
  return {
    'instance.backup.create': ({ instance_id: id, backup_id: backupId, ignore }, ctx) =>
      settle(async () => {
        const zone = await zoneBackups(id);
        return zone ? zone.create(id, backupId) : backups.create(id, backupId, ignore, ctx);
      }),
    'instance.backup.restore': ({ instance_id: id, backup_id: backupId, sha256, truncate }) =>
      settle(async () => {
        await assertStopped(instances, id);
        const zone = await zoneBackups(id);
        const { file_count } = zone
          ? await zone.restore(id, backupId, sha256)
          : await backups.restore(id, backupId, sha256, truncate);
        return { instance_id: id, backup_id: backupId, file_count };
      }),
    'instance.backup.delete': ({ instance_id: id, backup_id: backupId }) =>
      settle(async () => {
        const zone = await zoneBackups(id);
        return { backup_id: backupId, deleted: zone ? zone.delete(id, backupId) : backups.delete(id, backupId) };
      }),
  };
}

/** A restore swaps the directory a running workload has open: only a stopped instance may be restored. */
async function assertStopped(instances: InstanceManager, id: string): Promise<void> {
  if (!instances.has(id)) throw new FileError('instance_not_found', `instance ${id} does not exist on this host`);
  let state = instances.store.readState(id).state;
  try {
    state = (await (await instances.driverOf(id)).inspect(id)).state;
  } catch {
    // Driver unavailable (engine down): its last recorded state decides.
  }
  if (state === 'running' || state === 'starting' || state === 'stopping' || state === 'installing') {
    throw new FileError('instance_running', `instance ${id} is ${state}; stop it before restoring a backup`);
  }
}

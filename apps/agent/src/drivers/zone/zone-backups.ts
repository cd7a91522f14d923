import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { backupInfo, BackupInfo } from '@hostplane/protocol';
import { runWithFiles } from '../../illumos/host-exec';
import { assertInstanceId } from '../../instances/instance-store';
import { DriverError } from '../driver';
import type { ZoneDriver } from './zone-driver';

const BACKUP_ID = /^[A-Za-z0-9_-]{8,64}$/;
const STREAM_TIMEOUT_MS = 6 * 3600_000;

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Backups of zone instances: a recursive snapshot of the zone's dataset (zonepath and boot disk)
 * sent as one `zfs send -R` stream to `<state>/backups/<id>/<backup>.zfs`, restored with
 * `zfs receive -F` over the stopped zone's dataset. The snapshot is destroyed once sent: the
 * stream is the backup.
 */
export class ZoneBackups {
  constructor(
    private readonly driver: ZoneDriver,
    private readonly base: string,
  ) {}

  private paths(instanceId: string, backupId: string): { dir: string; stream: string; info: string } {
    assertInstanceId(instanceId);
    if (!BACKUP_ID.test(backupId))
      throw new DriverError('invalid_spec', `backup id "${backupId.slice(0, 80)}" is invalid`);
    const dir = join(this.base, instanceId);
    return { dir, stream: join(dir, `${backupId}.zfs`), info: join(dir, `${backupId}.json`) };
  }

  async create(instanceId: string, backupId: string): Promise<BackupInfo> {
    const p = this.paths(instanceId, backupId);
    if (existsSync(p.info)) return backupInfo.parse(JSON.parse(readFileSync(p.info, 'utf8')));
    const plan = this.driver.plan(this.driver.store.readSpec(instanceId));
    const snapshot = `${plan.dataset}@hp-backup-${backupId}`;
    const host = this.driver.host;
    mkdirSync(p.dir, { recursive: true, mode: 0o700 });
    const datasets = (await host.datasets(plan.dataset)).filter((d) => !d.includes('@'));
    if (!(await host.datasets(plan.dataset)).includes(snapshot))
      await host.exec.run(['zfs', 'snapshot', '-r', snapshot]);
    const partial = `${p.stream}.part`;
    const fd = openSync(partial, 'w', 0o600);
    try {
      await runWithFiles(host.exec, ['zfs', 'send', '-R', snapshot], { stdoutFd: fd }, STREAM_TIMEOUT_MS);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
      await host.exec.run(['zfs', 'destroy', '-r', snapshot]).catch(() => undefined);
    }
    renameSync(partial, p.stream);
    const info: BackupInfo = {
      backup_id: backupId,
      instance_id: instanceId,
      size_bytes: statSync(p.stream).size,
      sha256: await sha256Of(p.stream),
      file_count: datasets.length,
      created_at: new Date().toISOString(),
    };
    writeFileSync(p.info, JSON.stringify(info));
    return info;
  }

  /** Replaces the zone's datasets with the backup's; the instance must be stopped. */
  async restore(instanceId: string, backupId: string, sha256?: string): Promise<{ file_count: number }> {
    const p = this.paths(instanceId, backupId);
    if (!existsSync(p.info))
      throw new DriverError('instance_not_found', `backup ${backupId} of instance ${instanceId} is not on this host`);
    const info = backupInfo.parse(JSON.parse(readFileSync(p.info, 'utf8')));
    if ((await sha256Of(p.stream)) !== (sha256 ?? info.sha256))
      throw new DriverError('driver_error', `backup ${backupId} does not match its checksum; it was not restored`);
    const plan = this.driver.plan(this.driver.store.readSpec(instanceId));
    const state = (await this.driver.host.zone(plan.zone))?.state;
    if (state === 'running' || state === 'ready')
      throw new DriverError(
        'instance_busy',
        `zone ${plan.zone} is ${state}; stop the instance before restoring a backup`,
      );
    const fd = openSync(p.stream, 'r');
    try {
      await runWithFiles(
        this.driver.host.exec,
        ['zfs', 'receive', '-F', plan.dataset],
        { stdinFd: fd },
        STREAM_TIMEOUT_MS,
      );
    } finally {
      closeSync(fd);
    }
    return { file_count: info.file_count };
  }

  delete(instanceId: string, backupId: string): boolean {
    const p = this.paths(instanceId, backupId);
    const existed = existsSync(p.info);
    rmSync(p.stream, { force: true });
    rmSync(p.info, { force: true });
    return existed;
  }
}

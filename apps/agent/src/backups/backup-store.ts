import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { open, opendir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { backupInfo, BackupInfo } from '@hostplane/protocol';
import { assertInstanceId } from '../instances/instance-store';
import { FileError, fileErrorFromErrno } from '../files/file-error';
import { sha256OfFile } from '../files/file-hash';
import type { InstanceFiles } from '../files/instance-files';
import { InstanceRoot, isSpecial } from '../files/instance-root';
import { IgnoreMatcher } from './ignore-patterns';
import { restoreArchive } from './restore-archive';

const BACKUP_ID = /^[A-Za-z0-9_-]{8,64}$/;

export interface BackupContext {
  signal: AbortSignal;
  progress(percent: number, message?: string): void;
}

/**
 * Node-tar records a file with several hard links as a link entry; stored as plain files, every entry restores on its
 * own.
 */
class NoHardLinkCache<K, V> extends Map<K, V> {
  override set(): this {
    return this;
  }
}

/**
 * `<state>/backups/<instance_id>/<backup_id>.tar.gz` with `<backup_id>.json` beside it (size,
 * SHA-256, file count). Archives are written to a temp file, fsynced, then renamed, so a
 * complete name always means a complete archive; the JSON is what makes a backup "done".
 */
export class BackupStore {
  readonly base: string;
  /** Instances whose temp files of an agent that stopped mid-write were swept since start. */
  private readonly swept = new Set<string>();

  constructor(
    stateDir: string,
    private readonly files: InstanceFiles,
  ) {
    this.base = join(stateDir, 'backups');
  }

  dirOf(instanceId: string): string {
    assertInstanceId(instanceId);
    return join(this.base, instanceId);
  }

  /**
   * The instance's backup directory, created, with dead temp files (`.<id>.tar.gz.part-*`, `.arriving-*`) of an earlier
   * run removed.
   */
  prepareDir(instanceId: string): string {
    const dir = this.dirOf(instanceId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!this.swept.has(instanceId)) {
      for (const name of readdirSync(dir)) if (name.startsWith('.')) rmSync(join(dir, name), { force: true });
      this.swept.add(instanceId);
    }
    return dir;
  }

  archivePath(instanceId: string, backupId: string): string {
    if (!BACKUP_ID.test(backupId))
      throw new FileError('invalid_path', `backup id "${backupId.slice(0, 80)}" is invalid`);
    return join(this.dirOf(instanceId), `${backupId}.tar.gz`);
  }

  /** Where a backup's record (its BackupInfo) lives, beside its archive. */
  recordPath(instanceId: string, backupId: string): string {
    return this.archivePath(instanceId, backupId).replace(/\.tar\.gz$/, '.json');
  }

  /** Writes a backup's record durably: it is what says the archive is complete. */
  async writeRecord(instanceId: string, backupId: string, info: BackupInfo): Promise<void> {
    await writeJsonDurably(this.recordPath(instanceId, backupId), info);
  }

  /** The backup's record, or null when it is absent or incomplete. */
  info(instanceId: string, backupId: string): BackupInfo | null {
    const archive = this.archivePath(instanceId, backupId);
    try {
      const parsed = backupInfo.safeParse(JSON.parse(readFileSync(this.recordPath(instanceId, backupId), 'utf8')));
      if (!parsed.success || statSync(archive).size !== parsed.data.size_bytes) return null;
      return parsed.data;
    } catch {
      return null;
    }
  }

  require(instanceId: string, backupId: string): BackupInfo {
    const info = this.info(instanceId, backupId);
    if (!info)
      throw new FileError(
        'backup_not_found',
        `backup ${backupId} of instance ${instanceId} is not stored on this host`,
      );
    return info;
  }

  /** Archives the instance root; a backup id that is already complete is answered as it is (at-least-once delivery). */
  async create(
    instanceId: string,
    backupId: string,
    ignore: readonly string[],
    ctx: BackupContext,
  ): Promise<BackupInfo> {
    const existing = this.info(instanceId, backupId);
    if (existing) return existing;
    const root = this.files.root(instanceId);
    const archive = this.archivePath(instanceId, backupId);
    this.prepareDir(instanceId);
    const matcher = new IgnoreMatcher(ignore);
    const include = (rel: string, st: { isDirectory(): boolean; isSymbolicLink(): boolean }) => {
      if (matcher.ignores(rel, st.isDirectory())) return false;
      if (isSpecial(st as never)) return false;
      if (st.isSymbolicLink() && !linkStaysInside(root, rel)) return false;
      return true;
    };
    const plan = await surveyTree(root.dir, include, ctx.signal);
    ctx.progress(1, `archiving ${plan.files} files (${plan.bytes} bytes)`);

    const tmp = join(this.dirOf(instanceId), `.${backupId}.tar.gz.part-${randomBytes(4).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    let fileCount = 0;
    let packedBytes = 0;
    let lastReport = Date.now();
    const handle = await open(tmp, 'wx', 0o600);
    try {
      const source =
        plan.top.length === 0
          ? emptyTarGz()
          : tar.c(
              {
                cwd: root.dir,
                gzip: true,
                follow: false,
                linkCache: new NoHardLinkCache(),
                filter: (path, st) => {
                  const rel = path.replace(/^\.\//, '');
                  const stats = st as import('node:fs').Stats;
                  if (!include(rel, stats)) return false;
                  if (stats.isFile()) {
                    fileCount++;
                    packedBytes += stats.size;
                  }
                  return true;
                },
              },
              plan.top,
            );
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (ctx.signal.aborted) {
          (source as { destroy?: () => void }).destroy?.();
          break;
        }
        hash.update(chunk);
        size += chunk.length;
        await handle.write(chunk);
        if (Date.now() - lastReport > 500) {
          lastReport = Date.now();
          ctx.progress(
            Math.min(99, 1 + (98 * packedBytes) / Math.max(1, plan.bytes)),
            `${fileCount} of ${plan.files} files`,
          );
        }
      }
      ctx.signal.throwIfAborted();
      await handle.sync();
    } catch (err) {
      await handle.close().catch(() => undefined);
      rmSync(tmp, { force: true });
      if (ctx.signal.aborted) throw err;
      throw fileErrorFromErrno(err, `archiving instance ${instanceId}`);
    }
    await handle.close();
    renameSync(tmp, archive);
    const info: BackupInfo = {
      backup_id: backupId,
      instance_id: instanceId,
      size_bytes: size,
      sha256: hash.digest('hex'),
      file_count: fileCount,
      created_at: new Date().toISOString(),
    };
    await this.writeRecord(instanceId, backupId, info);
    ctx.progress(100, 'archived');
    return info;
  }

  /** Records an archive that arrived by a backup.write stream (already verified and in place). */
  async recordArrived(instanceId: string, backupId: string, size: number, sha256: string): Promise<BackupInfo> {
    const archive = this.archivePath(instanceId, backupId);
    let fileCount = 0;
    await tar.t({
      file: archive,
      maxDecompressionRatio: Infinity,
      onReadEntry: (e) => void (e.type === 'File' || e.type === 'OldFile' ? fileCount++ : 0),
    });
    const info: BackupInfo = {
      backup_id: backupId,
      instance_id: instanceId,
      size_bytes: size,
      sha256,
      file_count: fileCount,
      created_at: new Date().toISOString(),
    };
    await this.writeRecord(instanceId, backupId, info);
    return info;
  }

  /** Replaces (truncate) or overlays the instance root with the archive; the caller checked the instance is stopped. */
  async restore(
    instanceId: string,
    backupId: string,
    sha256: string | undefined,
    truncate: boolean,
  ): Promise<{ file_count: number }> {
    const archive = this.archivePath(instanceId, backupId);
    if (!existsSync(archive))
      throw new FileError(
        'backup_not_found',
        `backup ${backupId} of instance ${instanceId} is not stored on this host`,
      );
    if (sha256 !== undefined) {
      const actual = await sha256OfFile(archive);
      if (actual !== sha256)
        throw new FileError(
          'checksum_mismatch',
          `backup ${backupId} has SHA-256 ${actual}, not the expected ${sha256}; the archive is damaged or not the one meant`,
        );
    }
    return this.files.whileRestoring(instanceId, () =>
      restoreArchive(archive, this.files.root(instanceId, { forRestore: true }).dir, truncate),
    );
  }

  delete(instanceId: string, backupId: string): boolean {
    const archive = this.archivePath(instanceId, backupId);
    const sidecar = this.recordPath(instanceId, backupId);
    const existed = existsSync(archive) || existsSync(sidecar);
    rmSync(sidecar, { force: true });
    rmSync(archive, { force: true });
    return existed;
  }

  /** Every backup of an instance (it is being deleted). */
  removeAll(instanceId: string): void {
    rmSync(this.dirOf(instanceId), { recursive: true, force: true });
  }

  /** A temp file for an arriving archive. */
  arrivalPath(instanceId: string, backupId: string): string {
    return join(this.prepareDir(instanceId), `.${backupId}.tar.gz.arriving-${randomBytes(4).toString('hex')}`);
  }
}

/** A link is archived only when it leads somewhere beneath the root (dangling inside is fine). */
function linkStaysInside(root: InstanceRoot, rel: string): boolean {
  try {
    root.resolve(rel, { followLast: true });
    return true;
  } catch (err) {
    return err instanceof FileError && err.code === 'path_not_found';
  }
}

/** Top-level names to archive, and the files and bytes beneath them (for progress). */
async function surveyTree(
  rootDir: string,
  include: (rel: string, st: import('node:fs').Stats) => boolean,
  signal: AbortSignal,
): Promise<{ top: string[]; files: number; bytes: number }> {
  const top: string[] = [];
  let files = 0;
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    signal.throwIfAborted();
    const dir = await opendir(rel === '' ? rootDir : join(rootDir, rel));
    for await (const d of dir) {
      const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
      const st = await lstat(join(rootDir, childRel)).catch(() => null);
      if (!st || !include(childRel, st)) continue;
      if (rel === '') top.push(d.name);
      if (st.isFile()) {
        files++;
        bytes += st.size;
      } else if (st.isDirectory()) await walk(childRel);
    }
  };
  await walk('');
  return { top: top.sort(), files, bytes };
}

/** An empty instance still gets a valid archive: two zero blocks, gzipped. */
async function* emptyTarGz(): AsyncIterable<Buffer> {
  const { gzipSync } = await import('node:zlib');
  yield gzipSync(Buffer.alloc(1024));
}

async function writeJsonDurably(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.write(JSON.stringify(value, null, 2));
    await handle.sync();
  } finally {
    await handle.close();
  }
  renameSync(tmp, file);
}

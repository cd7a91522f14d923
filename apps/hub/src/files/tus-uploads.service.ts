import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DataSource, Repository } from 'typeorm';
import { instanceFilePath } from '@hostplane/protocol';
import { requireOrg, type Principal } from '../access/principal';
import { DomainError, ValidationFailedError } from '../http/errors';
import { HUB_LOGGER } from '../http/logger';
import type { InstanceEntity } from '../instances/instance.entity';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { actorOf } from '../jobs/operation-actor';
import type { OperationActor } from '../jobs/operation.entity';
import { PeriodicWork } from '../periodic/periodic-work';
import { closeFailure } from '../tunnel/stream-io';
import type { HubStream, StreamCloseInfo } from '../tunnel/tunnel-streams';
import { confirmedBytes, fileErrorFromAgent } from './file-errors';
import { FileUploadEntity } from './file-upload.entity';
import { FilesService, uploadTarget } from './files.service';
import { TusError } from './tus-protocol';

/** A PATCH holds its upload this long, renewed while bytes flow; a crashed hub frees it by expiry. */
const LEASE_SECONDS = 60;
const LEASE_RENEW_MS = 20_000;
/** HEAD right after a cut connection waits briefly for the PATCH that was cut to record its offset. */
const HEAD_WAIT_MS = 3000;
const SWEEP_EVERY_MS = 60_000;
const SWEEP_BATCH = 200;

export interface NewUpload {
  length: number;
  metadata: Record<string, string>;
  /** Directory for a `filename`-only upload (the creation request's `?path=`). */
  dir: string;
}

/**
 * TUS uploads: the record lives in PostgreSQL (any replica can answer HEAD), the bytes are staged
 * on the node. The offset recorded is always one the agent reported as staged, so after a cut
 * connection or a hub crash the client resumes from bytes that really are there.
 */
@Injectable()
export class TusUploadsService implements OnApplicationBootstrap {
  readonly repo: Repository<FileUploadEntity>;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly files: FilesService,
    private readonly jobs: JobDispatcher,
    @Inject(HUB_LOGGER) private readonly log: Logger,
    private readonly periodic: PeriodicWork,
  ) {
    this.repo = db.getRepository(FileUploadEntity);
  }

  onApplicationBootstrap(): void {
    this.periodic.register({ kind: 'files.tus-expired', everyMs: SWEEP_EVERY_MS, run: () => this.sweepExpired() });
  }

  async create(p: Principal, instanceId: string, input: NewUpload): Promise<FileUploadEntity> {
    const i = await this.files.instance(p, instanceId);
    const max = this.files.limits.maxUploadBytes;
    if (input.length > max)
      throw new TusError(
        `Upload-Length ${input.length} is larger than the limit of ${max} bytes`,
        'file_too_large',
        413,
      );
    const upload = await this.repo.save(
      this.repo.create({
        id: randomUUID(),
        orgId: i.orgId,
        instanceId: i.id,
        nodeId: i.nodeId,
        path: targetOf(input),
        length: input.length,
        offset: 0,
        createdBy: p.userId,
        lockedUntil: null,
        expiresAt: new Date(Date.now() + this.files.limits.uploadTtlHours * 3600_000),
        completedAt: null,
      }),
    );
    // An empty file has nothing to PATCH: it is complete at creation.
    if (input.length === 0) return this.append(p, instanceId, upload.id, 0, emptySource());
    return upload;
  }

  /** For HEAD: the upload as recorded, after a PATCH in progress finished (briefly waited for). */
  async describe(p: Principal, instanceId: string, uploadId: string): Promise<FileUploadEntity> {
    const deadline = Date.now() + HEAD_WAIT_MS;
    for (;;) {
      const u = await this.find(p, instanceId, uploadId);
      if (!u.lockedUntil || u.lockedUntil.getTime() < Date.now() || Date.now() > deadline) return u;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * PATCH: appends the body at `clientOffset` through a `file.write` stream with the upload id.
   * Whatever happens to the request, the input is ended cleanly so the agent reports the bytes
   * it staged, and that becomes the offset. At the full length the upload is committed.
   */
  async append(
    p: Principal,
    instanceId: string,
    uploadId: string,
    clientOffset: number,
    source: AsyncIterable<Buffer>,
    contentLength?: number,
  ): Promise<FileUploadEntity> {
    const i = await this.files.instance(p, instanceId);
    const u = await this.lease(p, instanceId, uploadId);
    const renew = setInterval(() => void this.renewLease(uploadId), LEASE_RENEW_MS);
    try {
      if (u.offset !== clientOffset) {
        throw new TusError(
          `Upload-Offset ${clientOffset} does not match the upload's offset ${u.offset}: ask with HEAD and resume from there`,
          'offset_mismatch',
          409,
          { 'upload-offset': String(u.offset) },
        );
      }
      const remaining = u.length - u.offset;
      if (contentLength !== undefined && contentLength > remaining) {
        throw new TusError(
          `the body (${contentLength} bytes) goes past Upload-Length: ${remaining} bytes remain`,
          'upload_too_long',
          413,
        );
      }
      if (remaining > 0 || (u.length === 0 && !u.completedAt)) {
        const stream = await this.files
          .openStream(i, 'file.write', { instance_id: i.id, upload_id: u.id, offset: u.offset, max_bytes: u.length })
          .catch((err: unknown) => this.onStagingLost(p, i, u, err));
        const { info, sourceError } = await appendResumably(takeBytes(source, remaining), stream);
        const staged = info.bytes;
        if (staged !== undefined && staged >= u.offset && staged <= u.length && staged !== u.offset) {
          await this.repo.update({ id: u.id }, { offset: staged });
          u.offset = staged;
        }
        const failure = closeFailure(info);
        if (failure) throw fileErrorFromAgent(failure);
        if (sourceError) throw sourceError;
        confirmedBytes(info);
      }
      if (u.offset === u.length && !u.completedAt) {
        await this.files.ask(p, i, 'instance.files.commit-upload', {
          instance_id: i.id,
          upload_id: u.id,
          path: u.path,
          overwrite: true,
        });
        u.completedAt = new Date();
        await this.repo.update({ id: u.id }, { completedAt: u.completedAt });
      }
      return u;
    } finally {
      clearInterval(renew);
      await this.repo.update({ id: uploadId }, { lockedUntil: null }).catch(() => undefined);
    }
  }

  /**
   * The node holds a different amount than recorded: only after a hub died between the agent
   * staging bytes and the offset being written. The staged bytes are dropped and the client told
   * to start over at 0, which is slower but never assembles a file from bytes nobody vouched for.
   */
  private async onStagingLost(p: Principal, i: InstanceEntity, u: FileUploadEntity, err: unknown): Promise<never> {
    if (!(err instanceof DomainError) || err.code !== 'offset_mismatch') throw err;
    await this.files.ask(p, i, 'instance.files.abort-upload', { instance_id: i.id, upload_id: u.id });
    await this.repo.update({ id: u.id }, { offset: 0 });
    this.log.warn(
      { uploadId: u.id, recorded: u.offset },
      'upload staging on the node disagreed with the recorded offset; restarted at 0',
    );
    throw new TusError(
      `the node no longer holds the upload at offset ${u.offset}: start again at offset 0`,
      'offset_mismatch',
      409,
      { 'upload-offset': '0' },
    );
  }

  /** DELETE (termination): the record goes at once; the node removes the staged bytes when it can. */
  async terminate(p: Principal, instanceId: string, uploadId: string): Promise<void> {
    const i = await this.files.instance(p, instanceId);
    const u = await this.lease(p, instanceId, uploadId);
    if (!u.completedAt) await this.abortOnNode(i.orgId, i.nodeId, u.id, u.instanceId, actorOf(p));
    await this.repo.delete({ id: u.id });
  }

  /** Removes expired uploads; unfinished ones are also aborted on their node. Safe on every replica at once. */
  async sweepExpired(): Promise<number> {
    try {
      const [rows] = (await this.db.query(
        `DELETE FROM file_uploads WHERE id IN (
           SELECT id FROM file_uploads WHERE expires_at < now() AND (locked_until IS NULL OR locked_until < now())
           ORDER BY expires_at LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)
         RETURNING id, org_id, node_id, instance_id, completed_at`,
      )) as [{ id: string; org_id: string; node_id: string; instance_id: string; completed_at: Date | null }[], number];
      for (const r of rows) {
        if (r.completed_at) continue;
        await this.abortOnNode(r.org_id, r.node_id, r.id, r.instance_id, {
          type: 'system',
          id: null,
          name: 'expired upload clean-up',
        }).catch((err: Error) =>
          this.log.warn(
            { uploadId: r.id, reason: err.message },
            'could not queue the removal of an expired upload on its node',
          ),
        );
      }
      if (rows.length) this.log.info({ removed: rows.length }, 'removed expired file uploads');
      return rows.length;
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'sweeping expired uploads failed');
      return 0;
    }
  }

  private async abortOnNode(
    orgId: string,
    nodeId: string,
    uploadId: string,
    instanceId: string,
    actor: OperationActor,
  ): Promise<void> {
    // Queued, not awaited: a node that is away gets it when it returns (or the job expires).
    await this.jobs.enqueue(
      { orgId, nodeId, actor, resources: [`/v1/instances/${instanceId}`] },
      { kind: 'instance.files.abort-upload', payload: { instance_id: instanceId, upload_id: uploadId } },
    );
  }

  private async find(p: Principal, instanceId: string, uploadId: string): Promise<FileUploadEntity> {
    const u = await this.repo.findOneBy({ id: uploadId, orgId: requireOrg(p).id, instanceId });
    if (!u || (!u.completedAt && u.expiresAt.getTime() < Date.now()))
      throw new TusError(`upload ${uploadId} not found (or expired)`, 'not_found', 404);
    return u;
  }

  /** Takes the upload for one request; 423 while another request appends to it. */
  private async lease(p: Principal, instanceId: string, uploadId: string): Promise<FileUploadEntity> {
    const u = await this.find(p, instanceId, uploadId);
    const [rows] = (await this.db.query(
      `UPDATE file_uploads SET locked_until = now() + make_interval(secs => $2)
        WHERE id = $1 AND (locked_until IS NULL OR locked_until < now()) RETURNING id`,
      [u.id, LEASE_SECONDS],
    )) as [{ id: string }[], number];
    if (rows.length === 0)
      throw new TusError(
        'another request is appending to this upload right now: retry once it ended',
        'upload_locked',
        423,
      );
    return this.find(p, instanceId, uploadId);
  }

  private async renewLease(uploadId: string): Promise<void> {
    await this.db
      .query(
        `UPDATE file_uploads SET locked_until = now() + make_interval(secs => $2) WHERE id = $1 AND locked_until IS NOT NULL`,
        [uploadId, LEASE_SECONDS],
      )
      .catch((err: Error) => this.log.warn({ uploadId, reason: err.message }, 'could not renew an upload lease'));
  }
}

/**
 * The target path from Upload-Metadata: `path` (relative to the root), else `filename` in the creation's `?path=`
 * directory.
 */
function targetOf(input: NewUpload): string {
  const { path, filename } = input.metadata;
  if (path !== undefined) {
    const r = instanceFilePath.safeParse(path);
    if (!r.success || path === '.') {
      throw new ValidationFailedError('Upload-Metadata', [
        {
          path: 'path',
          message: r.success ? 'must name a file, not the root' : (r.error.issues[0]?.message ?? 'is invalid'),
        },
      ]);
    }
    return path;
  }
  if (filename !== undefined) return uploadTarget(input.dir, filename);
  throw new ValidationFailedError('Upload-Metadata', [
    { path: 'path', message: 'give the target as "path" (relative to the instance root) or "filename"' },
  ]);
}

/**
 * Sends what the client sends; if the client goes away, the input is still ended so the agent reports what it staged.
 */
async function appendResumably(
  source: AsyncIterable<Buffer>,
  stream: HubStream,
): Promise<{ info: StreamCloseInfo; sourceError: unknown }> {
  let sourceError: unknown = null;
  try {
    for await (const chunk of source) {
      if (stream.closed) break;
      await stream.writeAndDrain(chunk);
    }
  } catch (err) {
    sourceError = err;
  }
  return { info: await stream.endInput(), sourceError };
}

/** At most `n` bytes of `source`; a client sending past Upload-Length has the excess ignored. */
async function* takeBytes(source: AsyncIterable<Buffer>, n: number): AsyncGenerator<Buffer> {
  let left = n;
  if (left <= 0) return;
  for await (const chunk of source) {
    if (chunk.length >= left) {
      yield chunk.subarray(0, left);
      return;
    }
    left -= chunk.length;
    yield chunk;
  }
}

async function* emptySource(): AsyncGenerator<Buffer> {}

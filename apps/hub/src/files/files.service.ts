import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import {
  type AnyJob,
  instanceFilePath,
  JOB_KINDS,
  type FileEntry,
  type JobKind,
  type JobOf,
  type JobResult,
  type StreamKind,
} from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { ValidationFailedError } from '../http/errors';
import type { InstanceEntity } from '../instances/instance.entity';
import { InstanceQueries } from '../instances/instance-queries';
import { InstancesService } from '../instances/instances.service';
import { pipeIntoStream, readableFromStream } from '../tunnel/stream-io';
import type { HubStream } from '../tunnel/tunnel-streams';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { agentCall, confirmedBytes, fileErrorFromAgent, FileTooLargeError } from './file-errors';

export interface FileDownload {
  name: string;
  size: number;
  modifiedAt: string | null;
  body: Readable;
  /** Ends the agent side without reading (HEAD requests). */
  cancel(): void;
}

export interface UploadPart {
  filename: string;
  file: AsyncIterable<Buffer> & { truncated?: boolean };
}

/**
 * Files of an instance root, on its node: short operations are jobs answered inline, byte
 * transfers are tunnel streams with backpressure end to end (nothing is held whole on the hub).
 */
@Injectable()
export class FilesService {
  constructor(
    private readonly instances: InstancesService,
    private readonly queries: InstanceQueries,
    private readonly nodeStreams: NodeStreams,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  get limits(): HubConfig['files'] {
    return this.config.files;
  }

  instance(p: Principal, id: string): Promise<InstanceEntity> {
    return this.instances.get(p, id);
  }

  /** A file job on the instance's node, its result checked against the job's result schema. */
  async ask<K extends JobKind>(
    p: Principal,
    i: InstanceEntity,
    kind: K,
    payload: JobOf<K>['payload'],
  ): Promise<JobResult<K>> {
    const raw = await agentCall(() => this.queries.ask(p, i, { kind, payload } as AnyJob));
    return JOB_KINDS[kind].result.parse(raw) as JobResult<K>;
  }

  async list(p: Principal, id: string, path: string) {
    const i = await this.instance(p, id);
    return this.ask(p, i, 'instance.files.list', { instance_id: i.id, path });
  }

  async remove(p: Principal, id: string, paths: string[]) {
    const i = await this.instance(p, id);
    return this.ask(p, i, 'instance.files.delete', { instance_id: i.id, paths });
  }

  async mkdir(p: Principal, id: string, path: string): Promise<FileEntry> {
    const i = await this.instance(p, id);
    return this.ask(p, i, 'instance.files.mkdir', { instance_id: i.id, path });
  }

  async move(p: Principal, id: string, moves: { from: string; to: string }[], overwrite: boolean) {
    const i = await this.instance(p, id);
    return this.ask(p, i, 'instance.files.move', { instance_id: i.id, moves, overwrite });
  }

  /** Opens a stream on the node of `i`, whichever replica holds its socket. */
  async openStream(i: InstanceEntity, kind: StreamKind, params: Record<string, unknown>): Promise<HubStream> {
    return agentCall(() => this.nodeStreams.open(i.nodeId, kind, params));
  }

  /** The whole file, for the editor view: refused with 413 beyond `files.maxEditBytes`. */
  async readContent(p: Principal, id: string, path: string): Promise<{ data: Buffer; modifiedAt: string | null }> {
    const dl = await this.download(p, id, path);
    const limit = this.config.files.maxEditBytes;
    if (dl.size > limit) {
      dl.cancel();
      throw new FileTooLargeError(`${path} (${dl.size} bytes)`, limit);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of agentStream(dl.body)) {
      total += chunk.length;
      // The file may grow while it is read: the limit holds for what is sent, not only the stat.
      if (total > limit) {
        dl.body.destroy();
        throw new FileTooLargeError(path, limit);
      }
      chunks.push(chunk);
    }
    return { data: Buffer.concat(chunks), modifiedAt: dl.modifiedAt };
  }

  async download(p: Principal, id: string, path: string): Promise<FileDownload> {
    const i = await this.instance(p, id);
    const stream = await this.openStream(i, 'file.read', { instance_id: i.id, path, offset: 0 });
    const size = typeof stream.meta.size_bytes === 'number' ? stream.meta.size_bytes : -1;
    const modifiedAt = typeof stream.meta.modified_at === 'string' ? stream.meta.modified_at : null;
    const body = readableFromStream(stream);
    return { name: posix.basename(path), size, modifiedAt, body, cancel: () => body.destroy() };
  }

  /** A zip of `paths`, entries named relative to their deepest common directory. */
  async archive(p: Principal, id: string, paths: string[]): Promise<{ name: string; body: Readable }> {
    const i = await this.instance(p, id);
    const base = commonParent(paths);
    const relative = paths.map((path) => (base === '.' ? path : path.slice(base.length + 1)));
    const stream = await this.openStream(i, 'files.archive', { instance_id: i.id, base, paths: relative });
    const single =
      paths.length === 1 && paths[0] !== '.' ? posix.basename(paths[0]!) : base !== '.' ? posix.basename(base) : i.name;
    return { name: `${single}.zip`, body: readableFromStream(stream) };
  }

  /** Writes a file from a byte source; the agent replaces the path atomically at the end. */
  async write(
    p: Principal,
    id: string,
    path: string,
    source: AsyncIterable<Buffer>,
    overwrite: boolean,
  ): Promise<{ path: string; size_bytes: number }> {
    const i = await this.instance(p, id);
    const max = this.config.files.maxUploadBytes;
    const stream = await this.openStream(i, 'file.write', { instance_id: i.id, path, max_bytes: max, overwrite });
    const info = await agentCall(() => pipeIntoStream(limitBytes(source, max, path), stream));
    return { path, size_bytes: confirmedBytes(info) };
  }

  /**
   * Multipart upload: every file is staged on the node first and moved into place only once all
   * of them arrived whole, so a bad name or an oversized file in the middle changes nothing.
   */
  async upload(
    p: Principal,
    id: string,
    dir: string,
    parts: AsyncIterable<UploadPart>,
    overwrite: boolean,
  ): Promise<FileEntry[]> {
    const i = await this.instance(p, id);
    const { maxUploadBytes, maxUploadRequestBytes } = this.config.files;
    const staged: { uploadId: string; path: string }[] = [];
    let total = 0;
    try {
      for await (const part of parts) {
        const target = uploadTarget(dir, part.filename);
        const uploadId = randomUUID();
        const stream = await this.openStream(i, 'file.write', {
          instance_id: i.id,
          upload_id: uploadId,
          offset: 0,
          max_bytes: maxUploadBytes,
        });
        staged.push({ uploadId, path: target });
        const counted = countBytes(part.file, (n) => {
          total += n;
          if (total > maxUploadRequestBytes) throw new FileTooLargeError('the upload', maxUploadRequestBytes);
        });
        confirmedBytes(await agentCall(() => pipeIntoStream(limitBytes(counted, maxUploadBytes, target), stream)));
        if (part.file.truncated) throw new FileTooLargeError(target, maxUploadBytes);
      }
      if (staged.length === 0)
        throw new ValidationFailedError('body', [{ path: 'file', message: 'no file parts in the multipart body' }]);
      const done: FileEntry[] = [];
      for (const s of staged) {
        done.push(
          await this.ask(p, i, 'instance.files.commit-upload', {
            instance_id: i.id,
            upload_id: s.uploadId,
            path: s.path,
            overwrite,
          }),
        );
        s.uploadId = '';
      }
      return done;
    } catch (err) {
      for (const s of staged)
        if (s.uploadId)
          await this.ask(p, i, 'instance.files.abort-upload', { instance_id: i.id, upload_id: s.uploadId }).catch(
            () => undefined,
          );
      throw err;
    }
  }
}

/** A multipart part's filename joined to the target directory, validated like any path. */
export function uploadTarget(dir: string, filename: string): string {
  const target = dir === '.' ? filename : `${dir}/${filename}`;
  const r = instanceFilePath.safeParse(target);
  if (!r.success || filename === '' || filename === '.') {
    const why = r.success ? 'must name a file' : (r.error.issues[0]?.message ?? 'is invalid');
    throw new ValidationFailedError('multipart filename', [
      { path: 'filename', message: `${JSON.stringify(filename.slice(0, 200))} ${why}` },
    ]);
  }
  return target;
}

/** The deepest directory holding every path ('.' for the root). */
export function commonParent(paths: string[]): string {
  const dirs = paths.map((p) => (p === '.' ? [] : p.split('/').slice(0, -1)));
  const first = dirs[0] ?? [];
  let n = first.length;
  for (const d of dirs) {
    let k = 0;
    while (k < n && k < d.length && d[k] === first[k]) k++;
    n = k;
  }
  return n === 0 ? '.' : first.slice(0, n).join('/');
}

/** Passes bytes through, failing with 413 once more than `max` went by. */
export async function* limitBytes(source: AsyncIterable<Buffer>, max: number, what: string): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > max) throw new FileTooLargeError(what, max);
    yield chunk;
  }
}

async function* countBytes(source: AsyncIterable<Buffer>, add: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    add(chunk.length);
    yield chunk;
  }
}

/** Iterates a Readable from the agent, its midway failure mapped to HTTP. */
async function* agentStream(body: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body) yield chunk as Buffer;
  } catch (err) {
    throw fileErrorFromAgent(err);
  }
}

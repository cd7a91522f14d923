// Node-only extras of the SDK: WebSockets with headers (`ws`), uploads from a path resumable across
// processes, downloads to a file. The core entry (`@hostplane/sdk`) stays usable in browsers.
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import WebSocket from 'ws';
import type { UploadOptions as TusOptions } from 'tus-js-client';
import type { HostplaneClient } from './client';
import type { WebSocketFactory, WebSocketLike } from './sockets';
import { uploadInstanceFile, type UploadOptions, type UploadResult } from './uploads';

/**
 * WebSockets from Node with the credential headers (no token in the URL). A refused upgrade
 * (`404 zone_not_found`, `409 node_offline`…) closes the socket with code 4000 + its HTTP status
 * and its JSON body as the reason, as the hub closes an open socket (4401, 4403), so callers see
 * why instead of a bare 1006.
 */
export const nodeWebSocket: WebSocketFactory = (url, headers) => {
  const ws = new WebSocket(url, { headers });
  let refused: { code: number; reason: string } | undefined;
  ws.on('unexpected-response', (_request, response) => {
    let body = '';
    response.on('data', (chunk: Buffer) => (body += chunk.toString()));
    response.on('end', () => {
      refused = { code: 4000 + (response.statusCode ?? 0), reason: body.slice(0, 2000) };
      ws.terminate();
    });
  });
  const socket = ws as unknown as WebSocketLike;
  const add = ws.addEventListener.bind(ws) as (type: string, listener: (event: unknown) => void) => void;
  (socket as { addEventListener: (type: string, listener: (event: unknown) => void) => void }).addEventListener = (
    type,
    listener,
  ) => add(type, type === 'close' ? (event) => listener(refused ?? event) : listener);
  return socket;
};

type UrlStorage = NonNullable<TusOptions['urlStorage']>;

/** tus-js-client's file store of unfinished uploads (its Node build has it; its types do not). */
export function fileUrlStorage(path: string): UrlStorage {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tus = require('tus-js-client') as { FileUrlStorage: new (path: string) => UrlStorage };
  return new tus.FileUrlStorage(path);
}

/**
 * Uploads a local file with TUS. With `resumeStore` (a file path) an interrupted upload of the
 * same file (path, size, mtime) to the same instance and target continues where it stopped.
 */
export async function uploadPath(
  client: HostplaneClient,
  instanceId: string,
  localPath: string,
  options: Omit<UploadOptions, 'urlStorage' | 'size'> & { resumeStore?: string },
): Promise<UploadResult> {
  const size = statSync(localPath).size;
  const storage = options.resumeStore ? targetScoped(fileUrlStorage(options.resumeStore), options.path) : undefined;
  const result = await uploadInstanceFile(client, instanceId, createReadStream(localPath), {
    ...options,
    size,
    ...(storage ? { urlStorage: storage } : {}),
  });
  // tus forgets a finished upload without waiting; a process that exits before that leaves the
  // store's lock behind, and the next upload within the lock's stale time fails with ELOCKED.
  await storage?.settled();
  return result;
}

/** tus-js-client's fingerprint names the file, not where it goes: key the store by the target too. */
function targetScoped(storage: UrlStorage, target: string): UrlStorage & { settled(): Promise<unknown> } {
  const key = (fp: string) => `${fp}::${target}`;
  const writes = new Set<Promise<unknown>>();
  const track = <T>(write: Promise<T>): Promise<T> => {
    writes.add(write);
    void write.finally(() => writes.delete(write)).catch(() => undefined);
    return write;
  };
  return {
    findAllUploads: () => storage.findAllUploads(),
    findUploadsByFingerprint: (fp) => storage.findUploadsByFingerprint(key(fp)),
    removeUpload: (k) => track(storage.removeUpload(k)),
    addUpload: (fp, upload) => track(storage.addUpload(key(fp), upload)),
    settled: () => Promise.allSettled([...writes]),
  };
}

export interface DownloadOptions {
  onProgress?: (received: number, total: number | undefined) => void;
  signal?: AbortSignal;
}

/** Streams a GET to a file (written beside it, then renamed), reporting bytes as they arrive. */
export async function downloadToFile(
  client: HostplaneClient,
  path: string,
  target: string,
  options: DownloadOptions = {},
): Promise<{ bytes: number; headers: Headers }> {
  const response = await client.fetchOk(path, { signal: options.signal });
  const total = Number(response.headers.get('content-length')) || undefined;
  let received = 0;
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    options.onProgress?.(received, total);
  });
  const partial = `${target}.part`;
  await pipeline(body, createWriteStream(partial, { mode: 0o600 }));
  await rename(partial, target);
  return { bytes: received, headers: response.headers };
}

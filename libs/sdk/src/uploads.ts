import { Upload, type UploadOptions as TusOptions } from 'tus-js-client';
import type { HostplaneClient } from './client';
import { HostplaneError } from './errors';

export type UploadSource = ConstructorParameters<typeof Upload>[0];

export interface UploadOptions {
  /** Where the file goes, relative to the instance's root (`config/server.properties`). */
  path: string;
  /** Bytes per PATCH; default 8 MiB. */
  chunkSize?: number;
  onProgress?: (sent: number, total: number) => void;
  /** Where the URLs of unfinished uploads are kept so a later call resumes them (tus-js-client's `urlStorage`). */
  urlStorage?: TusOptions['urlStorage'];
  /** Resume a known upload URL instead of looking one up. */
  uploadUrl?: string;
  /** Milliseconds between retries of a failed request; default `[0, 1000, 3000, 5000]`. */
  retryDelays?: number[];
  signal?: AbortSignal;
  /** Node sources need a size (tus-js-client cannot read it from a stream). */
  size?: number;
}

export interface UploadResult {
  uploadUrl: string;
  resumedFrom: number;
}

/**
 * Uploads a file into an instance with TUS (`/v1/instances/{id}/files/tus`): resumable, so a cut
 * connection retries from where the hub stands, and with `urlStorage` a later call (another
 * process, after a crash) continues the same upload instead of starting over.
 */
export function uploadInstanceFile(
  client: HostplaneClient,
  instanceId: string,
  source: UploadSource,
  options: UploadOptions,
): Promise<UploadResult> {
  const endpoint = client.url(`/v1/instances/${encodeURIComponent(instanceId)}/files/tus`);
  return new Promise((resolve, reject) => {
    let resumedFrom = -1;
    const upload = new Upload(source, {
      endpoint,
      uploadUrl: options.uploadUrl ?? null,
      metadata: { path: options.path },
      uploadSize: options.size ?? null,
      chunkSize: options.chunkSize ?? 8 * 1024 * 1024,
      retryDelays: options.retryDelays ?? [0, 1000, 3000, 5000],
      storeFingerprintForResuming: options.urlStorage !== undefined,
      removeFingerprintOnSuccess: true,
      ...(options.urlStorage ? { urlStorage: options.urlStorage } : {}),
      // Headers per request: a refreshed access token applies to the next chunk.
      onBeforeRequest: (req) => {
        for (const [k, v] of Object.entries(client.authHeaders())) req.setHeader(k, v);
      },
      onProgress: (sent, total) => {
        if (resumedFrom < 0) resumedFrom = sent;
        options.onProgress?.(sent, total);
      },
      onSuccess: () => resolve({ uploadUrl: upload.url ?? '', resumedFrom: Math.max(0, resumedFrom) }),
      onError: (err) => {
        const res = (err as { originalResponse?: { getStatus(): number; getBody(): string } }).originalResponse;
        reject(res ? HostplaneError.fromBody(res.getStatus(), res.getBody()) : err);
      },
    });
    options.signal?.addEventListener('abort', () => {
      void upload.abort(false);
      reject(new HostplaneError('the upload was aborted', 0, 'aborted'));
    });
    void (async () => {
      if (options.urlStorage && !options.uploadUrl) {
        const fingerprint = await upload.options.fingerprint?.(source as File, upload.options);
        const previous = fingerprint ? await options.urlStorage.findUploadsByFingerprint(fingerprint) : [];
        if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      }
      upload.start();
    })().catch(reject);
  });
}

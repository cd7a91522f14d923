import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { DomainError } from '../http/errors';
import type { OutboundHttp } from '../outbound/outbound-http';
import { OutboundRefusedError } from '../outbound/guarded-connect';

// The SDK costs ~1.5 s of CPU to load; most hubs never touch S3, so it loads on first use.
type S3Sdk = typeof import('@aws-sdk/client-s3');
let s3Sdk: Promise<S3Sdk> | undefined;
const sdk = (): Promise<S3Sdk> => (s3Sdk ??= import('@aws-sdk/client-s3'));

/** What the hub needs to reach one bucket; the secret only ever lives in this process's memory. */
export interface S3Target {
  endpoint: string | null;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** The guarded outbound client every request to the endpoint goes through. */
  via: OutboundHttp;
}

/**
 * Parts are buffered in memory one by one (times the queue size): big enough for few requests, small enough for many
 * uploads at once.
 */
const MIN_PART_BYTES = 8 * 1024 * 1024;
const MAX_PARTS = 10_000;
const PART_QUEUE = 2;

export class StorageError extends DomainError {
  constructor(action: string, err: unknown) {
    super(`backup storage: ${action} failed: ${describeS3Error(err)}`, 'storage_error', 502);
  }
}

/** A refused endpoint is the caller's to fix (4xx), not a storage failure. */
export function storageError(action: string, err: unknown): DomainError {
  return err instanceof OutboundRefusedError ? err : new StorageError(action, err);
}

/** S3 error codes worth telling apart, in our words: the remote's own text is never echoed. */
const S3_ERRORS: Record<string, string> = {
  AccessDenied: 'access denied',
  AllAccessDisabled: 'access denied',
  InvalidAccessKeyId: 'the access key id is not known to the storage',
  SignatureDoesNotMatch: 'the secret access key does not match the access key id',
  AuthorizationHeaderMalformed: 'the region does not match the storage',
  PermanentRedirect: 'the bucket is served by another endpoint or region',
  NoSuchBucket: 'the bucket does not exist',
  NoSuchKey: 'the object does not exist',
  NotFound: 'not found',
  InvalidBucketName: 'the bucket name is not valid',
  BucketAlreadyExists: 'the bucket name is taken',
  BucketAlreadyOwnedByYou: 'the bucket already exists',
  RequestTimeTooSkewed: "the hub's clock differs too much from the storage's",
  SlowDown: 'the storage asks to slow down',
  ServiceUnavailable: 'the storage is unavailable',
  InternalError: 'the storage had an internal error',
};

/**
 * A summary of a storage failure for the API and logs: a known S3 code in our words plus the
 * HTTP status, or the outbound guard's own message. Never the remote's `<Code>`/`<Message>` or
 * body text, which an endpoint chosen by a tenant controls.
 */
export function describeS3Error(err: unknown): string {
  if (err instanceof DomainError) return err.message;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined)
    return `${(e?.name && S3_ERRORS[e.name]) || 'the storage refused the request'} (HTTP ${status})`;
  if (e?.name === 'TimeoutError') return 'the storage did not answer in time';
  return 'the storage gave no valid S3 answer';
}

export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

async function s3Client(t: Omit<S3Target, 'bucket'>): Promise<S3Client> {
  const { S3Client } = await sdk();
  return new S3Client({
    region: t.region,
    ...(t.endpoint ? { endpoint: t.endpoint } : {}),
    forcePathStyle: t.forcePathStyle,
    credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
    // Flexible checksums (CRC trailers on streamed bodies) are not implemented by many
    // S3-compatible servers; the archive's SHA-256 is verified end to end instead.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: { ...t.via.nodeAgents(), connectionTimeout: t.via.connectTimeoutMs + 1000 },
  });
}

/** `<prefix>/<org>/<instance>/<backup>.tar.gz`: one organization's objects never share a key path with another's. */
export function objectKeyFor(prefix: string, ids: { orgId: string; instanceId: string; backupId: string }): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return `${p ? `${p}/` : ''}${ids.orgId}/${ids.instanceId}/${ids.backupId}.tar.gz`;
}

export function partSizeFor(sizeBytes: number): number {
  return Math.max(MIN_PART_BYTES, Math.ceil(sizeBytes / (MAX_PARTS - 1)));
}

/**
 * Streams `body` into `key` as a multipart upload (a single PUT when it is small): only a part
 * or two are ever in memory. A failed upload is aborted, so no parts are left billed.
 */
export async function uploadObject(
  t: S3Target,
  key: string,
  body: Readable,
  sizeBytes: number,
  onProgress: (loadedBytes: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  const { Upload } = await import('@aws-sdk/lib-storage');
  const client = await s3Client(t);
  try {
    const upload = new Upload({
      client,
      params: { Bucket: t.bucket, Key: key, Body: body, ContentType: 'application/gzip' },
      partSize: partSizeFor(sizeBytes),
      queueSize: PART_QUEUE,
      leavePartsOnError: false,
      ...(signal ? { abortController: abortControllerOf(signal) } : {}),
    });
    upload.on('httpUploadProgress', (p) => {
      if (typeof p.loaded === 'number') onProgress(p.loaded);
    });
    await upload.done();
  } finally {
    client.destroy();
  }
}

function abortControllerOf(signal: AbortSignal): AbortController {
  const c = new AbortController();
  if (signal.aborted) c.abort();
  else signal.addEventListener('abort', () => c.abort(), { once: true });
  return c;
}

export async function objectSize(t: S3Target, key: string): Promise<number | null> {
  const client = await s3Client(t);
  try {
    const head = await client.send(new (await sdk()).HeadObjectCommand({ Bucket: t.bucket, Key: key }));
    return head.ContentLength ?? null;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  } finally {
    client.destroy();
  }
}

/** The object's bytes as a stream; destroying it ends the request. */
export async function readObject(t: S3Target, key: string): Promise<{ body: Readable; sizeBytes: number | null }> {
  const client = await s3Client(t);
  try {
    const res = await client.send(new (await sdk()).GetObjectCommand({ Bucket: t.bucket, Key: key }));
    const body = res.Body as Readable | undefined;
    if (!body) throw new Error('the storage answered without a body');
    body.once('close', () => client.destroy());
    return { body, sizeBytes: res.ContentLength ?? null };
  } catch (err) {
    client.destroy();
    throw err;
  }
}

/** Removes the object; one that is already gone counts as removed. */
export async function deleteObject(t: S3Target, key: string): Promise<void> {
  const client = await s3Client(t);
  try {
    await client.send(new (await sdk()).DeleteObjectCommand({ Bucket: t.bucket, Key: key }));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  } finally {
    client.destroy();
  }
}

/**
 * Proves the credentials can do what backups need: write and delete an object under `prefix`
 * (a bucket that merely exists, or read-only keys, would fail every backup later).
 */
export async function probeBucket(t: S3Target, prefix: string): Promise<void> {
  const client = await s3Client(t);
  const p = prefix.replace(/^\/+|\/+$/g, '');
  const key = `${p ? `${p}/` : ''}.hostplane-probe-${randomBytes(6).toString('hex')}`;
  try {
    await client.send(
      new (await sdk()).PutObjectCommand({
        Bucket: t.bucket,
        Key: key,
        Body: 'hostplane backup storage check\n',
        ContentType: 'text/plain',
      }),
    );
    await client.send(new (await sdk()).DeleteObjectCommand({ Bucket: t.bucket, Key: key }));
  } finally {
    client.destroy();
  }
}

export async function listBuckets(t: Omit<S3Target, 'bucket'>): Promise<{ name: string; created_at: string | null }[]> {
  const client = await s3Client(t);
  try {
    const res = await client.send(new (await sdk()).ListBucketsCommand({}));
    return (res.Buckets ?? []).map((b) => ({
      name: b.Name ?? '',
      created_at: b.CreationDate ? b.CreationDate.toISOString() : null,
    }));
  } finally {
    client.destroy();
  }
}

export async function createBucket(t: Omit<S3Target, 'bucket'>, bucket: string): Promise<void> {
  const client = await s3Client(t);
  try {
    // us-east-1 is the one region that refuses an explicit location constraint.
    const location = t.endpoint || t.region === 'us-east-1' ? undefined : { LocationConstraint: t.region as never };
    await client.send(
      new (await sdk()).CreateBucketCommand({
        Bucket: bucket,
        ...(location ? { CreateBucketConfiguration: location } : {}),
      }),
    );
  } finally {
    client.destroy();
  }
}

import { DomainError } from '../http/errors';

/** TUS 1.0 (https://tus.io/protocols/resumable-upload): the headers and rules, no Nest, no I/O. */
export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,termination,expiration';
export const TUS_CONTENT_TYPE = 'application/offset+octet-stream';

export class TusError extends DomainError {
  constructor(message: string, code: string, status: number, headers: Record<string, string> = {}) {
    super(message, code, status, undefined, { 'tus-resumable': TUS_VERSION, ...headers });
  }
}

/** 412 unless the client speaks our version (every request but OPTIONS must say it). */
export function checkTusResumable(header: string | string[] | undefined): void {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === TUS_VERSION) return;
  throw new TusError(
    value === undefined
      ? 'the Tus-Resumable header is missing: this server speaks TUS 1.0.0'
      : `TUS version ${JSON.stringify(value)} is not supported: this server speaks 1.0.0`,
    'tus_version_unsupported',
    412,
    { 'tus-version': TUS_VERSION },
  );
}

/** A non-negative integer header (Upload-Length, Upload-Offset); `undefined` when absent. */
export function parseSizeHeader(name: string, header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
    throw new TusError(
      `${name} must be a non-negative integer (got ${JSON.stringify(value.slice(0, 40))})`,
      'invalid_header',
      400,
    );
  }
  return Number(value);
}

/**
 * `Upload-Metadata: key base64value,key2 base64value2`: keys are ASCII without spaces or commas,
 * values base64 (a key may have no value). Values are decoded as UTF-8.
 */
export function parseUploadMetadata(header: string | string[] | undefined): Record<string, string> {
  const value = Array.isArray(header) ? header.join(',') : header;
  const out: Record<string, string> = {};
  if (value === undefined || value.trim() === '') return out;
  for (const pair of value.split(',')) {
    const [key, encoded, ...rest] = pair.trim().split(' ');
    if (
      !key ||
      rest.length ||
      !/^[\x21-\x7e]+$/.test(key) ||
      (encoded !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded))
    ) {
      throw new TusError(
        `Upload-Metadata is malformed near ${JSON.stringify(pair.trim().slice(0, 60))}: use "key base64value" pairs separated by commas`,
        'invalid_header',
        400,
      );
    }
    if (Object.hasOwn(out, key))
      throw new TusError(`Upload-Metadata repeats the key ${JSON.stringify(key)}`, 'invalid_header', 400);
    out[key] = encoded === undefined ? '' : Buffer.from(encoded, 'base64').toString('utf8');
  }
  return out;
}

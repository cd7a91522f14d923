import type { HostplaneClient } from './client';
import { HostplaneError, unwrap } from './errors';
import { FINAL_OPERATION_STATUSES, type Operation } from './types';

export interface WaitOptions {
  /** Give up (with the operation as it stands) after this many milliseconds; default: no limit. */
  timeoutMs?: number;
  /** Called with the operation whenever its status or progress changes. */
  onProgress?: (operation: Operation) => void;
  signal?: AbortSignal;
}

export function isFinal(operation: Pick<Operation, 'status'>): boolean {
  return FINAL_OPERATION_STATUSES.includes(operation.status);
}

/** The operation id of a 202 answer: its `Location: /v1/operations/{id}` header, else its body's `id`. */
export function operationIdOf(response: Response, body?: unknown): string {
  const location = response.headers.get('location') ?? '';
  const match = /\/v1\/operations\/([^/?#]+)/.exec(location);
  if (match) return decodeURIComponent(match[1]);
  const id = (body as { id?: unknown } | undefined)?.id;
  if (typeof id === 'string') return id;
  throw new HostplaneError('the answer names no operation (no Location header)', response.status, 'no_operation');
}

/**
 * Waits for an operation to be final through `GET /v1/operations/{id}/wait`, which answers within
 * milliseconds of completion. With `onProgress` it waits in short rounds so progress is reported
 * as it changes. Answers the final operation (or, after `timeoutMs`, the operation as it stands).
 */
export async function waitForOperation(
  client: HostplaneClient,
  id: string,
  options: WaitOptions = {},
): Promise<Operation> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const roundSeconds = options.onProgress ? 1 : 60;
  let last = '';
  for (;;) {
    const left = deadline - Date.now();
    const timeout = Math.max(0, Math.min(roundSeconds, Math.ceil(left / 1000)));
    const operation = await unwrap(
      client.api.GET('/v1/operations/{id}/wait', {
        params: { path: { id }, query: { timeout } },
        signal: options.signal,
      }),
    );
    const seen = JSON.stringify([operation.status, operation.progress]);
    if (seen !== last) options.onProgress?.(operation);
    last = seen;
    if (isFinal(operation) || Date.now() >= deadline) return operation;
  }
}

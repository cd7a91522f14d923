import type { DataSource } from 'typeorm';

export class DatabaseUnreachableError extends Error {}

/** Initializes the data source, retrying with capped exponential backoff until `timeoutSeconds`. */
export async function connectWithRetry(
  dataSource: DataSource,
  timeoutSeconds: number,
  onRetry: (attempt: number, delayMs: number, reason: string) => void,
): Promise<DataSource> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await dataSource.initialize();
    } catch (err) {
      const reason = describeDbError(err);
      const remaining = deadline - Date.now();
      if (isPermanent(err)) throw new DatabaseUnreachableError(`database refused the connection: ${reason}`);
      if (remaining <= 0) {
        throw new DatabaseUnreachableError(
          `database unreachable after ${timeoutSeconds}s (${attempt} attempts): ${reason}`,
        );
      }
      const wait = Math.min(delay, remaining);
      onRetry(attempt, wait, reason);
      await new Promise((r) => setTimeout(r, wait));
      delay = Math.min(delay * 2, 5000);
    }
  }
}

export function describeDbError(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: { message?: string }[] };
  const msg = e.message || e.errors?.map((x) => x.message).join('; ') || String(err);
  return e.code ? `${e.code} ${msg}`.trim() : msg;
}

/** Wrong credentials or a missing database will not fix themselves by waiting. */
function isPermanent(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('28') || code === '3D000');
}

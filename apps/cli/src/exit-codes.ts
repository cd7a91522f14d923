import { HostplaneError } from '@hostplane/sdk';

/** What scripts can rely on: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict. */
export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3, conflict: 4 } as const;

/** A mistake in how hpctl was called (missing context, bad flag value): exit 2. */
export class UsageError extends Error {}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof HostplaneError) {
    if (err.status === 404) return EXIT.notFound;
    if (err.status === 409) return EXIT.conflict;
  }
  return EXIT.error;
}

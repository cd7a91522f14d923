import { ConflictError } from './errors';

/** PostgreSQL's unique_violation (SQLSTATE 23505), whichever driver layer raised it. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

/**
 * Runs a write guarded by a unique name: the database's unique violation becomes 409 `name_taken`
 * with `message`, so two concurrent creates of one name cannot both pass a check made before.
 */
export async function withUniqueName<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(message, 'name_taken');
    throw err;
  }
}

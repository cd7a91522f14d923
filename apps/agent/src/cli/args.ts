import { parseArgs } from 'node:util';

/** A mistake on the command line; main prints it with the usage and exits 2. */
export class UsageError extends Error {}

/**
 * Strict flag parsing (node's parseArgs with strict on): an unknown flag or a stray argument
 * becomes a usage error naming the command.
 */
export function parseFlags<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message.split('\n')[0]}`);
  }
}

export { parseArgs };

export function integerFlag(
  command: string,
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${command}: --${name} must be an integer between ${min} and ${max} (got "${value}")`);
  return n;
}

import argon2 from 'argon2';

/**
 * argon2id with OWASP's first recommended profile (19 MiB, 2 passes, 1 lane): ~20 ms a hash,
 * affordable on login and costly for an offline attacker.
 */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/** Spends the time of a real verification for an unknown account, so timing does not reveal which emails exist. */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= argon2.hash('dummy password for timing', OPTIONS);
  await verifyPassword(await dummyHash, password);
  return false;
}

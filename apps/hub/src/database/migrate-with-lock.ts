import type { DataSource, Migration } from 'typeorm';

// Arbitrary, fixed: every hub replica uses the same key, so only one migrates at a time.
const MIGRATION_LOCK_KEY = 4_242_001;

/** Applies pending migrations while holding a Postgres advisory lock, so replicas starting together don't race. */
export async function migrateWithLock(ds: DataSource): Promise<Migration[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await ds.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

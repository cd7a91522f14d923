#!/usr/bin/env node
import 'reflect-metadata';
import { ConfigError, loadConfig } from '../config/load-config';
import { connectWithRetry, DatabaseUnreachableError } from './connect';
import { createDataSource } from './data-source';
import { migrateWithLock } from './migrate-with-lock';

/** `npm run migrate [-- up|down|status]`: applies, reverts the last, or lists migrations. */
async function main(): Promise<void> {
  const command = process.argv[2] ?? 'up';
  if (!['up', 'down', 'status'].includes(command))
    throw new ConfigError(`unknown command "${command}": use up, down or status`);
  const config = loadConfig();
  const ds = await connectWithRetry(
    createDataSource(config.database.url, 2),
    config.database.connectTimeoutSeconds,
    (attempt, delayMs, reason) =>
      process.stderr.write(`database not reachable yet (attempt ${attempt}: ${reason}), retrying in ${delayMs} ms\n`),
  );
  try {
    if (command === 'up') {
      const applied = await migrateWithLock(ds);
      process.stdout.write(
        applied.length ? applied.map((m) => `applied ${m.name}\n`).join('') : 'database is up to date\n',
      );
    } else if (command === 'down') {
      await ds.undoLastMigration({ transaction: 'each' });
      process.stdout.write('reverted the last migration\n');
    } else {
      const done = new Set(
        ((await ds.query('SELECT name FROM schema_migrations').catch(() => [])) as { name: string }[]).map(
          (r) => r.name,
        ),
      );
      for (const m of ds.migrations) process.stdout.write(`${done.has(m.name!) ? 'applied' : 'pending'}  ${m.name}\n`);
    }
  } finally {
    await ds.destroy();
  }
}

main().catch((err: unknown) => {
  const known = err instanceof ConfigError || err instanceof DatabaseUnreachableError;
  process.stderr.write(`hostplane-migrate: ${known ? (err as Error).message : (err as Error).stack}\n`);
  process.exit(1);
});

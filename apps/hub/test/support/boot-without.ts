/**
 * Boots the hub's whole module graph with one module left out (argv[2], a key of LEAVE_OUT, or
 * "none") and exits: 0 when it resolved, 1 with Nest's error on stderr when it did not. A process
 * of its own, because a graph that fails half way leaves its database and Redis clients open.
 */
import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import pino from 'pino';
import { AppModule } from '../../src/app.module';
import { UserSessionsModule } from '../../src/auth/user-sessions.module';
import { loadConfig } from '../../src/config/load-config';
import { InstanceCapabilitiesModule } from '../../src/instances/instance-capabilities.module';
import { MigrationsModule } from '../../src/instance-migrations/migrations.module';
import { NodeRecordsModule } from '../../src/nodes/node-records.module';

export const LEAVE_OUT: Record<string, Type | null> = {
  none: null,
  'node-records': NodeRecordsModule,
  'instance-capabilities': InstanceCapabilitiesModule,
  migrations: MigrationsModule,
  'user-sessions': UserSessionsModule,
};

async function main(): Promise<void> {
  const missing = LEAVE_OUT[process.argv[2] ?? ''];
  if (missing === undefined) throw new Error(`unknown module to leave out: ${process.argv[2]}`);
  const env = JSON.parse(process.env.BOOT_TEST_ENV ?? '{}') as Record<string, string>;
  const root = AppModule.forRoot(loadConfig({ env }), pino({ level: 'silent' }));
  const graph = { ...root, imports: (root.imports ?? []).filter((m) => m !== missing) };
  const app = await NestFactory.create(graph, new FastifyAdapter(), { logger: false, abortOnError: false });
  await app.close();
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(err.message);
    process.exit(1);
  },
);

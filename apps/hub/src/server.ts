import type { Type } from '@nestjs/common';
import { createHubApp } from './app.factory';
import { ConfigError, loadConfig } from './config/load-config';
import { DatabaseUnreachableError } from './database/connect';
import { installProcessFaultHandler } from './process/process-faults';
import { traceShutdownHooks } from './process/shutdown-trace';

export interface ServeOptions {
  argv?: string[];
  /** Used by test fixtures that need routes the product does not have. */
  extraModules?: Type[];
}

function configFileFromArgs(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (i < 0) return undefined;
  const arg = argv[i]!;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1];
}

/** How long a stop may still take once its connections were closed at the shutdown timeout. */
const SHUTDOWN_HARD_EXIT_MS = 5_000;

/** Start-up failures an operator can fix are printed as one line, never a stack trace. */
function fail(message: string): never {
  process.stderr.write(`hostplane-hub: ${message}\n`);
  process.exit(1);
}

/** Runs the hub as a process: load config, start, listen, and stop gracefully on SIGTERM/SIGINT. */
export async function serve(options: ServeOptions = {}): Promise<void> {
  let config;
  try {
    config = loadConfig({ file: configFileFromArgs(options.argv ?? process.argv.slice(2)) });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }

  let hub;
  try {
    hub = await createHubApp({ config, extraModules: options.extraModules });
  } catch (err) {
    if (err instanceof DatabaseUnreachableError) fail(err.message);
    throw err;
  }
  const { app, log } = hub;
  installProcessFaultHandler(log);
  await app.listen({ host: config.http.host, port: config.http.port });
  log.info(
    { address: app.getHttpServer().address(), publicUrl: config.http.publicUrl, env: config.env },
    'hub listening',
  );

  const pendingHooks = traceShutdownHooks(app);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      log.warn(
        { timeoutSeconds: config.http.shutdownTimeoutSeconds },
        'shutdown timeout: closing remaining connections',
      );
      app.getHttpServer().closeAllConnections();
      // A stop that still hangs (a module's close waiting on a peer that never answers) must not keep
      // a replica half-alive: its work is leased and journaled, so exiting loses nothing.
      setTimeout(() => {
        log.error(
          { graceMs: SHUTDOWN_HARD_EXIT_MS, waitingOn: pendingHooks() },
          'shutdown did not finish: exiting anyway',
        );
        log.flush();
        process.exit(1);
      }, SHUTDOWN_HARD_EXIT_MS).unref();
    }, config.http.shutdownTimeoutSeconds * 1000);
    force.unref();
    app.close().then(
      () => {
        log.info('stopped');
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        log.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

export function serveOrExit(options: ServeOptions = {}): void {
  serve(options).catch((err: unknown) => {
    process.stderr.write(`hostplane-hub: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

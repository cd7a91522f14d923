import { ChildProcess, spawn } from 'node:child_process';
import { basename } from 'node:path';
import { undoOnInterrupt } from './cleanup';

/** A server under test, in its own process so it does not share an event loop with autocannon. */
export interface BenchServer {
  url: string;
  pid: number;
  close(): Promise<void>;
}

type ChildMessage = { type: 'listening'; url: string } | { type: 'failed'; message: string };

/** A server under test did not come up; its message is the whole story (no stack needed). */
export class ServerStartError extends Error {}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * Runs `entry` (a compiled bench/dist/lib/*-server.js calling `serveUntilClosed`) with `args`
 * and `env`, and resolves once it reports the URL it listens on. `nodeArgs` go to node itself,
 * before the entry (flags NODE_OPTIONS refuses, such as `--cpu-prof`).
 */
export async function startChildServer(
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  nodeArgs: string[] = [],
): Promise<BenchServer> {
  const child = spawn(process.execPath, [...nodeArgs, entry, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env,
  });
  const forget = undoOnInterrupt(() => stopChild(child));
  const what = [basename(entry, '.js'), ...args].join(' ');
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ServerStartError(`${what} did not start within ${START_TIMEOUT_MS / 1000} s`)),
        START_TIMEOUT_MS,
      );
      child.on('message', (msg: ChildMessage) => {
        clearTimeout(timer);
        if (msg.type === 'listening') resolve(msg.url);
        else reject(new ServerStartError(`${what} failed to start: ${msg.message}`));
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new ServerStartError(`${what} exited before listening (code ${code}, signal ${signal})`));
      });
    });
    return {
      url,
      pid: child.pid!,
      close: async () => {
        forget();
        await stopChild(child);
      },
    };
  } catch (err) {
    forget();
    await stopChild(child);
    throw err;
  }
}

/** Asks the child to close gracefully; kills it if it has not exited in time. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.send({ type: 'close' });
    else child.kill('SIGTERM');
  });
}

/**
 * The child's side: starts the server, reports its URL to the parent, and closes it when the
 * parent asks or goes away (a killed benchmark leaves no server behind).
 */
export function serveUntilClosed(start: () => Promise<{ url: string; close(): Promise<void> }>): void {
  const send = (msg: ChildMessage, then?: () => void) =>
    process.send ? process.send(msg, undefined, undefined, then) : then?.();
  start().then(
    (server) => {
      let closing = false;
      const close = () => {
        if (closing) return;
        closing = true;
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`bench server: error while closing: ${String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('message', (msg: { type?: string }) => msg.type === 'close' && close());
      process.on('disconnect', close);
      process.on('SIGTERM', close);
      process.on('SIGINT', close);
      send({ type: 'listening', url: server.url });
    },
    (err: unknown) => {
      send({ type: 'failed', message: err instanceof Error ? err.message : String(err) }, () => process.exit(1));
    },
  );
}

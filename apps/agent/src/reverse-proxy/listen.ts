import type { Server } from 'node:net';

/** Why a listener could not open, in words an operator acts on. */
export class ListenFailed extends Error {
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`cannot listen on ${address}: ${reason}`);
  }
}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the port is already in use on this host',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'this host has no such address',
};

/** Listens, or rejects with a ListenFailed naming the address and the cause. */
export function listenOn(server: Server, host: string, port: number): Promise<void> {
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(new ListenFailed(address, REASONS[err.code ?? ''] ?? `${err.code ?? ''} ${err.message}`.trim()));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}

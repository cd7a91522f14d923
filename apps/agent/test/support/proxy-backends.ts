import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { HttpRoute, ProxyHost, TcpRoute } from '@hostplane/protocol';
import { tempDir } from './agent-process';

/** A port free on every loopback address now (the kernel's pick on 127.0.0.1). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A real HTTP server standing in for a VM's service: answers `<name> <method> <url>` and echoes headers. */
export async function backend(
  name: string,
  host: string,
  port = 0,
  handle?: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<{ server: http.Server; port: number; close(): Promise<void> }> {
  const server = http.createServer(
    handle ??
      ((req, res) => {
        res.setHeader('x-backend', name);
        res.setHeader('x-secret', 'backend-internal');
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers }));
      }),
  );
  // Echoes the bytes of an upgraded connection back, prefixed: stands in for a websocket service.
  // Upgraded sockets leave the server's bookkeeping (closeAllConnections): they are kept here.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (_req, socket: Duplex) => {
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    socket.on('end', () => socket.end());
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(`${name}:${d.toString()}`));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(port, host, r));
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const socket of upgraded) socket.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A TCP echo server answering `<name>:` then every byte it receives. */
export async function tcpEcho(name: string, host: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.write(`${name}:`);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A self-signed certificate for `localhost` made with the openssl CLI. */
export function selfSignedCert(): { cert_pem: string; key_pem: string } {
  const dir = tempDir('hp-proxy-tls-');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return { cert_pem: readFileSync(join(dir, 'cert.pem'), 'utf8'), key_pem: readFileSync(join(dir, 'key.pem'), 'utf8') };
}

export function httpRoute(fields: Partial<HttpRoute> & { target_port: number }): HttpRoute {
  return {
    id: randomUUID(),
    path_pattern: '^/',
    target_vm_id: null,
    target_host: null,
    request_headers: { add: {}, remove: [] },
    response_headers: { add: {}, remove: [] },
    forwarded_headers: true,
    ...fields,
  };
}

export function tcpRoute(fields: Partial<TcpRoute> & { listen_port: number; target_port: number }): TcpRoute {
  return { id: randomUUID(), target_vm_id: null, target_host: null, ...fields };
}

export function proxyHost(fields: Partial<ProxyHost> & { listen_port: number }): ProxyHost {
  return {
    id: randomUUID(),
    name: 'web',
    enabled: true,
    listen_host: '127.0.0.1',
    tls: null,
    tls_fingerprint: null,
    cors: null,
    timeout_ms: 30_000,
    generation: 0,
    routes: [],
    tcp_routes: [],
    ...fields,
  };
}

/** Sends bytes over TCP and answers what came back once `expect` bytes arrived. */
export function tcpExchange(port: number, text: string, expect: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    let got = '';
    s.on('connect', () => s.write(text));
    s.on('data', (d) => {
      got += d.toString();
      if (got.length >= expect) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    setTimeout(() => s.destroy(), 5000).unref();
  });
}

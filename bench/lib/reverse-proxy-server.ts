// Child-process entry for `npm run bench -- reverse-proxy`: either the VM's service (a small HTTP
// server on one or more loopback addresses) or the agent's reverse proxy with one route to a VM of
// the simulated Parallels host, following its address through `prlctl monitor-events`.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HostExec } from '@hostplane/agent/dist/src/illumos/host-exec';
import { MachineEventFollower } from '@hostplane/agent/dist/src/parallels/machine-events';
import { PrlHost } from '@hostplane/agent/dist/src/parallels/prl-host';
import { ReverseProxy } from '@hostplane/agent/dist/src/reverse-proxy/reverse-proxy';
import { VmAddressBook } from '@hostplane/agent/dist/src/reverse-proxy/vm-addresses';
import { serveUntilClosed } from './child-server';

const BODY = JSON.stringify({ status: 'ok', service: 'vm', padding: 'x'.repeat(64) });

async function serveBackend(addresses: string[], port: number) {
  const servers: http.Server[] = [];
  const served = new Map<string, number>();
  for (const address of addresses) {
    const server = http.createServer((req, res) => {
      if (req.url === '/__served') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify(Object.fromEntries(served)));
      }
      served.set(address, (served.get(address) ?? 0) + 1);
      res.setHeader('content-type', 'application/json');
      res.end(BODY);
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(port, address, r));
    port = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return {
    url: `http://${addresses[0]}:${port}`,
    close: async () => {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}

async function serveProxy(vmId: string, backendPort: number, listenPort: number) {
  const exec = new HostExec({ privilege: [], timeoutMs: 60_000, maxOutputBytes: 16 * 1024 * 1024, env: process.env });
  const host = new PrlHost({ exec, owner: null, agentIsRoot: false });
  const book = new VmAddressBook({ list: () => host.machines() });
  const proxy = new ReverseProxy(process.env.HOSTPLANE_BENCH_PROXY_STATE!, book);
  const follower = new MachineEventFollower(host, () => undefined);
  follower.onVmEvent = (id) => book.changed(id);
  follower.start();
  const [status] = await proxy.apply({
    hosts: [
      {
        id: randomUUID(),
        name: 'bench',
        enabled: true,
        listen_host: '127.0.0.1',
        listen_port: listenPort,
        tls: null,
        tls_fingerprint: null,
        cors: null,
        timeout_ms: 30_000,
        generation: 0,
        routes: [
          {
            id: randomUUID(),
            path_pattern: '^/',
            target_vm_id: vmId,
            target_host: null,
            target_port: backendPort,
            request_headers: { add: {}, remove: [] },
            response_headers: { add: {}, remove: [] },
            forwarded_headers: true,
          },
        ],
        tcp_routes: [],
      },
    ],
  });
  if (!status.listening) throw new Error(status.error ?? 'the proxy did not listen');
  return {
    url: `http://127.0.0.1:${listenPort}`,
    close: async () => {
      follower.close();
      await proxy.close();
    },
  };
}

const [mode, ...args] = process.argv.slice(2);
serveUntilClosed(() =>
  mode === 'backend'
    ? serveBackend(args[0].split(','), Number(args[1]))
    : serveProxy(args[0], Number(args[1]), Number(args[2])),
);

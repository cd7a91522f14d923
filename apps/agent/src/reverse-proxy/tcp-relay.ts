import net from 'node:net';
import type { TcpRoute } from '@hostplane/protocol';
import { listenOn } from './listen';
import type { VmAddressBook } from './vm-addresses';

const CONNECT_TIMEOUT_MS = 5000;

/**
 * A TCP route: each connection to listen_host:listen_port is piped both ways to the target, a
 * VM (at its address when the connection arrives) or a fixed host. A connection the target
 * refuses is closed; connections already piped keep their target.
 */
export class TcpRelay {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private route: TcpRoute,
    private readonly listenHost: string,
    private readonly book: VmAddressBook,
  ) {}

  static listenerKey(listenHost: string, r: TcpRoute): string {
    return `${listenHost}|${r.listen_port}`;
  }

  update(route: TcpRoute): void {
    this.route = route;
  }

  async listen(): Promise<void> {
    const server = net.createServer((client) => this.relay(client));
    await listenOn(server, this.listenHost, this.route.listen_port);
    this.server = server;
  }

  private relay(client: net.Socket): void {
    const r = this.route;
    const host = r.target_vm_id !== null ? this.book.address(r.target_vm_id) : r.target_host;
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    if (host === null) {
      if (r.target_vm_id !== null) this.book.changed(r.target_vm_id);
      client.destroy();
      return;
    }
    const upstream = net.connect({ host, port: r.target_port });
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.setTimeout(CONNECT_TIMEOUT_MS, () => upstream.destroy());
    upstream.once('connect', () => upstream.setTimeout(0));
    upstream.on('error', () => {
      if (r.target_vm_id !== null) this.book.changed(r.target_vm_id);
      client.destroy();
    });
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

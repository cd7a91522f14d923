import { createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A loopback TCP proxy between an agent and a hub that can blackhole the link: while
 * blackholed, bytes are held in neither direction and nothing is closed, as when a network
 * path silently drops packets. The agent and hub only notice through their own timeouts.
 */
export class TcpProxy {
  private server?: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private holes = false;
  port = 0;

  constructor(private readonly targetPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const forward = (from: Socket, to: Socket) =>
        from.on('data', (d: Buffer) => {
          if (!this.holes) to.write(d);
        });
      forward(client, upstream);
      forward(upstream, client);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Drops every byte both ways from now on (connections stay open) until `restore`. */
  blackhole(): void {
    this.holes = true;
  }

  restore(): void {
    this.holes = false;
  }

  /** Closes every proxied connection at once (as a reset link would). */
  cutAll(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

import { ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A real redis-server of a test's own, so the test can stop and restart it. */
export class OwnRedis {
  private proc?: ChildProcess;
  private constructor(
    readonly port: number,
    /** Extra redis-server arguments, e.g. an append-only file to restart from. */
    private readonly args: string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(args: string[] = []): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort(), args);
    await r.start();
    return r;
  }

  async start(): Promise<void> {
    this.proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.args],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      if ((await this.command('PING').catch(() => '')) === '+PONG') return;
      if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * One command over a plain socket, answered with the raw reply. Not ioredis: a client library's
   * own handshake, met by a server being stopped, leaves rejections the test would be blamed for.
   */
  command(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1');
      let reply = '';
      const timer = setTimeout(() => socket.destroy(new Error('redis did not answer')), 2_000);
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on('data', (chunk) => {
        reply += chunk.toString('utf8');
        if (!complete(reply)) return;
        clearTimeout(timer);
        socket.destroy();
        resolve(reply.trimEnd());
      });
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
  }

  /** SIGSTOP / SIGCONT: Redis hangs without closing connections, as an overloaded or paused server does. */
  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }
}

/** A simple string, error, integer or one bulk string has all arrived. */
function complete(reply: string): boolean {
  if (!reply.endsWith('\r\n')) return false;
  if (reply[0] !== '$') return true;
  const length = Number(reply.slice(1, reply.indexOf('\r\n')));
  return length < 0 || Buffer.byteLength(reply) >= reply.indexOf('\r\n') + 2 + length + 2;
}

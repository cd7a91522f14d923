import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import { WebSocket } from 'ws';

/**
 * A real VNC server for the zone VNC relay: TigerVNC's Xvnc (X server and RFB server in one
 * process, Debian's tigervnc-standalone-server) listening only on a UNIX socket, where bhyve puts
 * a zone's framebuffer (`<zonepath>/root/tmp/vm.vnc`). No authentication, as bhyve's.
 */
export async function startVncServer(
  socketPath: string,
  size: { width: number; height: number } = { width: 640, height: 480 },
): Promise<{ stop: () => Promise<void>; process: ChildProcess }> {
  rmSync(socketPath, { force: true });
  // -displayfd: Xvnc picks a free display number itself (no fixed ports or displays).
  const child = spawn(
    'Xvnc',
    [
      '-displayfd',
      '1',
      '-rfbunixpath',
      socketPath,
      '-rfbport',
      '-1',
      '-SecurityTypes',
      'None',
      '-geometry',
      `${size.width}x${size.height}`,
      '-depth',
      '24',
      '-nolisten',
      'tcp',
      '-AlwaysShared',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdout!.resume();
  const deadline = Date.now() + 15_000;
  while (!existsSync(socketPath)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Xvnc did not listen on ${socketPath}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

export interface ServerInit {
  width: number;
  height: number;
  bitsPerPixel: number;
  name: string;
}

/** A byte transport an RFB client speaks over: the hub's WebSocket or the server's socket itself. */
export interface RfbTransport {
  send(data: Buffer): void;
  onData(listener: (data: Buffer) => void): void;
  close(): void;
}

export function wsTransport(ws: WebSocket): RfbTransport {
  return {
    send: (d) => ws.send(d),
    onData: (l) => ws.on('message', (d: Buffer) => l(d)),
    close: () => ws.close(),
  };
}

export function socketTransport(socket: net.Socket): RfbTransport {
  socket.setNoDelay(true);
  return { send: (d) => socket.write(d), onData: (l) => socket.on('data', l), close: () => socket.destroy() };
}

/**
 * The client half of RFB 3.8 (RFC 6143) as far as a viewer's first screen: version, security
 * type None, ClientInit/ServerInit, then framebuffer updates in Raw encoding (the only one a
 * client that sends no SetEncodings gets).
 */
export class RfbClient {
  private buffered: Buffer[] = [];
  private length = 0;
  private waiter: (() => void) | null = null;
  /** Bytes received from the server so far. */
  received = 0;

  constructor(private readonly transport: RfbTransport) {
    transport.onData((d) => {
      this.buffered.push(d);
      this.length += d.length;
      this.received += d.length;
      const w = this.waiter;
      this.waiter = null;
      w?.();
    });
  }

  async read(n: number, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.length < n) {
      if (Date.now() > deadline) throw new Error(`RFB: waited for ${n} bytes, have ${this.length}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    const all = Buffer.concat(this.buffered);
    this.buffered = [all.subarray(n)];
    this.length -= n;
    return all.subarray(0, n);
  }

  /** Version, security None, init: what the server says about its framebuffer. */
  async handshake(): Promise<{ version: string; securityTypes: number[]; init: ServerInit }> {
    const version = (await this.read(12)).toString('latin1');
    this.transport.send(Buffer.from('RFB 003.008\n', 'latin1'));
    const count = (await this.read(1))[0]!;
    if (count === 0) throw new Error('RFB: the server refused the connection');
    const securityTypes = [...(await this.read(count))];
    if (!securityTypes.includes(1)) throw new Error(`RFB: no None security type in ${securityTypes.join(',')}`);
    this.transport.send(Buffer.from([1]));
    const result = (await this.read(4)).readUInt32BE(0);
    if (result !== 0) throw new Error(`RFB: security result ${result}`);
    this.transport.send(Buffer.from([1])); // ClientInit: shared
    const head = await this.read(24);
    const name = (await this.read(head.readUInt32BE(20))).toString('utf8');
    return {
      version,
      securityTypes,
      init: { width: head.readUInt16BE(0), height: head.readUInt16BE(2), bitsPerPixel: head[4]!, name },
    };
  }

  requestUpdate(init: ServerInit, incremental = false): void {
    const m = Buffer.alloc(10);
    m[0] = 3;
    m[1] = incremental ? 1 : 0;
    m.writeUInt16BE(init.width, 6);
    m.writeUInt16BE(init.height, 8);
    this.transport.send(m);
  }

  /** One FramebufferUpdate in Raw encoding, read whole; its rectangles and pixel bytes. */
  async readUpdate(init: ServerInit): Promise<{ rects: number; pixelBytes: number }> {
    const type = (await this.read(1))[0];
    if (type !== 0) throw new Error(`RFB: expected a FramebufferUpdate (0), got message type ${type}`);
    const rects = (await this.read(3)).readUInt16BE(1);
    let pixelBytes = 0;
    for (let i = 0; i < rects; i++) {
      const r = await this.read(12);
      const encoding = r.readInt32BE(8);
      if (encoding !== 0) throw new Error(`RFB: expected Raw encoding, got ${encoding}`);
      const bytes = r.readUInt16BE(4) * r.readUInt16BE(6) * (init.bitsPerPixel / 8);
      await this.read(bytes);
      pixelBytes += bytes;
    }
    return { rects, pixelBytes };
  }

  close(): void {
    this.transport.close();
  }
}

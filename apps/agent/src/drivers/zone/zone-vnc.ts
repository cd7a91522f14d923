import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { AgentError } from '../../errors/agent-error';
import type { HostExec } from '../../illumos/host-exec';
import type { ConsoleHandle } from '../driver';

export interface ZoneVncOptions {
  /** How long `zadm vnc` may take to listen, and the VNC server to send its RFB greeting. */
  startTimeoutMs: number;
}

/** zadm's proxy line (`VNC proxy available at 127.0.0.1:5900`; older releases: `… console started on ip:port`). */
const LISTENING = /(?:available at|console started on) (\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\s*$/m;
const STDERR_KEPT = 2000;

export class ZoneVncError extends AgentError {}

/**
 * A bhyve zone's framebuffer as a byte stream: `zadm vnc 127.0.0.1:<port> <zone>` (zadm's proxy to
 * the zone's `vm.vnc` UNIX socket) runs for as long as this connection, on a free loopback port
 * the agent connects to at once (zadm would take other local clients too while it runs: decision
 * 0032). The open completes once the VNC server's RFB greeting arrived, so a zone without VNC fails
 * the open instead of hanging the viewer.
 */
export async function openZoneVnc(exec: HostExec, zone: string, options: ZoneVncOptions): Promise<ConsoleHandle> {
  const port = await freeLoopbackPort();
  const child = exec.spawnPiped(['zadm', 'vnc', `127.0.0.1:${port}`, zone]);
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  try {
    const address = await proxyAddress(child, zone, options.startTimeoutMs);
    const { socket, greeting } = await connectForGreeting(address, zone, options.startTimeoutMs);
    return socketHandle(socket, greeting, stop);
  } catch (err) {
    stop();
    throw err;
  }
}

/** The port zadm then binds; a race with another process taking it fails the open with zadm's message. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function proxyAddress(child: ChildProcess, zone: string, timeoutMs: number): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (message: string) => {
      clearTimeout(timer);
      reject(new ZoneVncError('vnc_unavailable', message));
    };
    const timer = setTimeout(
      () => fail(`zadm vnc for zone ${zone} did not start listening within ${timeoutMs} ms: ${stderr.trim()}`),
      timeoutMs,
    );
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEPT)));
    child.stdout!.on('data', (d: Buffer) => {
      stdout = (stdout + d.toString('utf8')).slice(-STDERR_KEPT);
      const m = LISTENING.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      resolve({ host: m[1]!, port: Number(m[2]) });
    });
    child.once('error', (err) => fail(`zadm could not be started: ${err.message}`));
    child.once('exit', (code, signal) =>
      fail(`zadm vnc for zone ${zone} exited (${signal ?? `code ${code}`}): ${stderr.trim() || stdout.trim()}`),
    );
  });
}

function connectForGreeting(
  address: { host: string; port: number },
  zone: string,
  timeoutMs: number,
): Promise<{ socket: net.Socket; greeting: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(address.port, address.host);
    socket.setNoDelay(true);
    const fail = (message: string) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ZoneVncError('vnc_unavailable', message));
    };
    const timer = setTimeout(
      () => fail(`the VNC server of zone ${zone} sent no greeting within ${timeoutMs} ms (is vnc on in its config?)`),
      timeoutMs,
    );
    socket.once('error', (err) => fail(`the VNC proxy of zone ${zone} refused: ${err.message}`));
    socket.once('close', () => fail(`the VNC server of zone ${zone} closed the connection (is the zone running?)`));
    socket.once('data', (greeting: Buffer) => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      socket.pause();
      resolve({ socket, greeting });
    });
  });
}

/** The TCP connection as a console source: the greeting first, then whatever follows; closing it stops zadm. */
function socketHandle(socket: net.Socket, greeting: Buffer, stop: () => void): ConsoleHandle {
  const closeListeners: ((reason: string) => void)[] = [];
  let closed = false;
  const finish = (reason: string) => {
    if (closed) return;
    closed = true;
    stop();
    for (const l of closeListeners) l(reason);
  };
  socket.on('error', (err) => finish(`VNC connection failed: ${err.message}`));
  socket.on('close', () => finish('the VNC server closed the connection'));
  return {
    write: (data) => {
      if (!closed) socket.write(data);
    },
    onData: (listener) => {
      listener(greeting);
      socket.on('data', listener);
      socket.resume();
    },
    onClose: (listener) => closeListeners.push(listener),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    close: () => {
      socket.destroy();
      finish('closed');
    },
  };
}

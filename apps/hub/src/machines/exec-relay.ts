import type { WebSocket } from 'ws';
import type { HubStream } from '../tunnel/tunnel-streams';

/** The agent's `machine.exec` frames: `[channel u8][length u32 BE][bytes]` (libs/protocol streams.ts). */
const CHANNEL_END = 3;
const HEAD = 5;

/**
 * Splits the agent's exec frames out of a byte stream whose chunks may cut them anywhere (the
 * tunnel and the hub-to-hub relay keep bytes, not chunk boundaries).
 */
export class ExecFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { channel: number; payload: Buffer }[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: { channel: number; payload: Buffer }[] = [];
    while (this.pending.length >= HEAD) {
      const length = this.pending.readUInt32BE(1);
      if (this.pending.length < HEAD + length) break;
      frames.push({ channel: this.pending[0]!, payload: this.pending.subarray(HEAD, HEAD + length) });
      this.pending = this.pending.subarray(HEAD + length);
    }
    return frames;
  }
}

/**
 * Joins a client's WebSocket to a streamed `prlctl exec`: each stdout/stderr piece is one binary
 * message whose first byte is the channel (1 stdout, 2 stderr, as Kubernetes' channel protocol),
 * the end is a text message `{"type":"exit", exit_code, signal, timed_out, truncated}`, then the
 * socket closes with 1000 and `exit <code>`. Credit goes back only once the client took the bytes.
 * The command has no stdin: client messages are ignored; closing the socket stops the command.
 */
export function relayExec(ws: WebSocket, stream: HubStream): void {
  const reader = new ExecFrameReader();
  let end: { exit_code: number | null } | null = null;
  stream.onData((chunk) => {
    if (ws.readyState !== ws.OPEN) return;
    const frames = reader.push(chunk);
    let waiting = frames.length;
    // Credit for the chunk once every message cut from it was taken by the client's socket.
    const taken = (err?: Error | null) => {
      if (!err && --waiting === 0) stream.consumed(chunk.length);
    };
    if (waiting === 0) stream.consumed(chunk.length);
    for (const { channel, payload } of frames) {
      if (channel === CHANNEL_END) {
        end = parseEnd(payload);
        ws.send(JSON.stringify({ type: 'exit', ...end }), taken);
      } else ws.send(Buffer.concat([Buffer.of(channel), payload]), { binary: true }, taken);
    }
  });
  stream.onClose((info) => {
    if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return;
    if (end) return ws.close(1000, `exit ${end.exit_code ?? 'none'}`);
    // No end frame: the agent's link or the replica holding it went away (1001), or the open failed midway.
    ws.close(info.disconnected ? 1001 : 1011, (info.reason ?? 'closed').slice(0, 120));
  });
  ws.on('close', () => stream.close('client closed the exec stream'));
}

function parseEnd(payload: Buffer): {
  exit_code: number | null;
  signal: string | null;
  timed_out: boolean;
  truncated: boolean;
} {
  try {
    const e = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    return {
      exit_code: typeof e.exit_code === 'number' ? e.exit_code : null,
      signal: typeof e.signal === 'string' ? e.signal : null,
      timed_out: e.timed_out === true,
      truncated: e.truncated === true,
    };
  } catch {
    return { exit_code: null, signal: null, timed_out: false, truncated: false };
  }
}

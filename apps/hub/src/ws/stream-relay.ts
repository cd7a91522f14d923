import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { HubStream } from '../tunnel/tunnel-streams';

/** Text frames that start with "{" are control messages; everything else is input. */
const controlMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('resize'),
    cols: z.number().int().min(1).max(1000),
    rows: z.number().int().min(1).max(1000),
  }),
  z.object({ type: z.literal('input'), data: z.string().max(64 * 1024) }),
]);

/**
 * Joins a user's WebSocket to a tunnel stream: output as binary frames, credit returned only once
 * the client's socket took the bytes (backpressure), input and resize from the client unless the
 * stream is `readOnly` (live logs). Either side closing closes the other. `prelude`: text frames
 * sent before any output (the console's scrollback and live marker). `raw`: every frame is input
 * bytes, none a control message (VNC: RFB bytes that may well start with "{").
 */
export function relay(
  ws: WebSocket,
  stream: HubStream,
  options: { readOnly?: boolean; raw?: boolean; prelude?: readonly string[] } = {},
): void {
  for (const frame of options.prelude ?? []) ws.send(frame);
  stream.onData((chunk) => {
    if (ws.readyState !== ws.OPEN) return;
    // Credit goes back only once the client's socket took the bytes: that is the backpressure.
    ws.send(chunk, { binary: true }, (err) => {
      if (!err) stream.consumed(chunk.length);
    });
  });
  stream.onClose((info) => {
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      // 1001 (going away): the agent's link or the replica holding it went away, worth reconnecting.
      ws.close(
        info.disconnected ? 1001 : 1000,
        (info.exit_code !== undefined ? `exit ${info.exit_code}` : (info.reason ?? 'closed')).slice(0, 120),
      );
    }
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    // Once we close (e.g. access ended), nothing more reaches the terminal or console.
    if (options.readOnly || ws.readyState !== ws.OPEN) return;
    if (!options.raw && !isBinary && data[0] === 0x7b) {
      const parsed = parseControl(data.toString('utf8'));
      if (parsed?.type === 'resize') return stream.resize(parsed.cols, parsed.rows);
      if (parsed?.type === 'input') return stream.write(Buffer.from(parsed.data, 'utf8'));
    }
    stream.write(Buffer.from(data));
  });
  ws.on('close', () => stream.close('client closed the terminal'));
}

function parseControl(text: string): z.infer<typeof controlMessage> | null {
  try {
    const r = controlMessage.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

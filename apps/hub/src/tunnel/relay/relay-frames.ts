import { z } from 'zod';
import { streamKindName } from '@hostplane/protocol';

/**
 * The hub-to-hub relay speaks one WebSocket per stream. Binary frames are the stream's bytes
 * (output towards the relaying replica, input towards the owner); text frames are these JSON
 * controls. Credit means the same as on the agent tunnel, so flow control holds end to end.
 */
export const RELAY_PATH = '/internal/v1/stream-relay';

const closeInfo = z.object({
  reason: z.string().max(1000).optional(),
  exit_code: z.number().int().optional(),
  error: z.object({ code: z.string().max(100), message: z.string().max(2000) }).optional(),
  bytes: z.number().int().min(0).optional(),
  disconnected: z.boolean().optional(),
});

/** Relaying replica → owner. */
export const toOwnerFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('open'),
    node_id: z.uuid(),
    kind: streamKindName,
    params: z.unknown(),
    timeout_ms: z.number().int().min(100).max(120_000),
    /**
     * Output the agent may send ahead of the consumer, as on the tunnel (bounded: what one stream may hold in flight).
     */
    output_credit: z
      .number()
      .int()
      .min(1)
      .max(4 * 1024 * 1024),
  }),
  /** The consumer passed these output bytes on: the agent may send as many more. */
  z.object({ type: z.literal('credit'), bytes: z.number().int().min(1) }),
  z.object({
    type: z.literal('resize'),
    cols: z.number().int().min(1).max(1000),
    rows: z.number().int().min(1).max(1000),
  }),
  z.object({ type: z.literal('eof') }),
  z.object({ type: z.literal('close'), reason: z.string().max(1000) }),
]);
export type ToOwnerFrame = z.infer<typeof toOwnerFrame>;

/** Owner → relaying replica. */
export const toRelayFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('opened'),
    meta: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    /** Input credit the agent granted and nobody used yet. */
    initial_credit: z.number().int().min(0),
  }),
  /** `not_owner`: the node's socket is not (or no longer) here; look the owner up again. */
  z.object({ type: z.literal('refused'), code: z.string().max(100), message: z.string().max(2000) }),
  /** The agent granted this much more input credit. */
  z.object({ type: z.literal('credit'), bytes: z.number().int().min(1) }),
  z.object({ type: z.literal('closed'), info: closeInfo }),
]);
export type ToRelayFrame = z.infer<typeof toRelayFrame>;

export function parseTextFrame<S extends z.ZodType>(schema: S, data: Buffer): z.infer<S> | null {
  try {
    const r = schema.safeParse(JSON.parse(data.toString('utf8')));
    return r.success ? (r.data as z.infer<S>) : null;
  } catch {
    return null;
  }
}

/**
 * Both ends ping; a peer that misses a pong for two intervals (a frozen host, a cut cable) is
 * terminated, which closes the stream with a reason. A killed process closes its sockets at once.
 */
export function keepAlive(ws: import('ws').WebSocket, intervalMs: number): void {
  let alive = true;
  ws.on('pong', () => (alive = true));
  const timer = setInterval(() => {
    if (!alive) return ws.terminate();
    alive = false;
    ws.ping();
  }, intervalMs);
  timer.unref();
  ws.once('close', () => clearInterval(timer));
}

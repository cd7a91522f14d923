import { z } from 'zod';

/**
 * Streams (terminal, console, logs, file transfer) are multiplexed over the agent socket.
 * Flow control is credit based: a sender may have at most `credit` bytes outstanding and the
 * receiver grants more with `stream:credit` as it consumes. Chunks stay well below socket.io's
 * 1 MB frame limit.
 */
export const STREAM_CHUNK_BYTES = 32 * 1024;
export const STREAM_INITIAL_CREDIT = 256 * 1024;

export const STREAM_KINDS = {
  terminal: z.object({
    cols: z.number().int().min(1).max(1000).default(80),
    rows: z.number().int().min(1).max(1000).default(24),
  }),
  /** Interactive console of an instance: its stdin/stdout (pty for the process driver, attach for docker). */
  'instance.console': z.object({ instance_id: z.uuid() }),
  /** Live output of an instance: the last `tail` lines, then new ones as they come. */
  'instance.logs': z.object({ instance_id: z.uuid(), tail: z.number().int().min(0).max(10_000).default(100) }),
} satisfies Record<string, z.ZodType>;
export type StreamKind = keyof typeof STREAM_KINDS;
export const streamKindName = z.enum(Object.keys(STREAM_KINDS) as [StreamKind, ...StreamKind[]]);

export const streamId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);

export const streamOpen = z.object({
  stream_id: streamId,
  kind: streamKindName,
  params: z.unknown(),
  initial_credit: z.number().int().min(1).max(16 * 1024 * 1024),
});
export type StreamOpen = z.infer<typeof streamOpen>;

export const streamOpenAck = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), initial_credit: z.number().int().min(1) }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type StreamOpenAck = z.infer<typeof streamOpenAck>;

export const streamData = z.object({
  stream_id: streamId,
  data: z
    .custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'must be binary' })
    .refine((d) => d.byteLength <= STREAM_CHUNK_BYTES * 2, { message: 'chunk too large' }),
});
export type StreamData = z.infer<typeof streamData>;

export const streamCredit = z.object({ stream_id: streamId, bytes: z.number().int().min(1).max(64 * 1024 * 1024) });
export type StreamCredit = z.infer<typeof streamCredit>;

export const streamControl = z.object({
  stream_id: streamId,
  type: z.literal('resize'),
  cols: z.number().int().min(1).max(1000),
  rows: z.number().int().min(1).max(1000),
});
export type StreamControl = z.infer<typeof streamControl>;

export const streamClose = z.object({
  stream_id: streamId,
  reason: z.string().max(500).optional(),
  exit_code: z.number().int().optional(),
});
export type StreamClose = z.infer<typeof streamClose>;

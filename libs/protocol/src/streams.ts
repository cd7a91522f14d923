import { z } from 'zod';
import { containerRef, instanceFilePath, transferId } from './files';
import { guestArgv, guestPath, machineRef } from './machines';
import { ZONE_NAME_PATTERN } from './zones';

/** Any zone of the host but the global one (a shell there would be the node terminal). */
const consoleZone = z
  .string()
  .regex(ZONE_NAME_PATTERN, { message: "a zone name: a letter, then up to 62 letters, digits, '_', '.', '-'" })
  .refine((z) => z !== 'global', { message: 'the global zone has no zone console (use the node terminal)' });
const ttySize = {
  cols: z.number().int().min(1).max(1000).default(80),
  rows: z.number().int().min(1).max(1000).default(24),
};

/**
 * Streams (terminal, console, logs, file transfer) are multiplexed over the agent socket.
 * Flow control is credit based: a sender may have at most `credit` bytes outstanding and the
 * receiver grants more with `stream:credit` as it consumes. Chunks stay well below socket.io's
 * 1 MB frame limit.
 */
export const STREAM_CHUNK_BYTES = 32 * 1024;
export const STREAM_INITIAL_CREDIT = 256 * 1024;
/** The most lines `instance.logs.history` keeps with `lines`. */
export const LOG_HISTORY_MAX_LINES = 1_000_000;

export const STREAM_KINDS = {
  terminal: z.object(ttySize),
  /**
   * Interactive console of an instance: its stdin and output (a FIFO and the output file for the
   * process driver, no tty; an attach to the container's tty for docker). The open ack's meta has
   * `scrollback` (the last `scrollback` output lines, joined by "\n") and `tty`; the stream's data
   * is the output from then on.
   */
  'instance.console': z.object({ instance_id: z.uuid(), scrollback: z.number().int().min(0).max(1000).default(0) }),
  /** Live output of an instance: the last `tail` lines, then new ones as they come. */
  'instance.logs': z.object({ instance_id: z.uuid(), tail: z.number().int().min(0).max(10_000).default(100) }),
  /**
   * Agent → hub: the instance's output log history (rotated files, then the current one) as
   * plain text, oldest first, LF line ends; `since`/`until` bound it in time, `lines` keeps the
   * last N. The ack's meta says `time_precision`: `line` (docker) or `file` (process driver).
   */
  'instance.logs.history': z
    .object({
      instance_id: z.uuid(),
      since: z.iso.datetime({ offset: true }).optional(),
      until: z.iso.datetime({ offset: true }).optional(),
      lines: z.number().int().min(1).max(LOG_HISTORY_MAX_LINES).optional(),
    })
    .refine((p) => p.since === undefined || p.until === undefined || Date.parse(p.since) <= Date.parse(p.until), {
      message: 'since must not be after until',
    }),
  /**
   * Agent → hub: the bytes of one regular file of the instance root; the ack's meta has `size_bytes` and `modified_at`.
   */
  'file.read': z.object({ instance_id: z.uuid(), path: instanceFilePath, offset: z.number().int().min(0).default(0) }),
  /**
   * Hub → agent: bytes for a file. With `path` they go to a staging file that replaces the path
   * atomically at `eof`; with `upload_id` they go to (or continue, at `offset`) a staged upload
   * that `instance.files.commit-upload` moves into place later. The hub ends its input with an
   * `eof` control; the agent answers with a close carrying `bytes` (total staged) or `error`.
   * `max_bytes` bounds what the agent accepts.
   */
  'file.write': z
    .object({
      instance_id: z.uuid(),
      path: instanceFilePath.optional(),
      upload_id: transferId.optional(),
      offset: z.number().int().min(0).default(0),
      max_bytes: z
        .number()
        .int()
        .min(0)
        .max(1024 ** 4),
      overwrite: z.boolean().default(true),
    })
    .refine((p) => (p.path === undefined) !== (p.upload_id === undefined), {
      message: 'exactly one of path and upload_id',
    })
    .refine((p) => p.path === undefined || p.offset === 0, { message: 'offset applies to staged uploads only' }),
  /** Agent → hub: a zip archive of `paths` (relative to `base`), generated while it streams. */
  'files.archive': z.object({
    instance_id: z.uuid(),
    base: instanceFilePath.default('.'),
    paths: z.array(instanceFilePath).min(1).max(1000),
  }),
  /** Agent → hub: a stored backup archive; the ack's meta has `size_bytes`. */
  'backup.read': z.object({ instance_id: z.uuid(), backup_id: transferId }),
  /** Hub → agent: a backup archive to store (migration target, restore from S3); verified against `sha256` at `eof`. */
  'backup.write': z.object({
    instance_id: z.uuid(),
    backup_id: transferId,
    size_bytes: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  /** A zone's console (`zlogin -C`) in a pty: input, output and resize, like the node terminal. */
  'zone.console': z.object({ zone: consoleZone, ...ttySize }),
  /** A shell in a zone (`zlogin <zone>`) in a pty. */
  'zone.shell': z.object({ zone: consoleZone, ...ttySize }),
  /**
   * A bhyve zone's VNC framebuffer as raw RFB bytes both ways (docs/decisions/0032): the agent runs
   * `zadm vnc` on a loopback port for the stream's lifetime and relays its TCP connection.
   */
  'zone.vnc': z.object({ zone: consoleZone }),
  /**
   * Agent → hub: `prlctl exec <vm> [--current-user] argv…` with its output as frames (decision
   * 0034): `[channel u8][length u32 BE][bytes]`, channel 1 stdout, 2 stderr, 3 the end as JSON
   * `{exit_code, signal, timed_out, truncated}`. Bounded by `timeout_seconds` and `max_output_bytes`.
   */
  'machine.exec': z.object({
    vm: machineRef,
    argv: guestArgv,
    current_user: z.boolean().default(false),
    timeout_seconds: z.number().int().min(1).max(3600).default(600),
    max_output_bytes: z
      .number()
      .int()
      .min(1)
      .max(256 * 1024 * 1024)
      .default(16 * 1024 * 1024),
  }),
  /** A shell in a VM's guest (`prlctl enter <vm>`) in a pty, like the zone shell. */
  'machine.shell': z.object({ vm: machineRef, ...ttySize }),
  /**
   * Hub → agent: a file for the guest. The agent stages the bytes, then at `eof` copies them in with
   * `prlctl exec <vm> /bin/sh -c 'cat > "$1"' sh <path>` fed on stdin, and closes with `bytes`.
   */
  'machine.upload': z.object({
    vm: machineRef,
    path: guestPath,
    max_bytes: z
      .number()
      .int()
      .min(0)
      .max(1024 ** 4),
  }),
  /** Agent → hub: a Docker container's output, the last `tail` lines then (with `follow`) new ones. */
  'container.logs': z.object({
    container_id: containerRef,
    tail: z.number().int().min(0).max(10_000).default(100),
    follow: z.boolean().default(true),
  }),
} satisfies Record<string, z.ZodType>;
export type StreamKind = keyof typeof STREAM_KINDS;
export const streamKindName = z.enum(Object.keys(STREAM_KINDS) as [StreamKind, ...StreamKind[]]);

export const streamId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);

export const streamOpen = z.object({
  stream_id: streamId,
  kind: streamKindName,
  params: z.unknown(),
  initial_credit: z
    .number()
    .int()
    .min(1)
    .max(16 * 1024 * 1024),
});
export type StreamOpen = z.infer<typeof streamOpen>;

/** Facts the agent tells about what it opened (file size, modification time…). */
export const streamMeta = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

export const streamOpenAck = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), initial_credit: z.number().int().min(1), meta: streamMeta.optional() }),
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

export const streamCredit = z.object({
  stream_id: streamId,
  bytes: z
    .number()
    .int()
    .min(1)
    .max(64 * 1024 * 1024),
});
export type StreamCredit = z.infer<typeof streamCredit>;

export const streamControl = z.discriminatedUnion('type', [
  z.object({
    stream_id: streamId,
    type: z.literal('resize'),
    cols: z.number().int().min(1).max(1000),
    rows: z.number().int().min(1).max(1000),
  }),
  /** The hub has sent all its input (file.write, backup.write); the agent finishes and closes. */
  z.object({ stream_id: streamId, type: z.literal('eof') }),
]);
export type StreamControl = z.infer<typeof streamControl>;

export const streamClose = z.object({
  stream_id: streamId,
  reason: z.string().max(500).optional(),
  exit_code: z.number().int().optional(),
  /** Why an input stream failed (file.write, backup.write), with a stable code. */
  error: z.object({ code: z.string().max(64), message: z.string().max(2000) }).optional(),
  /** Input streams: the bytes now durably staged (for a resumable upload, its new offset). */
  bytes: z.number().int().min(0).optional(),
});
export type StreamClose = z.infer<typeof streamClose>;

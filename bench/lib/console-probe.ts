import { closeSync, openSync, readSync, statSync, watch } from 'node:fs';
import type { SeededRandom } from './seed';

/** A console as the probes see it: bytes in, bytes out. */
export interface ConsoleEndpoint {
  write(data: Buffer): void;
  onData(listener: (chunk: Buffer) => void): void;
  close(): void;
}

export interface KeystrokeOptions {
  samples: number;
  /** Independent typists, each with one key in flight; keys are told apart by their byte value. */
  typists: number;
  /** Each typist pauses a random 0..maxGapMs between keys, so keys land at every phase of a poll. */
  maxGapMs: number;
  random: SeededRandom;
  /** The workload's output file: when given, the moment each key lands in it is recorded too (inotify). */
  outputFile?: string;
  timeoutMs?: number;
}

export interface KeystrokeSamples {
  /** Key written → its echo read from the console, ms. */
  echoMs: number[];
  /** Key written → the workload wrote it to its output file, ms (when an output file was given). */
  inputMs: number[];
  timeouts: number;
}

const KEYS = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');

interface Key {
  sentAt: number;
  inputAt?: number;
  echoed: (at: number) => void;
}

/**
 * Keystroke echo latency: typists send one byte each to a workload that echoes its input
 * (`cat`) and time how long until that byte comes back; with `outputFile`, also how long until
 * the byte reached the workload's output file, which splits the input relay from the output one.
 */
export async function measureKeystrokes(endpoint: ConsoleEndpoint, o: KeystrokeOptions): Promise<KeystrokeSamples> {
  const inFlight = new Map<number, Key>();
  const result: KeystrokeSamples = { echoMs: [], inputMs: [], timeouts: 0 };
  endpoint.onData((chunk) => {
    const at = performance.now();
    for (const byte of chunk) inFlight.get(byte)?.echoed(at);
  });
  const stopWatching = o.outputFile
    ? watchAppends(o.outputFile, (chunk, at) => {
        for (const byte of chunk) {
          const key = inFlight.get(byte);
          if (key && key.inputAt === undefined) key.inputAt = at;
        }
      })
    : () => undefined;
  const free = [...KEYS];
  let started = 0;
  const typist = async () => {
    while (started < o.samples) {
      started++;
      const byte = free.splice(o.random.int(free.length), 1)[0]!;
      const echoedAt = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), o.timeoutMs ?? 5_000);
        const key: Key = {
          sentAt: performance.now(),
          echoed: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        };
        inFlight.set(byte, key);
        endpoint.write(Buffer.of(byte));
      });
      const key = inFlight.get(byte)!;
      inFlight.delete(byte);
      free.push(byte);
      if (echoedAt === null) result.timeouts++;
      else {
        result.echoMs.push(echoedAt - key.sentAt);
        if (key.inputAt !== undefined) result.inputMs.push(key.inputAt - key.sentAt);
      }
      await new Promise((r) => setTimeout(r, o.random.next() * o.maxGapMs));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(o.typists, KEYS.length - 1) }, typist));
  } finally {
    stopWatching();
  }
  return result;
}

export interface BulkResult {
  bytes: number;
  /** Command written → first output byte, ms. */
  firstByteMs: number;
  /** Command written → the end marker read, s. */
  seconds: number;
  mbPerSec: number;
}

/**
 * Output throughput: asks a workload that prints `n` bytes then `marker` on each line it reads
 * (the bulk workload) for `bytes`, and times the output until the marker arrives.
 */
export function measureBulk(
  endpoint: ConsoleEndpoint,
  bytes: number,
  marker: string,
  timeoutMs: number,
): Promise<BulkResult> {
  const end = Buffer.from(marker);
  return new Promise((resolve, reject) => {
    let received = 0;
    let firstAt: number | undefined;
    let tail = Buffer.alloc(0);
    const timer = setTimeout(
      () => reject(new Error(`bulk output: ${received} of ${bytes} bytes after ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const sentAt = performance.now();
    endpoint.onData((chunk) => {
      const at = performance.now();
      firstAt ??= at;
      received += chunk.length;
      tail = Buffer.concat([tail, chunk]).subarray(-(end.length + 64));
      if (tail.includes(end)) {
        clearTimeout(timer);
        const seconds = (at - sentAt) / 1000;
        resolve({ bytes: received, firstByteMs: firstAt - sentAt, seconds, mbPerSec: received / 1e6 / seconds });
      }
    });
    endpoint.write(Buffer.from(`${bytes}\n`));
  });
}

/** Calls `listener` with every byte appended to `file` from now on, as inotify reports the writes. */
function watchAppends(file: string, listener: (chunk: Buffer, at: number) => void): () => void {
  let offset = statSync(file).size;
  const read = () => {
    const at = performance.now();
    const size = statSync(file).size;
    if (size < offset) offset = 0;
    if (size === offset) return;
    const buf = Buffer.alloc(size - offset);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buf, 0, buf.length, offset);
    } finally {
      closeSync(fd);
    }
    offset = size;
    listener(buf, at);
  };
  const watcher = watch(file, { persistent: false }, read);
  return () => watcher.close();
}

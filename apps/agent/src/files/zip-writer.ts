import { once } from 'node:events';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import zlib from 'node:zlib';

/** One member of a zip being written: a directory, a regular file read from disk, or a link. */
export type ZipMember =
  | { kind: 'directory'; name: string; mode: number; mtime: Date }
  | { kind: 'file'; name: string; mode: number; mtime: Date; abs: string; size: number; verify?: (fd: number) => void }
  | { kind: 'symlink'; name: string; mode: number; mtime: Date; target: string };

interface CentralRecord {
  name: Buffer;
  method: number;
  dosTime: number;
  dosDate: number;
  crc: number;
  compressed: number;
  uncompressed: number;
  offset: number;
  externalAttr: number;
  zip64: boolean;
}

const MAX32 = 0xffffffff;
/** Deflate may grow incompressible data a little; past this a member is written with ZIP64 sizes. */
const ZIP64_FILE_THRESHOLD = 0xff000000;
const FLAGS = 0x0808; // bit 3: sizes in a data descriptor after the data; bit 11: UTF-8 names
const READ_CHUNK = 64 * 1024;

/**
 * A zip archive generated while it is read: each member's local header, its deflated bytes,
 * then a data descriptor (sizes and CRC known only after), and the central directory at the end.
 * Memory stays at one read chunk plus zlib's window, whatever the archive's size. ZIP64 records
 * are written where a size, an offset or the member count needs them.
 */
export async function* zipStream(members: AsyncIterable<ZipMember>): AsyncGenerator<Buffer> {
  const central: CentralRecord[] = [];
  let offset = 0;
  for await (const m of members) {
    const name = Buffer.from(m.kind === 'directory' ? `${m.name.replace(/\/+$/, '')}/` : m.name, 'utf8');
    const { time, date } = dosDateTime(m.mtime);
    const typeBits = m.kind === 'directory' ? 0o040000 : m.kind === 'symlink' ? 0o120000 : 0o100000;
    const method = m.kind === 'file' ? 8 : 0;
    const zip64 = m.kind === 'file' && m.size >= ZIP64_FILE_THRESHOLD;
    const rec: CentralRecord = { name, method, dosTime: time, dosDate: date, crc: 0, compressed: 0, uncompressed: 0, offset, externalAttr: (((typeBits | (m.mode & 0o7777)) << 16) | (m.kind === 'directory' ? 0x10 : 0)) >>> 0, zip64 };
    const header = localHeader(rec);
    offset += header.length;
    yield header;
    if (m.kind === 'file') {
      for await (const out of deflateFile(m.abs, rec, m.verify)) {
        offset += out.length;
        yield out;
      }
    } else if (m.kind === 'symlink') {
      const body = Buffer.from(m.target, 'utf8');
      rec.crc = crc32(body, 0);
      rec.compressed = rec.uncompressed = body.length;
      offset += body.length;
      yield body;
    }
    const descriptor = dataDescriptor(rec);
    offset += descriptor.length;
    yield descriptor;
    central.push(rec);
  }
  const cdStart = offset;
  for (const rec of central) {
    const entry = centralEntry(rec);
    offset += entry.length;
    yield entry;
  }
  yield endRecords(central.length, cdStart, offset - cdStart);
}

async function* deflateFile(abs: string, rec: CentralRecord, verify?: (fd: number) => void): AsyncGenerator<Buffer> {
  // O_NOFOLLOW | O_NONBLOCK: a link or a fifo swapped in since the walk neither redirects nor blocks the read.
  const handle = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  const deflate = zlib.createDeflateRaw({ level: 6, chunkSize: READ_CHUNK });
  const feed = (async () => {
    try {
      if (!(await handle.stat()).isFile()) throw new Error(`${abs} is no longer a regular file`);
      verify?.(handle.fd);
      const buf = Buffer.alloc(READ_CHUNK);
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, READ_CHUNK, null);
        if (bytesRead === 0) break;
        const chunk = Buffer.from(buf.subarray(0, bytesRead));
        rec.crc = crc32(chunk, rec.crc);
        rec.uncompressed += bytesRead;
        if (!deflate.write(chunk)) await once(deflate, 'drain');
      }
      deflate.end();
    } catch (err) {
      deflate.destroy(err as Error);
    } finally {
      await handle.close();
    }
  })();
  for await (const out of deflate as AsyncIterable<Buffer>) {
    rec.compressed += out.length;
    yield out;
  }
  await feed;
  if (!rec.zip64 && (rec.compressed >= MAX32 || rec.uncompressed >= MAX32)) throw new Error(`${abs} grew past 4 GiB while it was archived`);
}

function localHeader(rec: CentralRecord): Buffer {
  const extra = rec.zip64 ? zip64Extra([0, 0]) : Buffer.alloc(0);
  const b = Buffer.alloc(30);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(rec.zip64 ? 45 : 20, 4);
  b.writeUInt16LE(FLAGS, 6);
  b.writeUInt16LE(rec.method, 8);
  b.writeUInt16LE(rec.dosTime, 10);
  b.writeUInt16LE(rec.dosDate, 12);
  // CRC and sizes follow in the data descriptor (0, or 0xffffffff with ZIP64).
  b.writeUInt32LE(rec.zip64 ? MAX32 : 0, 18);
  b.writeUInt32LE(rec.zip64 ? MAX32 : 0, 22);
  b.writeUInt16LE(rec.name.length, 26);
  b.writeUInt16LE(extra.length, 28);
  return Buffer.concat([b, rec.name, extra]);
}

function dataDescriptor(rec: CentralRecord): Buffer {
  if (rec.zip64) {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(0x08074b50, 0);
    b.writeUInt32LE(rec.crc >>> 0, 4);
    b.writeBigUInt64LE(BigInt(rec.compressed), 8);
    b.writeBigUInt64LE(BigInt(rec.uncompressed), 16);
    return b;
  }
  const b = Buffer.alloc(16);
  b.writeUInt32LE(0x08074b50, 0);
  b.writeUInt32LE(rec.crc >>> 0, 4);
  b.writeUInt32LE(rec.compressed, 8);
  b.writeUInt32LE(rec.uncompressed, 12);
  return b;
}

function centralEntry(rec: CentralRecord): Buffer {
  const big: number[] = [];
  if (rec.uncompressed >= MAX32 || rec.zip64) big.push(rec.uncompressed);
  if (rec.compressed >= MAX32 || rec.zip64) big.push(rec.compressed);
  const offsetBig = rec.offset >= MAX32;
  if (offsetBig) big.push(rec.offset);
  const extra = big.length > 0 ? zip64Extra(big) : Buffer.alloc(0);
  const b = Buffer.alloc(46);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE((3 << 8) | (big.length > 0 ? 45 : 20), 4); // made by Unix, so the mode in the attributes counts
  b.writeUInt16LE(big.length > 0 ? 45 : 20, 6);
  b.writeUInt16LE(FLAGS, 8);
  b.writeUInt16LE(rec.method, 10);
  b.writeUInt16LE(rec.dosTime, 12);
  b.writeUInt16LE(rec.dosDate, 14);
  b.writeUInt32LE(rec.crc >>> 0, 16);
  b.writeUInt32LE(rec.zip64 || rec.compressed >= MAX32 ? MAX32 : rec.compressed, 20);
  b.writeUInt32LE(rec.zip64 || rec.uncompressed >= MAX32 ? MAX32 : rec.uncompressed, 24);
  b.writeUInt16LE(rec.name.length, 28);
  b.writeUInt16LE(extra.length, 30);
  b.writeUInt16LE(0, 32);
  b.writeUInt16LE(0, 34);
  b.writeUInt16LE(0, 36);
  b.writeUInt32LE(rec.externalAttr, 38);
  b.writeUInt32LE(offsetBig ? MAX32 : rec.offset, 42);
  return Buffer.concat([b, rec.name, extra]);
}

function zip64Extra(values: number[]): Buffer {
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(0x0001, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}

function endRecords(count: number, cdStart: number, cdSize: number): Buffer {
  const parts: Buffer[] = [];
  const needs64 = count >= 0xffff || cdStart >= MAX32 || cdSize >= MAX32;
  if (needs64) {
    const z = Buffer.alloc(56);
    z.writeUInt32LE(0x06064b50, 0);
    z.writeBigUInt64LE(44n, 4);
    z.writeUInt16LE((3 << 8) | 45, 12);
    z.writeUInt16LE(45, 14);
    z.writeBigUInt64LE(BigInt(count), 24);
    z.writeBigUInt64LE(BigInt(count), 32);
    z.writeBigUInt64LE(BigInt(cdSize), 40);
    z.writeBigUInt64LE(BigInt(cdStart), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(cdStart + cdSize), 8);
    locator.writeUInt32LE(1, 16);
    parts.push(z, locator);
  }
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0);
  e.writeUInt16LE(Math.min(count, 0xffff), 8);
  e.writeUInt16LE(Math.min(count, 0xffff), 10);
  e.writeUInt32LE(Math.min(cdSize, MAX32), 12);
  e.writeUInt32LE(Math.min(cdStart, MAX32), 16);
  parts.push(e);
  return Buffer.concat(parts);
}

function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.max(1980, d.getFullYear());
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

let crcTable: Int32Array | null = null;

const nativeCrc32 = (zlib as unknown as { crc32?: (d: Buffer, v?: number) => number }).crc32;

/** zlib.crc32 where Node has it (20.15+, 22.2+), else a table. */
export function crc32(data: Buffer, previous: number): number {
  return nativeCrc32 ? nativeCrc32(data, previous) : tableCrc32(data, previous);
}

export function tableCrc32(data: Buffer, previous: number): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let crc = ~previous;
  for (let i = 0; i < data.length; i++) crc = (crcTable[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

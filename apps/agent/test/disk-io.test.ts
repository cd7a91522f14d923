import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { metricsSample } from '@hostplane/protocol';
import {
  parseIoregBlockStorage,
  parseKstatDiskIo,
  parseProcDiskstats,
  readDiskIoCounters,
} from '../src/inventory/disk-io';
import { MetricsSampler } from '../src/inventory/metrics';

const SIM_BIN = join(__dirname, '../../test/sim-tools/bin');

// A laptop's /proc/diskstats (kernel 6.x, 20 columns): an NVMe disk with two partitions, a USB
// disk with one, a loop device, an LVM volume over the NVMe disk, and a ram disk.
const DISKSTATS = [
  ' 259       0 nvme0n1 245349 70469 17443622 42385 539542 323165 37693920 362436 0 313616 429780 0 0 0 0 26893 24958',
  ' 259       1 nvme0n1p1 312 1004 11522 69 2 0 2 0 0 96 70 0 0 0 0 0 0',
  ' 259       2 nvme0n1p2 244913 69465 17424884 42286 539540 323165 37693918 362435 0 313520 404722 0 0 0 0 0 0',
  '   8       0 sda 1032 0 2048 310 57 12 4096 88 0 412 398 0 0 0 0 0 0',
  '   8       1 sda1 980 0 1984 300 57 12 4096 88 0 400 388 0 0 0 0 0 0',
  '   7       0 loop0 47 0 2182 9 0 0 0 0 0 36 9 0 0 0 0 0 0',
  ' 253       0 dm-0 244100 0 17400000 40000 860000 0 37690000 400000 0 300000 440000 0 0 0 0 0 0',
  '   1       0 ram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0',
  '',
].join('\n');

// `ioreg -c IOBlockStorageDriver -r -w 0` on a Mac with its internal disk and a mounted USB stick.
const IOREG = `+-o IOBlockStorageDriver  <class IOBlockStorageDriver, id 0x100000443, registered, matched, active, busy 0 (0 ms), retain 7>
  | {
  |   "IOPropertyMatch" = {"device-type"="Generic"}
  |   "IOProbeScore" = 0
  |   "CFBundleIdentifier" = "com.apple.iokit.IOStorageFamily"
  |   "IOProviderClass" = "IOBlockStorageDevice"
  |   "IOClass" = "IOBlockStorageDriver"
  |   "Statistics" = {"Operations (Write)"=5296471,"Latency Time (Write)"=0,"Bytes (Read)"=137858105344,"Errors (Write)"=0,"Total Time (Read)"=1107530893621,"Latency Time (Read)"=0,"Retries (Read)"=0,"Errors (Read)"=0,"Total Time (Write)"=246389802838,"Bytes (Write)"=117339832320,"Operations (Read)"=4889313,"Retries (Write)"=0}
  |   "IOGeneralInterest" = "IOCommand is not serializable"
  |   "IOMatchCategory" = "IODefaultMatchCategory"
  | }
  |
  +-o APPLE SSD AP0512Q Media  <class IOMedia, id 0x100000446, registered, matched, active, busy 0 (0 ms), retain 12>
      {
        "Content" = "GUID_partition_scheme"
        "Size" = 500277792768
        "Whole" = Yes
      }
+-o IOBlockStorageDriver  <class IOBlockStorageDriver, id 0x100004a21, registered, matched, active, busy 0 (0 ms), retain 7>
  | {
  |   "Statistics" = {"Operations (Write)"=12,"Bytes (Read)"=4194304,"Errors (Write)"=0,"Bytes (Write)"=49152,"Operations (Read)"=96}
  | }
`;

describe('disk I/O counters', () => {
  it('Linux /proc/diskstats: whole disks only, sectors of 512 bytes', () => {
    const expected = { readBytes: (17443622 + 2048) * 512, writtenBytes: (37693920 + 4096) * 512 };
    assert.deepEqual(parseProcDiskstats(DISKSTATS), expected, 'partitions told apart by their names');
    const sysBlock = new Set(['nvme0n1', 'sda', 'loop0', 'dm-0', 'ram0']);
    assert.deepEqual(parseProcDiskstats(DISKSTATS, sysBlock), expected, 'partitions told apart by /sys/block');
    assert.deepEqual(parseProcDiskstats('garbage\n\n 8 0 sda x'), { readBytes: 0, writtenBytes: 0 });
  });

  it('illumos kstat -p -c disk, run against the simulated kstat with the agent argv', () => {
    assert.deepEqual(parseKstatDiskIo('sd:0:sd0:nread\t12345\nsd:0:sd0:nwritten\t678\nsd:1:sd1:nread\t5\n'), {
      readBytes: 12350,
      writtenBytes: 678,
    });
    const out = execFileSync('kstat', ['-p', '-c', 'disk', ':::nread', ':::nwritten'], {
      env: {
        ...process.env,
        PATH: `${SIM_BIN}:${process.env.PATH ?? ''}`,
        HOSTPLANE_SIM_STATE: mkdtempSync(join(tmpdir(), 'hp-kstat-')),
      },
      encoding: 'utf8',
    });
    assert.ok(!out.includes('sd0,a'), 'the partition class is not asked for');
    assert.deepEqual(parseKstatDiskIo(out), { readBytes: 73400320 + 1048576, writtenBytes: 146800640 + 2097152 });
  });

  it('macOS ioreg: the Statistics of every IOBlockStorageDriver', () => {
    assert.deepEqual(parseIoregBlockStorage(IOREG), {
      readBytes: 137858105344 + 4194304,
      writtenBytes: 117339832320 + 49152,
    });
  });

  it('this host: counters read, and carried in a schema-valid heartbeat sample', async (t) => {
    if (process.platform !== 'linux') return t.skip('reads /proc/diskstats');
    const io = await readDiskIoCounters();
    assert.ok(io.readBytes > 0, 'this host has read from its disks since boot');
    const sample = await new MetricsSampler(async () => []).sample();
    assert.ok(metricsSample.safeParse(sample).success);
    assert.ok(sample.disk_read_bytes >= io.readBytes);
    assert.ok(sample.disk_written_bytes >= io.writtenBytes);
    const old = { ...sample } as Partial<typeof sample>;
    delete old.disk_read_bytes;
    delete old.disk_written_bytes;
    assert.equal(metricsSample.parse(old).disk_read_bytes, 0, "an older agent's sample still validates");
  });
});

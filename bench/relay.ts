import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { bootstrapAdmin } from './lib/bootstrap';
import type { BenchContext, BenchReport, OperationResult } from './lib/context';
import { type ConsoleEndpoint, measureKeystrokes } from './lib/console-probe';
import { type BenchHub, startBenchHub } from './lib/hub';
import { HubClient } from './lib/hub-client';
import { processCpuSeconds } from './lib/proc';
import { RealAgent } from './lib/real-agent';
import { seededRandom } from './lib/seed';
import { ratio, round, type SampleSummary, summarize } from './lib/stats';
import { formatNumber, printTable } from './lib/table';

/**
 * What the hub-to-hub relay (decision 0025) costs a stream: two hub replicas on one database and
 * Redis, a real agent connected to B. Every probe runs against B (the replica holding the agent:
 * user → hub → agent) and against A (user → A → relay → B → agent), interleaved in rounds so both
 * see the same machine. Echo uses the node terminal (a pty: `stty raw -echo; exec cat`), whose
 * output is read as it is written, so the hop is not hidden by the process driver's 100 ms
 * output poll. Throughput: pty output (`head -c N /dev/zero | tr`) and a file download.
 */

const FULL = { rounds: 3, keystrokes: 200, ptyBytes: 2_000_000, fileBytes: 32 * 1024 * 1024 };
const QUICK = { rounds: 2, keystrokes: 60, ptyBytes: 1_000_000, fileBytes: 8 * 1024 * 1024 };
const TYPISTS = 4;
const MAX_GAP_MS = 10;
const DONE = 'BULK_42_END';

type Path = 'direct' | 'hop';
interface Throughput {
  bytes: number;
  seconds: number;
  cpu: { a: number; b: number; agent: number };
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const shape = ctx.quick ? QUICK : FULL;
  ctx.progress('starting replica A on a throwaway database, then replica B on the same one');
  const hubA = await startBenchHub();
  let hubB: BenchHub | undefined;
  let agent: RealAgent | undefined;
  const client = new HubClient(hubA.url, 16);
  try {
    hubB = await startBenchHub({ replicaOf: hubA });
    const admin = await bootstrapAdmin(client, 'Relay bench');
    const headers = { authorization: `Bearer ${admin.accessToken}`, 'x-org-id': admin.orgId };
    ctx.progress('registering a real agent on replica B');
    agent = await RealAgent.register(client, hubB.url);
    await agent.start(client);
    const via: Record<Path, string> = { direct: hubB.url, hop: hubA.url };
    const pids = { a: hubA.pid, b: hubB.pid, agent: agent.pid! };

    const workload = await client.expect(201, '/v1/workloads', {
      json: {
        name: 'relay-bench-files',
        driver: 'process',
        startup: 'echo ready; exec sleep 3600',
        resources: { cpu_cores: 0.1, memory_bytes: 64 * 1024 * 1024, disk_bytes: 0 },
        ready_pattern: '^ready$',
        stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 1 },
        restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
      },
    });
    const created = await client.expect(202, '/v1/instances', {
      json: { name: 'relay-bench', workload_id: workload.id, start: false },
    });
    const instanceId = created.instance.id as string;
    await waitFor(
      async () => (await client.expect(200, `/v1/instances/${instanceId}`)).state === 'stopped',
      'instance installed',
    );
    const root = join(agent.instanceDir(instanceId), 'data');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'blob.bin'), Buffer.alloc(shape.fileBytes, 0x61));

    const random = seededRandom(ctx.seed);
    const echo: Record<Path, number[]> = { direct: [], hop: [] };
    const pty: Record<Path, Throughput[]> = { direct: [], hop: [] };
    const file: Record<Path, Throughput[]> = { direct: [], hop: [] };
    // Round 0 warms both paths up (JIT, connection pools) and is not kept.
    for (let round = 0; round <= shape.rounds; round++) {
      for (const path of round % 2 ? (['hop', 'direct'] as const) : (['direct', 'hop'] as const)) {
        ctx.progress(
          `${round ? `round ${round}/${shape.rounds}` : 'warm-up'}, ${path}: ${shape.keystrokes} keystrokes, ${formatNumber(shape.ptyBytes)} bytes of pty output, a ${formatNumber(shape.fileBytes)}-byte download`,
        );
        const keep = round > 0;
        const term = await terminal(via[path], agent.nodeId, headers);
        await term.run('stty raw -echo; exec cat\n', null);
        const keys = await measureKeystrokes(term, {
          samples: shape.keystrokes,
          typists: TYPISTS,
          maxGapMs: MAX_GAP_MS,
          random,
        });
        if (keys.timeouts) throw new Error(`${keys.timeouts} keystrokes were never echoed (${path})`);
        if (keep) echo[path].push(...keys.echoMs);
        term.close();
        const bulk = await terminal(via[path], agent.nodeId, headers);
        const ptyRun = await measured(pids, () =>
          bulk.run(`head -c ${shape.ptyBytes} /dev/zero | tr '\\0' x; echo BULK_$((6*7))_END\n`, DONE),
        );
        bulk.close();
        const fileRun = await measured(pids, () =>
          download(`${via[path]}/v1/instances/${instanceId}/files/download?path=blob.bin`, headers),
        );
        if (keep) {
          pty[path].push(ptyRun);
          file[path].push(fileRun);
        }
      }
    }

    const rows = (['direct', 'hop'] as const).map((path) => ({
      label: path === 'direct' ? 'replica holding the agent (B)' : 'another replica (A → relay → B)',
      echo: summarize(echo[path]),
      pty: throughputOf(pty[path]),
      file: throughputOf(file[path]),
    }));
    printTable<(typeof rows)[number]>(
      [
        { header: 'user connected to', value: (r) => r.label },
        { header: 'echo n', value: (r) => r.echo.count },
        { header: 'echo p50 ms', value: (r) => round(r.echo.p50, 2) },
        { header: 'p99 ms', value: (r) => round(r.echo.p99, 2) },
        { header: 'pty MB/s', value: (r) => r.pty.mbPerSec },
        { header: 'CPU ms/MB A', value: (r) => r.pty.cpuMsPerMb.a },
        { header: 'B', value: (r) => r.pty.cpuMsPerMb.b },
        { header: 'download MB/s', value: (r) => r.file.mbPerSec },
        { header: 'CPU ms/MB A', value: (r) => r.file.cpuMsPerMb.a },
        { header: 'B', value: (r) => r.file.cpuMsPerMb.b },
        { header: 'agent', value: (r) => r.file.cpuMsPerMb.agent },
      ],
      rows,
    );
    process.stdout.write(
      [
        `echo = one byte written to the terminal WebSocket → its echo read (${TYPISTS} typists, 0-${MAX_GAP_MS} ms between keys); pty MB/s = a command printing ${formatNumber(shape.ptyBytes)} bytes → its end marker read;`,
        `download = GET …/files/download of ${formatNumber(shape.fileBytes)} bytes, read as fast as it comes. CPU ms/MB = user+system CPU of each process over the transfer, per MB (1e6 bytes). ${shape.rounds} rounds after a warm-up, alternating which path goes first.`,
        '',
      ].join('\n'),
    );
    const [direct, hop] = rows as [(typeof rows)[number], (typeof rows)[number]];
    const measurements: OperationResult[] = rows.map((r) => ({
      label: `terminal echo via ${r.label}`,
      summary: r.echo as SampleSummary,
    }));
    return {
      measurements,
      ratios: {
        'hop − direct echo p50 ms': round(hop.echo.p50 - direct.echo.p50, 2),
        'hop − direct echo p99 ms': round(hop.echo.p99 - direct.echo.p99, 2),
        'hop/direct pty MB/s': ratio(hop.pty.mbPerSec, direct.pty.mbPerSec),
        'hop/direct download MB/s': ratio(hop.file.mbPerSec, direct.file.mbPerSec),
        'relay CPU ms/MB on A (download)': hop.file.cpuMsPerMb.a,
        'hop/direct CPU ms/MB on B (download)': ratio(hop.file.cpuMsPerMb.b, direct.file.cpuMsPerMb.b),
      },
      facts: {
        rounds: shape.rounds,
        keystrokes_per_round: shape.keystrokes,
        pty_bytes: shape.ptyBytes,
        file_bytes: shape.fileBytes,
        node: process.version,
      },
    };
  } finally {
    ctx.progress('stopping the agent and both replicas, dropping the database');
    await agent?.close();
    client.close();
    await hubB?.close();
    await hubA.close();
  }
}

interface Terminal extends ConsoleEndpoint {
  /** Sends a command line; resolves when `until` was read (or after a short settle when null). */
  run(line: string, until: string | null): Promise<number>;
}

function terminal(hubUrl: string, nodeId: string, headers: Record<string, string>): Promise<Terminal> {
  const ws = new WebSocket(`${hubUrl.replace(/^http/, 'ws')}/v1/nodes/${nodeId}/terminal`, {
    headers,
    perMessageDeflate: false,
  });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`terminal: the upgrade was answered ${res.statusCode}`)),
    );
    ws.once('error', reject);
    ws.once('open', () => {
      const listeners: ((d: Buffer) => void)[] = [];
      ws.on('message', (d: Buffer) => {
        for (const l of listeners) l(d);
      });
      resolve({
        write: (data) => ws.send(data, { binary: true }),
        onData: (l) => listeners.push(l),
        close: () => ws.close(),
        run: (line, until) =>
          new Promise((done, fail) => {
            let bytes = 0;
            let tail = '';
            const timer = setTimeout(
              () => (until ? fail(new Error(`terminal: no "${until}" after 60 s (${bytes} bytes)`)) : done(bytes)),
              until ? 60_000 : 500,
            );
            listeners.push((d) => {
              bytes += d.length;
              tail = (tail + d.toString('latin1')).slice(-64);
              if (until && tail.includes(until)) {
                clearTimeout(timer);
                done(bytes);
              }
            });
            ws.send(line);
          }),
      });
    });
  });
}

async function download(url: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, { headers });
  if (res.status !== 200) throw new Error(`download answered ${res.status}: ${await res.text()}`);
  let bytes = 0;
  for await (const chunk of res.body!) bytes += (chunk as Uint8Array).length;
  return bytes;
}

async function measured(
  pids: { a: number; b: number; agent: number },
  transfer: () => Promise<number>,
): Promise<Throughput> {
  const cpu0 = {
    a: processCpuSeconds(pids.a) ?? 0,
    b: processCpuSeconds(pids.b) ?? 0,
    agent: processCpuSeconds(pids.agent) ?? 0,
  };
  const t0 = performance.now();
  const bytes = await transfer();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = {
    a: (processCpuSeconds(pids.a) ?? 0) - cpu0.a,
    b: (processCpuSeconds(pids.b) ?? 0) - cpu0.b,
    agent: (processCpuSeconds(pids.agent) ?? 0) - cpu0.agent,
  };
  return { bytes, seconds, cpu };
}

function throughputOf(runs: Throughput[]) {
  const bytes = runs.reduce((s, r) => s + r.bytes, 0);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const mb = bytes / 1e6;
  const per = (k: 'a' | 'b' | 'agent') => round((runs.reduce((s, r) => s + r.cpu[k], 0) * 1000) / mb, 2);
  return { mbPerSec: round(mb / seconds, 1), cpuMsPerMb: { a: per('a'), b: per('b'), agent: per('agent') } };
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const by = performance.now() + 60_000;
  while (performance.now() < by) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`relay bench: ${what} did not happen within 60 s`);
}

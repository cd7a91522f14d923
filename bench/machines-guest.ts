import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { bootstrapAdmin } from './lib/bootstrap';
import type { BenchContext, BenchReport, OperationResult } from './lib/context';
import { startBenchHub } from './lib/hub';
import { HubClient } from './lib/hub-client';
import { processCpuSeconds } from './lib/proc';
import { RealAgent } from './lib/real-agent';
import { round, type SampleSummary, summarize } from './lib/stats';
import { printTable } from './lib/table';

/**
 * Inside a Parallels guest (docs/decisions/0034, 2026-12-08), on the simulated prlctl: a command's
 * output streamed (`…/exec/stream`) against `prlctl exec` read directly; a short command's round
 * trip as a stream, as an operation (`POST …/exec` then `/wait`) and directly; a file uploaded
 * (`POST …/files`) against `prlctl exec … cat > path` fed the file directly. MB/s, ms, and the
 * hub's and agent's CPU per MB on the hub paths. The simulated prlctl is a Node process per call
 * (hundreds of ms): the round trips measure mostly it, side by side.
 */

const SIM_BIN = join(__dirname, '../../apps/agent/test/sim-tools/bin');
interface Shape {
  rounds: number;
  outputMb: number;
  uploadMb: number;
  trips: number;
}
const FULL: Shape = { rounds: 3, outputMb: 64, uploadMb: 32, trips: 10 };
const QUICK: Shape = { rounds: 1, outputMb: 16, uploadMb: 8, trips: 3 };
const MB = 1e6;

interface Row {
  what: string;
  path: string;
  value: number;
  unit: string;
  hubCpuMsPerMb: number | null;
  agentCpuMsPerMb: number | null;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const shape = ctx.quick ? QUICK : FULL;
  const state = join(mkdtempSync(join(tmpdir(), 'hp-bench-prl-')), 's');
  const env = {
    PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOSTPLANE_SIM_STATE: state,
    HOSTPLANE_AGENT_PARALLELS_ENABLED: 'on',
  };
  const prlEnv = { ...process.env, ...env };
  execFileSync(join(SIM_BIN, 'prlctl'), ['create', 'guest-bench', '-d', 'ubuntu'], { env: prlEnv });
  execFileSync(join(SIM_BIN, 'prlctl'), ['start', 'guest-bench'], { env: prlEnv });
  mkdirSync(join(state, 'Parallels', 'guest-bench.pvm', 'guest', 'tmp'), { recursive: true });
  ctx.progress('starting the hub on a throwaway database');
  const hub = await startBenchHub({
    env: { HOSTPLANE_LOG_LEVEL: 'warn', HOSTPLANE_FILES_MAX_UPLOAD_BYTES: String(1e9) },
  });
  const client = new HubClient(hub.url, 4);
  let agent: RealAgent | undefined;
  const upload = join(mkdtempSync(join(tmpdir(), 'hp-bench-up-')), 'blob');
  try {
    const admin = await bootstrapAdmin(client, 'Machines guest bench');
    ctx.progress('registering a real agent on a simulated Parallels host');
    agent = await RealAgent.register(client, hub.url, { ...env, HOSTPLANE_AGENT_LOG_LEVEL: 'warn' });
    await agent.start(client);
    for (let i = 0; ; i++) {
      const n = await client.expect(200, `/v1/nodes/${agent.nodeId}`);
      if ((n.drivers as { name: string; available: boolean }[]).some((d) => d.name === 'parallels' && d.available))
        break;
      if (i > 100) throw new Error('the parallels driver never became available');
      await new Promise((r) => setTimeout(r, 200));
    }
    const headers = { authorization: `Bearer ${admin.accessToken}`, 'x-org-id': admin.orgId };
    const base = `/v1/nodes/${agent.nodeId}/machines/guest-bench`;
    const wsBase = hub.url.replace('http', 'ws') + base;
    const agentPid = agent.pid;
    const cpu = () => [processCpuSeconds(hub.pid) ?? 0, agentPid === null ? 0 : (processCpuSeconds(agentPid) ?? 0)];
    writeFileSync(upload, Buffer.alloc(shape.uploadMb * MB, 7));

    const outputBytes = shape.outputMb * MB;
    const produce = ['/bin/sh', '-c', `head -c ${outputBytes} /dev/zero`];
    const argvQuery = (argv: string[]) => argv.map((a) => `argv=${encodeURIComponent(a)}`).join('&');
    const totals = new Map<string, { seconds: number; bytes: number; hub: number; agent: number }>();
    const trips = new Map<string, number[]>();
    const add = (key: string, seconds: number, bytes: number, c0: number[], c1: number[]) => {
      const t = totals.get(key) ?? { seconds: 0, bytes: 0, hub: 0, agent: 0 };
      t.seconds += seconds;
      t.bytes += bytes;
      t.hub += c1[0]! - c0[0]!;
      t.agent += c1[1]! - c0[1]!;
      totals.set(key, t);
    };
    const timed = async (key: string, bytes: number, task: () => Promise<number | void>) => {
      const c0 = cpu();
      const t0 = performance.now();
      const got = await task();
      add(key, (performance.now() - t0) / 1000, typeof got === 'number' ? got : bytes, c0, cpu());
    };

    const direct = (args: string[], stdinFile?: string) =>
      new Promise<number>((resolve, reject) => {
        const fd = stdinFile ? openSync(stdinFile, 'r') : null;
        const child = spawn(join(SIM_BIN, 'prlctl'), args, {
          env: prlEnv,
          stdio: [fd ?? 'ignore', 'pipe', 'inherit'],
        });
        let n = 0;
        child.stdout!.on('data', (d: Buffer) => (n += d.length));
        child.once('error', reject);
        child.once('close', () => {
          if (fd !== null) closeSync(fd);
          resolve(n);
        });
      });
    const stream = (argv: string[]) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${wsBase}/exec/stream?${argvQuery(argv)}&max_output_bytes=${256 * 1024 * 1024}`, {
          headers,
        });
        let n = 0;
        ws.on('message', (d: Buffer, binary: boolean) => (binary ? (n += d.length - 1) : undefined));
        ws.once('close', () => resolve(n));
        ws.once('error', reject);
      });
    const operation = async (argv: string[]) => {
      const op = await client.expect(202, `${base}/exec`, { json: { argv } });
      const done = await client.expect(200, `/v1/operations/${op.id}/wait?timeout=120`);
      if (done.status !== 'succeeded') throw new Error(`exec operation ${done.status}`);
    };
    const viaHubUpload = async () => {
      const res = await fetch(`${hub.url}${base}/files?path=/tmp/blob`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(shape.uploadMb * MB, 7),
      });
      if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
    };

    for (let r = 0; r < shape.rounds; r++) {
      const order = r % 2 === 0 ? ['direct', 'hub'] : ['hub', 'direct'];
      for (const path of order) {
        ctx.progress(`round ${r + 1}/${shape.rounds}: ${path}`);
        if (path === 'direct') {
          await timed('output direct', outputBytes, () => direct(['exec', 'guest-bench', ...produce]));
          await timed('upload direct', shape.uploadMb * MB, async () => {
            await direct(['exec', 'guest-bench', '/bin/sh', '-c', 'cat > "$1"', 'sh', '/tmp/blob'], upload);
          });
          for (let i = 0; i < shape.trips; i++) {
            const t0 = performance.now();
            await direct(['exec', 'guest-bench', '/bin/true']);
            trips.set('direct prlctl exec', [...(trips.get('direct prlctl exec') ?? []), performance.now() - t0]);
          }
        } else {
          await timed('output hub', outputBytes, () => stream(produce));
          await timed('upload hub', shape.uploadMb * MB, viaHubUpload);
          for (let i = 0; i < shape.trips; i++) {
            let t0 = performance.now();
            await stream(['/bin/true']);
            trips.set('exec stream', [...(trips.get('exec stream') ?? []), performance.now() - t0]);
            t0 = performance.now();
            await operation(['/bin/true']);
            trips.set('exec operation', [...(trips.get('exec operation') ?? []), performance.now() - t0]);
          }
        }
      }
    }

    const rows: Row[] = [];
    for (const [key, t] of totals) {
      const [what, path] = key.split(' ') as [string, string];
      const mb = t.bytes / MB;
      rows.push({
        what: what === 'output' ? 'exec output' : 'upload',
        path: path === 'hub' ? 'through the hub' : 'prlctl directly',
        value: round(mb / t.seconds, 1),
        unit: 'MB/s',
        hubCpuMsPerMb: path === 'hub' ? round((t.hub * 1000) / mb, 2) : null,
        agentCpuMsPerMb: path === 'hub' ? round((t.agent * 1000) / mb, 2) : null,
      });
    }
    const tripSummaries = new Map<string, SampleSummary>([...trips].map(([k, v]) => [k, ms(v)]));
    for (const [k, s] of tripSummaries)
      rows.push({
        what: '/bin/true round trip p50',
        path: k,
        value: s.p50,
        unit: 'ms',
        hubCpuMsPerMb: null,
        agentCpuMsPerMb: null,
      });
    printTable<Row>(
      [
        { header: 'what', value: (r) => r.what },
        { header: 'path', value: (r) => r.path },
        { header: 'value', value: (r) => r.value },
        { header: 'unit', value: (r) => r.unit },
        { header: 'hub cpu ms/MB', value: (r) => r.hubCpuMsPerMb },
        { header: 'agent cpu ms/MB', value: (r) => r.agentCpuMsPerMb },
      ],
      rows,
    );
    const value = (what: string, path: string) => rows.find((r) => r.what === what && r.path === path)?.value ?? 0;
    const ratios: Record<string, number> = {
      'exec output hub/direct MB/s': round(
        value('exec output', 'through the hub') / value('exec output', 'prlctl directly'),
        2,
      ),
      'upload hub/direct MB/s': round(value('upload', 'through the hub') / value('upload', 'prlctl directly'), 2),
      'round trip stream/direct p50': round(
        tripSummaries.get('exec stream')!.p50 / tripSummaries.get('direct prlctl exec')!.p50,
        2,
      ),
      'round trip operation/stream p50': round(
        tripSummaries.get('exec operation')!.p50 / tripSummaries.get('exec stream')!.p50,
        2,
      ),
    };
    process.stdout.write(
      [
        `${shape.rounds} rounds alternating the order; output = ${shape.outputMb} MB of zeros from the guest; upload = ${shape.uploadMb} MB; ${shape.trips} round trips of /bin/true per round and path.`,
        ...Object.entries(ratios).map(([k, v]) => `${k}: ${v}`),
        '',
      ].join('\n'),
    );
    const measurements: OperationResult[] = [...tripSummaries].map(([k, s]) => ({
      label: `/bin/true round trip, ${k}`,
      summary: s,
    }));
    const facts: Record<string, string | number> = {};
    for (const r of rows) facts[`${r.what}, ${r.path} (${r.unit})`] = r.value;
    return { measurements, ratios, facts };
  } finally {
    ctx.progress('stopping the agent and the hub');
    await agent?.close();
    client.close();
    await hub.close();
    rmSync(upload, { force: true });
  }
}

function ms(values: number[]): SampleSummary {
  const s = summarize(values);
  return {
    count: s.count,
    mean: round(s.mean, 1),
    min: round(s.min, 1),
    p50: round(s.p50, 1),
    p90: round(s.p90, 1),
    p99: round(s.p99, 1),
    max: round(s.max, 1),
  };
}

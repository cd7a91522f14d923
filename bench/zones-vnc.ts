import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { WebSocket } from 'ws';
import {
  RfbClient,
  type ServerInit,
  socketTransport,
  startVncServer,
  wsTransport,
} from '@hostplane/hub/dist/test/support/rfb';
import { SimIllumosHost } from '@hostplane/hub/dist/test/support/sim-zones';
import { bootstrapAdmin } from './lib/bootstrap';
import type { BenchContext, BenchReport, OperationResult } from './lib/context';
import { startBenchHub } from './lib/hub';
import { HubClient } from './lib/hub-client';
import { processCpuSeconds } from './lib/proc';
import { RealAgent } from './lib/real-agent';
import { round, type SampleSummary, summarize } from './lib/stats';
import { printTable } from './lib/table';

/**
 * The zone VNC relay (docs/decisions/0032): a real VNC server (TigerVNC's Xvnc on the zone's
 * `vm.vnc` UNIX socket, standing in for bhyve's framebuffer) reached three ways, side by side in
 * one run: directly on its socket; through a `zadm vnc` proxy on loopback (the simulated zadm, a
 * Node proxy standing in for zadm's Perl one); and through the hub (user WebSocket → hub →
 * tunnel → agent → `zadm vnc` → socket). Latency: a 1×1 non-incremental FramebufferUpdateRequest
 * → its update read. Throughput: whole-screen Raw updates one after another. CPU per MB of the
 * hub and the agent on the hub path.
 */

const SCREEN = { width: 1024, height: 768 };
interface Shape {
  rounds: number;
  pings: number;
  frames: number;
}
const FULL: Shape = { rounds: 3, pings: 300, frames: 40 };
const QUICK: Shape = { rounds: 1, pings: 50, frames: 5 };

type PathName = 'direct (UNIX socket)' | 'zadm vnc proxy (TCP)' | 'through the hub';
interface PathRow {
  label: PathName;
  latency: SampleSummary;
  mbPerSec: number;
  hubCpuMsPerMb: number | null;
  agentCpuMsPerMb: number | null;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const shape = ctx.quick ? QUICK : FULL;
  const host = new SimIllumosHost();
  ctx.progress('starting the hub on a throwaway database');
  const hub = await startBenchHub({ env: { HOSTPLANE_LOG_LEVEL: 'warn' } });
  const client = new HubClient(hub.url, 4);
  let agent: RealAgent | undefined;
  let server: Awaited<ReturnType<typeof startVncServer>> | undefined;
  let proxy: ChildProcess | undefined;
  try {
    const admin = await bootstrapAdmin(client, 'Zones VNC bench');
    ctx.progress('registering a real agent on a simulated illumos host; booting a bhyve zone; starting Xvnc');
    agent = await RealAgent.register(client, hub.url, { ...host.agentEnv, HOSTPLANE_AGENT_LOG_LEVEL: 'warn' });
    await agent.start(client);
    await host.bootZone('vm1', 'bhyve', { vnc: 'on' });
    server = await startVncServer(host.vncSocket('vm1'), SCREEN);
    const started = await startZadmProxy(host);
    proxy = started.child;
    const wsUrl = `${hub.url.replace('http', 'ws')}/v1/nodes/${agent.nodeId}/zones/vm1/vnc`;
    const headers = { authorization: `Bearer ${admin.accessToken}`, 'x-org-id': admin.orgId };
    const connect: Record<PathName, () => Promise<RfbClient>> = {
      'direct (UNIX socket)': async () => new RfbClient(socketTransport(await socketTo(host.vncSocket('vm1')))),
      'zadm vnc proxy (TCP)': async () => new RfbClient(socketTransport(await socketTo(started.port))),
      'through the hub': async () => {
        const ws = new WebSocket(wsUrl, ['binary'], { headers });
        const rfb = new RfbClient(wsTransport(ws));
        await new Promise((ok, fail) => (ws.once('open', ok), ws.once('error', fail)));
        return rfb;
      },
    };
    const samples = new Map<
      PathName,
      { pings: number[]; bytes: number; seconds: number; hub: number; agent: number }
    >();
    for (let round_ = 0; round_ < shape.rounds; round_++) {
      // Alternate the order so neither path always runs on a warmer machine.
      const order = (Object.keys(connect) as PathName[]).slice();
      if (round_ % 2 === 1) order.reverse();
      for (const path of order) {
        ctx.progress(`round ${round_ + 1}/${shape.rounds}: ${path}`);
        const rfb = await connect[path]();
        const { init } = await rfb.handshake();
        const s = samples.get(path) ?? { pings: [], bytes: 0, seconds: 0, hub: 0, agent: 0 };
        for (let i = 0; i < 10; i++) await ping(rfb, init); // warm-up
        for (let i = 0; i < shape.pings; i++) s.pings.push(await ping(rfb, init));
        const cpu0 = [processCpuSeconds(hub.pid), agent.pid === null ? null : processCpuSeconds(agent.pid)];
        const t0 = performance.now();
        for (let i = 0; i < shape.frames; i++) {
          rfb.requestUpdate(init);
          s.bytes += (await rfb.readUpdate(init)).pixelBytes;
        }
        s.seconds += (performance.now() - t0) / 1000;
        const cpu1 = [processCpuSeconds(hub.pid), agent.pid === null ? null : processCpuSeconds(agent.pid)];
        s.hub += (cpu1[0] ?? 0) - (cpu0[0] ?? 0);
        s.agent += (cpu1[1] ?? 0) - (cpu0[1] ?? 0);
        samples.set(path, s);
        rfb.close();
      }
    }
    const rows: PathRow[] = [...samples].map(([label, s]) => {
      const mb = s.bytes / 1e6;
      const hubPath = label === 'through the hub';
      return {
        label,
        latency: ms(s.pings),
        mbPerSec: round(mb / s.seconds, 1),
        hubCpuMsPerMb: hubPath ? round((s.hub * 1000) / mb, 2) : null,
        agentCpuMsPerMb: hubPath ? round((s.agent * 1000) / mb, 2) : null,
      };
    });
    printTable<PathRow>(
      [
        { header: 'VNC path', value: (r) => r.label },
        { header: 'pings', value: (r) => r.latency.count },
        { header: 'p50 ms', value: (r) => r.latency.p50 },
        { header: 'p90', value: (r) => r.latency.p90 },
        { header: 'p99', value: (r) => r.latency.p99 },
        { header: 'MB/s', value: (r) => r.mbPerSec },
        { header: 'hub cpu ms/MB', value: (r) => r.hubCpuMsPerMb },
        { header: 'agent cpu ms/MB', value: (r) => r.agentCpuMsPerMb },
      ],
      rows,
    );
    process.stdout.write(
      [
        `ping = a 1x1 non-incremental FramebufferUpdateRequest → its update read (after the RFB 3.8 handshake, security None); ${shape.rounds} rounds alternating the order.`,
        `MB/s = ${shape.frames} whole-screen Raw updates (${SCREEN.width}x${SCREEN.height}x32 bpp, ${((SCREEN.width * SCREEN.height * 4) / 1e6).toFixed(2)} MB each) one after another, per round.`,
        '',
      ].join('\n'),
    );
    const byLabel = new Map(rows.map((r) => [r.label, r]));
    const direct = byLabel.get('direct (UNIX socket)')!;
    const viaZadm = byLabel.get('zadm vnc proxy (TCP)')!;
    const viaHub = byLabel.get('through the hub')!;
    const ratios: Record<string, number> = {
      'hub/direct MB/s': round(viaHub.mbPerSec / direct.mbPerSec, 2),
      'hub/zadm-proxy MB/s': round(viaHub.mbPerSec / viaZadm.mbPerSec, 2),
    };
    const facts: Record<string, string | number> = {
      'added latency p50 ms (hub - direct)': round(viaHub.latency.p50 - direct.latency.p50, 2),
      'added latency p50 ms (hub - zadm proxy)': round(viaHub.latency.p50 - viaZadm.latency.p50, 2),
      'added latency p99 ms (hub - direct)': round(viaHub.latency.p99 - direct.latency.p99, 2),
    };
    for (const r of rows) facts[`${r.label}: MB/s`] = r.mbPerSec;
    process.stdout.write(
      Object.entries({ ...ratios, ...facts })
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n') + '\n',
    );
    const measurements: OperationResult[] = rows.map((r) => ({ label: `VNC ping, ${r.label}`, summary: r.latency }));
    return { measurements, ratios, facts };
  } finally {
    ctx.progress('stopping Xvnc, the zone, the agent and the hub');
    proxy?.kill('SIGTERM');
    await server?.stop();
    await host.haltZone('vm1').catch(() => undefined);
    await agent?.close();
    client.close();
    await hub.close();
  }
}

async function ping(rfb: RfbClient, init: ServerInit): Promise<number> {
  const t0 = performance.now();
  rfb.requestUpdate({ ...init, width: 1, height: 1 });
  await rfb.readUpdate(init);
  return performance.now() - t0;
}

function socketTo(where: string | number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = typeof where === 'number' ? net.connect(where, '127.0.0.1') : net.connect(where);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** `zadm vnc 127.0.0.1:<free port> vm1`, the proxy the agent runs, for the middle row. */
async function startZadmProxy(host: SimIllumosHost): Promise<{ child: ChildProcess; port: number }> {
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  const child = spawn('zadm', ['vnc', `127.0.0.1:${port}`, 'vm1'], {
    env: { ...process.env, ...host.agentEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => (/available at/.test(d.toString()) ? resolve() : undefined));
    child.once('exit', (code) => reject(new Error(`zadm vnc exited with ${code}`)));
  });
  return { child, port };
}

function ms(values: number[]): SampleSummary {
  const s = summarize(values);
  return {
    count: s.count,
    mean: round(s.mean, 3),
    min: round(s.min, 3),
    p50: round(s.p50, 3),
    p90: round(s.p90, 3),
    p99: round(s.p99, 3),
    max: round(s.max, 3),
  };
}

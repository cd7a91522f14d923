// `npm run bench -- reverse-proxy`: the agent's reverse proxy (http-proxy-3) in front of a VM's
// service against the service directly, side by side in one run, then while the VM's address
// flips every second (simulated Parallels host: `prlctl set --device-set net0 --ipadd`, followed by
// the proxy through `prlctl monitor-events`).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildServer } from './lib/child-server';
import type { BenchContext, BenchReport } from './lib/context';
import { measureLoad } from './lib/load';
import { packageVersion } from './lib/package-version';
import { ratio, round } from './lib/stats';
import { printLoadResults, printRatios } from './lib/table';

const SIM_BIN = join(__dirname, '../../apps/agent/test/sim-tools/bin');
const SERVER = join(__dirname, 'lib/reverse-proxy-server.js');
const ADDRESSES = ['127.0.0.2', '127.0.0.3'];

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const state = join(mkdtempSync(join(tmpdir(), 'hp-bench-rp-')), 's');
  const env = { ...process.env, PATH: `${SIM_BIN}:${process.env.PATH ?? ''}`, HOSTPLANE_SIM_STATE: state };
  const prlctl = (...args: string[]) => execFileSync(join(SIM_BIN, 'prlctl'), args, { env, encoding: 'utf8' });
  prlctl('create', 'bench-vm', '-d', 'ubuntu');
  prlctl('start', 'bench-vm');
  prlctl('set', 'bench-vm', '--device-set', 'net0', '--ipadd', ADDRESSES[0]);
  const vmId = (JSON.parse(prlctl('list', '-a', '-i', '--json'))[0].ID as string).replace(/[{}]/g, '');

  const loadBefore = loadavg()[0];
  ctx.progress('starting the VM service and the proxy');
  const backend = await startChildServer(SERVER, ['backend', ADDRESSES.join(','), '0']);
  const backendPort = Number(new URL(backend.url).port);
  const proxy = await startChildServer(SERVER, ['proxy', vmId, String(backendPort), String(await freePort())], {
    ...env,
    HOSTPLANE_BENCH_PROXY_STATE: mkdtempSync(join(tmpdir(), 'hp-bench-rp-state-')),
  });
  try {
    ctx.progress('direct');
    const direct = await measureLoad(
      { label: 'direct to the VM service', url: `${backend.url}/`, serverPid: backend.pid },
      ctx.settings,
    );
    ctx.progress('through the proxy');
    const proxied = await measureLoad(
      { label: 'through the reverse proxy', url: `${proxy.url}/`, serverPid: proxy.pid },
      ctx.settings,
    );
    ctx.progress('through the proxy while the VM address flips every second');
    let flips = 0;
    let at = 0;
    const flipper = setInterval(() => {
      at = 1 - at;
      flips += 1;
      execFile(join(SIM_BIN, 'prlctl'), ['set', 'bench-vm', '--device-set', 'net0', '--ipadd', ADDRESSES[at]], {
        env,
      });
    }, 1000);
    const before = (await (await fetch(`${backend.url}/__served`)).json()) as Record<string, number>;
    let flipping;
    try {
      flipping = await measureLoad(
        { label: 'through the proxy, VM address flipping every 1 s', url: `${proxy.url}/`, serverPid: proxy.pid },
        ctx.settings,
      );
    } finally {
      clearInterval(flipper);
    }
    const afterServed = (await (await fetch(`${backend.url}/__served`)).json()) as Record<string, number>;
    const servedDuringFlips = Object.fromEntries(ADDRESSES.map((a) => [a, (afterServed[a] ?? 0) - (before[a] ?? 0)]));
    printLoadResults([direct, proxied, flipping]);
    const failures = flipping.errors + flipping.timeouts + flipping.non2xx;
    const ratios = {
      'proxy/direct req/s': ratio(proxied.reqPerSec, direct.reqPerSec),
      'proxy/direct p50 latency': ratio(proxied.latencyMs.p50, direct.latencyMs.p50),
      'flipping/steady proxy req/s': ratio(flipping.reqPerSec, proxied.reqPerSec),
    };
    printRatios(ratios);
    const facts = {
      'http-proxy-3': packageVersion('http-proxy-3'),
      'load average (1 min) before / after': `${round(loadBefore, 1)} / ${round(loadavg()[0], 1)}`,
      'added latency p50 ms': round(proxied.latencyMs.p50 - direct.latencyMs.p50, 3),
      'added latency p99 ms': round(proxied.latencyMs.p99 - direct.latencyMs.p99, 3),
      'proxy CPU µs per request': proxied.serverCpuUsPerRequest ?? -1,
      'backend CPU µs per request (direct)': direct.serverCpuUsPerRequest ?? -1,
      'address flips during the flipping run (incl. warm-up)': flips,
      'failed requests during the flipping run': failures,
      ...Object.fromEntries(Object.entries(servedDuringFlips).map(([a, n]) => [`served on ${a} while flipping`, n])),
    };
    process.stdout.write(
      `\nfacts\n${Object.entries(facts)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n')}\n`,
    );
    return { measurements: [direct, proxied, flipping], ratios, facts };
  } finally {
    await proxy.close();
    await backend.close();
  }
}

// `npm run bench [-- name ...] [--quick]`: runs the named benchmarks (all without names), prints
// the machine they ran on and their tables, and keeps each run's figures in bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ServerStartError } from './lib/child-server';
import { undoAll } from './lib/cleanup';
import { combine } from './lib/combine';
import { BenchContext, BenchModule, PINNED_SEED, PINNED_SETTINGS, QUICK_SETTINGS } from './lib/context';
import { LoadResult, loadProblems } from './lib/load';
import { formatMachineHeader, machineFacts } from './lib/machine';

interface BenchmarkEntry {
  description: string;
  load: () => Promise<BenchModule>;
}

/** Every benchmark, by the name given on the command line; a new one is a bench/<name>.ts and a line here. */
const BENCHMARKS: Record<string, BenchmarkEntry> = {
  auth: {
    description:
      'GET /v1/users/me with a JWT and with an hp_pat_ token against an unauthenticated route of the same work',
    load: () => import('./auth'),
  },
  http: {
    description: 'the hub: GET /health/live and /health/ready, req/s and latency percentiles',
    load: () => import('./http'),
  },
  'http-adapters': {
    description: 'the same minimal Nest app on Fastify and on Express, and the hub against bare Fastify',
    load: () => import('./http-adapters'),
  },
  fleet: {
    description:
      'simulated agents in one process: job round trip and jobs/s with 1 and 100 agents; hub RSS, CPU and Redis connections with 1k/5k/10k agents',
    load: () => import('./fleet'),
  },
  placement: {
    description:
      'scheduler: place() over 10,000 synthetic nodes, binpack and spread, p50/p99 per placement (target ≤ 5 ms)',
    load: () => import('./placement'),
  },
  instances: {
    description:
      'a real agent (process driver): create+start+stop+delete cycles/s with 50 concurrent, console throughput and keystroke latency through the hub vs the driver directly, placement over 10,000 nodes',
    load: () => import('./instances'),
  },
  consoles: {
    description:
      'console echo p50/p99 and output MB/s through the hub on the process and the docker driver, with hub and agent CPU per MB',
    load: () => import('./consoles'),
  },
  idempotency: {
    description: 'a POST with and without a new Idempotency-Key each time, interleaved: latency and CPU per request',
    load: () => import('./idempotency'),
  },
  outbox: {
    description:
      'events through the transactional outbox (PostgreSQL row, relay, Redis stream) against a bare XADD: latency, events/s and CPU per event, 1 and 50 at a time',
    load: () => import('./outbox'),
  },
  'redis-cluster': {
    description:
      'the hub on one Redis against the hub on a three-master Redis Cluster: job round trips and events through the outbox, 1 and 20/50 at a time, latency and CPU per op',
    load: () => import('./redis-cluster'),
  },
  relay: {
    description:
      'two hub replicas, a real agent on B: terminal echo p50/p99, pty output and file download MB/s with CPU per MB, user on B (direct) against user on A (relayed hub to hub)',
    load: () => import('./relay'),
  },
  zones: {
    description:
      "a real agent on simulated illumos tools with 500 zones: zone list through the hub vs the tool directly (p50/p99, req/s, CPU per request), and the request rate with 8 API tokens at concurrency 8 beside ZoneWeaver's ~1.2 req/s",
    load: () => import('./zones'),
  },
  'zones-vnc': {
    description:
      "a bhyve zone's VNC (a real Xvnc on its vm.vnc socket): RFB ping p50/p99 and whole-screen update MB/s directly, through zadm vnc, and through the hub, with hub and agent CPU per MB",
    load: () => import('./zones-vnc'),
  },
  'machines-guest': {
    description:
      'inside a Parallels guest (simulated prlctl): exec output MB/s streamed through the hub vs prlctl directly, /bin/true round trip as a stream, an operation and directly, upload MB/s, hub and agent CPU per MB',
    load: () => import('./machines-guest'),
  },
  'reverse-proxy': {
    description:
      "the agent's reverse proxy (http-proxy-3) in front of a VM's service: req/s, added latency and CPU per request against the service directly, and while the VM's address flips every second (failures counted)",
    load: () => import('./reverse-proxy'),
  },
  machines: {
    description:
      '200 VMs over 10 simulated Macs (real agents): GET /v1/machines through the hub vs prlctl list directly (p50/p99, CPU per request), resources overview, placement through the hub and placeMachine() alone; then the reverse proxy (as reverse-proxy)',
    load: async () => combine(await import('./machines'), await import('./reverse-proxy')),
  },
  events: {
    description:
      'GET /v1/operations/{id}/wait answered after the job finished (p50/p99), and 1,000 /v1/ws/subscribe subscribers at 100 events/s: delay, loss, hub CPU and RSS',
    load: () => import('./events'),
  },
};

const RESULTS_DIR = join(__dirname, '..', 'results');

function usage(): string {
  const width = Math.max(...Object.keys(BENCHMARKS).map((n) => n.length));
  const list = Object.entries(BENCHMARKS).map(([name, b]) => `  ${name.padEnd(width)}  ${b.description}`);
  return ['usage: npm run bench [-- <name>...] [--quick]', '', 'benchmarks:', ...list].join('\n');
}

function parseArgs(argv: string[]): { names: string[]; quick: boolean } {
  const flags = argv.filter((a) => a.startsWith('-'));
  const unknownFlag = flags.find((f) => f !== '--quick' && f !== '--help' && f !== '--list');
  if (unknownFlag) throw new UsageError(`unknown option '${unknownFlag}'`);
  if (flags.includes('--help') || flags.includes('--list')) {
    process.stdout.write(usage() + '\n');
    process.exit(0);
  }
  const names = argv.filter((a) => !a.startsWith('-'));
  const unknown = names.filter((n) => !(n in BENCHMARKS));
  if (unknown.length) {
    throw new UsageError(
      `unknown benchmark${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`,
    );
  }
  return { names: names.length ? [...new Set(names)] : Object.keys(BENCHMARKS), quick: flags.includes('--quick') };
}

class UsageError extends Error {}

async function main(): Promise<void> {
  const { names, quick } = parseArgs(process.argv.slice(2));
  const settings = quick ? QUICK_SETTINGS : PINNED_SETTINGS;
  const machine = await machineFacts();
  process.stdout.write(`${formatMachineHeader(machine)}\n`);
  process.stdout.write(
    `runs    ${settings.connections} connections, pipelining ${settings.pipelining}, ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per target, seed ${PINNED_SEED}\n`,
  );
  if (quick) process.stdout.write('QUICK RUN: shortened durations; do not compare these figures with pinned runs\n');
  mkdirSync(RESULTS_DIR, { recursive: true });

  for (const name of names) {
    const entry = BENCHMARKS[name]!;
    process.stdout.write(`\n== ${name}: ${entry.description}\n\n`);
    const ctx: BenchContext = {
      name,
      settings,
      seed: PINNED_SEED,
      quick,
      progress: (message) => process.stderr.write(`[${name}] ${message}\n`),
    };
    const startedAt = new Date();
    const report = await (await entry.load()).run(ctx);
    const finishedAt = new Date();
    const file = join(RESULTS_DIR, `${name}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    const warnings = report.measurements
      .filter((m): m is LoadResult => 'reqPerSec' in m)
      .flatMap((m) => loadProblems(m) ?? []);
    const record = {
      benchmark: name,
      description: entry.description,
      startedAt,
      finishedAt,
      quick,
      seed: PINNED_SEED,
      settings,
      machine,
      ...report,
      warnings,
    };
    writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
    process.stdout.write(`\nresults: ${relative(process.cwd(), file)}\n`);
  }
}

// Ctrl-C: stop the servers and drop the databases the interrupted benchmark made.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: cleaning up\n`);
    void undoAll().finally(() => process.exit(130));
  });
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`bench: ${err.message}\n\n${usage()}\n`);
    process.exit(2);
  }
  const known = err instanceof ServerStartError;
  process.stderr.write(
    `bench: ${err instanceof Error ? (known ? err.message : (err.stack ?? err.message)) : String(err)}\n`,
  );
  void undoAll().finally(() => process.exit(1));
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChildServer } from './lib/child-server';
import type { BenchContext, BenchReport } from './lib/context';
import { startBenchHub } from './lib/hub';
import { LoadResult, measureLoad } from './lib/load';
import { SeededRandom, seededRandom } from './lib/seed';
import { ratio } from './lib/stats';
import { printLoadResults, printRatios } from './lib/table';

type Adapter = 'fastify' | 'express';

/**
 * The adapter choice (docs/decisions/0001-http-adapter.md): one minimal Nest module served by
 * each adapter in its own process while autocannon runs here, then the real hub's /health/live
 * against bare Fastify's /ping to show what the hub's own hooks cost.
 */
export async function run(ctx: BenchContext): Promise<BenchReport> {
  const body = echoBody(seededRandom(ctx.seed));

  // The hub first: if it cannot start, the run fails in seconds rather than after the adapters.
  ctx.progress('starting the hub on a throwaway database');
  const hub = await startBenchHub();
  let hubLive: LoadResult;
  try {
    ctx.progress('hub: GET /health/live');
    hubLive = await measureLoad(
      { label: 'hub GET /health/live', url: `${hub.url}/health/live`, serverPid: hub.pid },
      ctx.settings,
    );
  } finally {
    await hub.close();
  }

  const fastify = await measureAdapter(ctx, 'fastify', body);
  const express = await measureAdapter(ctx, 'express', body);

  const measurements = [fastify.ping, fastify.echo, express.ping, express.echo, hubLive];
  const ratios = {
    'fastify/express ping req/s': ratio(fastify.ping.reqPerSec, express.ping.reqPerSec),
    'fastify/express echo req/s': ratio(fastify.echo.reqPerSec, express.echo.reqPerSec),
    'express/fastify ping p99': ratio(express.ping.latencyMs.p99, fastify.ping.latencyMs.p99),
    'express/fastify echo p99': ratio(express.echo.latencyMs.p99, fastify.echo.latencyMs.p99),
    'express/fastify ping cpu per request': cpuRatio(express.ping, fastify.ping),
    'express/fastify echo cpu per request': cpuRatio(express.echo, fastify.echo),
    'hub live/fastify ping req/s': ratio(hubLive.reqPerSec, fastify.ping.reqPerSec),
    'hub live/fastify ping p99': ratio(hubLive.latencyMs.p99, fastify.ping.latencyMs.p99),
    'hub live/fastify ping cpu per request': cpuRatio(hubLive, fastify.ping),
  };
  printLoadResults(measurements);
  process.stdout.write('\n');
  printRatios(ratios);
  return {
    measurements,
    ratios,
    facts: {
      echoBodyBytes: body.length,
      '@nestjs/core': packageVersion('@nestjs/core'),
      '@nestjs/platform-fastify': packageVersion('@nestjs/platform-fastify'),
      fastify: packageVersion('fastify'),
      '@nestjs/platform-express': packageVersion('@nestjs/platform-express'),
      express: packageVersion('express'),
    },
  };
}

/** Ratio of server CPU per request; NaN (printed '-', stored null) where the platform cannot say. */
function cpuRatio(a: LoadResult, b: LoadResult): number {
  return a.serverCpuUsPerRequest !== null && b.serverCpuUsPerRequest
    ? ratio(a.serverCpuUsPerRequest, b.serverCpuUsPerRequest)
    : NaN;
}

async function measureAdapter(
  ctx: BenchContext,
  adapter: Adapter,
  body: string,
): Promise<{ ping: LoadResult; echo: LoadResult }> {
  ctx.progress(`starting the minimal Nest app on ${adapter}`);
  const server = await startChildServer(join(__dirname, 'lib', 'minimal-server.js'), [adapter]);
  try {
    ctx.progress(`${adapter}: GET /ping`);
    const ping = await measureLoad(
      { label: `${adapter} GET /ping`, url: `${server.url}/ping`, serverPid: server.pid },
      ctx.settings,
    );
    ctx.progress(`${adapter}: POST /echo (${body.length} B)`);
    const echo = await measureLoad(
      { label: `${adapter} POST /echo`, url: `${server.url}/echo`, method: 'POST', body, serverPid: server.pid },
      ctx.settings,
    );
    return { ping, echo };
  } finally {
    await server.close();
  }
}

/** About 1 KB of JSON shaped like an API payload (strings, numbers, a nested list), same bytes every run. */
function echoBody(random: SeededRandom): string {
  const items: { key: string; value: string; weight: number }[] = [];
  const doc = { id: random.word(12), name: random.word(20), enabled: true, items };
  while (JSON.stringify(doc).length < 1000)
    items.push({ key: random.word(8), value: random.word(24), weight: random.int(1000) });
  return JSON.stringify(doc);
}

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
}

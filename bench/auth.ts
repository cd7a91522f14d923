import { join } from 'node:path';
import type { BenchContext, BenchReport } from './lib/context';
import { startBenchHub } from './lib/hub';
import { HubClient } from './lib/hub-client';
import { LoadResult, LoadTarget, measureLoad } from './lib/load';
import { ratio, round } from './lib/stats';
import { printLoadResults, printRatios } from './lib/table';

interface Credentials {
  userId: string;
  jwt: string;
  pat: string;
}

/** The first platform admin and an API token of theirs, made through the real API. */
async function credentials(url: string): Promise<Credentials> {
  const client = new HubClient(url, 4);
  try {
    const boot = await client.expect(201, '/v1/auth/bootstrap', {
      json: { email: 'perf-admin@example.test', password: 'Bench-7c1e9a-Harbor', organization_name: 'Bench' },
    });
    const created = await client.expect(201, '/v1/api-tokens', {
      json: { name: 'bench', expires_in: 3600 },
      headers: { authorization: `Bearer ${boot.access_token}`, 'x-org-id': boot.organization.id },
    });
    return { userId: boot.user.id, jwt: boot.access_token, pat: created.token };
  } finally {
    client.close();
  }
}

/**
 * What authentication costs per request: GET /v1/users/me with a JWT and with an hp_pat_ token
 * (as Bearer and as X-Api-Key) against a benchmark-only public route doing the same work (the
 * same service call) without credentials. Then the JWT and token again with the access cache
 * off (HOSTPLANE_AUTH_CACHE_SECONDS=0), to show what the cache saves.
 */
export async function run(ctx: BenchContext): Promise<BenchReport> {
  const entry = join(__dirname, 'auth-hub-server.js');
  const measurements: LoadResult[] = [];

  ctx.progress('starting the hub (with the same-work route) on a throwaway database');
  const hub = await startBenchHub({ entry });
  try {
    const c = await credentials(hub.url);
    const targets: LoadTarget[] = [
      { label: 'no credentials (same work)', url: `${hub.url}/bench/users/me?user_id=${c.userId}` },
      { label: 'JWT (Bearer)', url: `${hub.url}/v1/users/me`, headers: { authorization: `Bearer ${c.jwt}` } },
      { label: 'hp_pat_ (Bearer)', url: `${hub.url}/v1/users/me`, headers: { authorization: `Bearer ${c.pat}` } },
      { label: 'hp_pat_ (X-Api-Key)', url: `${hub.url}/v1/users/me`, headers: { 'x-api-key': c.pat } },
    ];
    for (const t of targets) {
      ctx.progress(`${t.label}: ${ctx.settings.warmupSeconds} s warm-up, ${ctx.settings.durationSeconds} s measured`);
      measurements.push(await measureLoad({ ...t, serverPid: hub.pid }, ctx.settings));
    }
  } finally {
    await hub.close();
  }

  ctx.progress('starting a hub with the access cache off');
  const uncached = await startBenchHub({ entry, env: { HOSTPLANE_AUTH_CACHE_SECONDS: '0' } });
  try {
    const c = await credentials(uncached.url);
    const uncachedTargets: LoadTarget[] = [
      { label: 'JWT, cache off', url: `${uncached.url}/v1/users/me`, headers: { authorization: `Bearer ${c.jwt}` } },
      {
        label: 'hp_pat_, cache off',
        url: `${uncached.url}/v1/users/me`,
        headers: { authorization: `Bearer ${c.pat}` },
      },
    ];
    for (const t of uncachedTargets) {
      ctx.progress(`${t.label}: ${ctx.settings.warmupSeconds} s warm-up, ${ctx.settings.durationSeconds} s measured`);
      measurements.push(await measureLoad({ ...t, serverPid: uncached.pid }, ctx.settings));
    }
  } finally {
    await uncached.close();
  }

  const [base, jwt, patBearer, patKey, jwtNoCache, patNoCache] = measurements as [
    LoadResult,
    LoadResult,
    LoadResult,
    LoadResult,
    LoadResult,
    LoadResult,
  ];
  // Server capacity per request (1 / req/s at saturation) and server CPU per request, both in ms.
  const costMs = (r: LoadResult) => round(1000 / r.reqPerSec - 1000 / base.reqPerSec, 3);
  const cpuMs = (r: LoadResult) =>
    r.serverCpuUsPerRequest !== null && base.serverCpuUsPerRequest !== null
      ? round((r.serverCpuUsPerRequest - base.serverCpuUsPerRequest) / 1000, 3)
      : NaN;
  const ratios: Record<string, number> = {
    'jwt/no-auth req/s': ratio(jwt.reqPerSec, base.reqPerSec),
    'pat bearer/no-auth req/s': ratio(patBearer.reqPerSec, base.reqPerSec),
    'pat x-api-key/no-auth req/s': ratio(patKey.reqPerSec, base.reqPerSec),
    'jwt auth cost ms/request': costMs(jwt),
    'pat auth cost ms/request': costMs(patBearer),
    'jwt auth server cpu ms/request': cpuMs(jwt),
    'pat auth server cpu ms/request': cpuMs(patBearer),
    'jwt cache off/no-auth req/s': ratio(jwtNoCache.reqPerSec, base.reqPerSec),
    'pat cache off/no-auth req/s': ratio(patNoCache.reqPerSec, base.reqPerSec),
  };
  printLoadResults(measurements);
  process.stdout.write('\n');
  printRatios(ratios);
  const target = Math.min(ratios['jwt/no-auth req/s']!, ratios['pat bearer/no-auth req/s']!);
  process.stdout.write(
    `\ntarget: token auth ratio >= 0.8 and cost <= 0.2 ms: ${target >= 0.8 && Math.max(costMs(jwt), costMs(patBearer)) <= 0.2 ? 'met' : 'NOT met'}\n`,
  );
  return { measurements, ratios, facts: { cacheSeconds: 2, workPerRequest: 'UsersService.me: 2 PostgreSQL queries' } };
}

import autocannon from 'autocannon';
import type { LoadSettings } from './context';
import { processCpuSeconds } from './proc';
import { round, summarize } from './stats';

export interface LoadTarget {
  label: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Pid of the process serving `url`, to report how busy it was (Linux only). */
  serverPid?: number;
}

export interface LoadResult {
  label: string;
  method: string;
  url: string;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  /** Responses completed in the measured run (warm-up excluded). */
  requests: number;
  /** autocannon's mean of per-second request counts. */
  reqPerSec: number;
  reqPerSecStddev: number;
  /** From every response's own timing (sub-millisecond), not autocannon's whole-ms histogram. */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  /** CPU time of the server process per wall second, in percent of one core (null off Linux). */
  serverCpuPercent: number | null;
  /**
   * Server CPU time per response, in microseconds: what a request costs, and steadier than req/s
   * when something else on the machine competes for the CPU.
   */
  serverCpuUsPerRequest: number | null;
  /** Same for this (autocannon's) process: near 100 means the client, not the server, is the limit. */
  clientCpuPercent: number;
}

/**
 * One preflight request (a benchmark of 404s measures nothing), a warm-up run whose figures are
 * discarded (JIT, connection pools, caches), then the measured run with the same load.
 */
export async function measureLoad(target: LoadTarget, settings: LoadSettings): Promise<LoadResult> {
  const method = target.method ?? 'GET';
  const headers = { ...(target.body !== undefined ? { 'content-type': 'application/json' } : {}), ...target.headers };
  await preflight(target, method, headers);
  const options: autocannon.Options = {
    url: target.url,
    method,
    headers,
    body: target.body,
    connections: settings.connections,
    pipelining: settings.pipelining,
    timeout: settings.timeoutSeconds,
  };

  await autocannon({ ...options, duration: settings.warmupSeconds });

  const samples: number[] = [];
  const serverCpuBefore = target.serverPid ? processCpuSeconds(target.serverPid) : null;
  const clientCpuBefore = process.cpuUsage();
  const wallStart = performance.now();
  const instance = autocannon({ ...options, duration: settings.durationSeconds });
  instance.on('response', (_client, _status, _bytes, ms) => samples.push(ms));
  const result = await instance;
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const serverCpuAfter = target.serverPid ? processCpuSeconds(target.serverPid) : null;

  const latency = summarize(samples);
  const serverCpuSeconds =
    serverCpuBefore !== null && serverCpuAfter !== null ? serverCpuAfter - serverCpuBefore : null;
  return {
    label: target.label,
    method,
    url: target.url,
    connections: settings.connections,
    durationSeconds: settings.durationSeconds,
    warmupSeconds: settings.warmupSeconds,
    requests: result.requests.total,
    reqPerSec: round(result.requests.mean, 1),
    reqPerSecStddev: round(result.requests.stddev, 1),
    latencyMs: {
      mean: round(latency.mean, 3),
      p50: round(latency.p50, 3),
      p90: round(latency.p90, 3),
      p99: round(latency.p99, 3),
      max: round(latency.max, 3),
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    serverCpuPercent: serverCpuSeconds !== null ? round((serverCpuSeconds / wallSeconds) * 100, 0) : null,
    serverCpuUsPerRequest:
      serverCpuSeconds !== null && samples.length ? round((serverCpuSeconds * 1e6) / samples.length, 1) : null,
    clientCpuPercent: round(((clientCpu.user + clientCpu.system) / 1e6 / wallSeconds) * 100, 0),
  };
}

/**
 * Why a run's figures should not be quoted: errors or non-2xx responses (a failure path was
 * measured), or neither the server nor the client using its core (something else had the CPU).
 */
export function loadProblems(r: LoadResult): string | null {
  const parts = [
    r.errors && `${r.errors} errors`,
    r.timeouts && `${r.timeouts} timeouts`,
    r.non2xx && `${r.non2xx} non-2xx`,
  ].filter(Boolean);
  if (parts.length)
    return `${r.label}: ${parts.join(', ')} during the measured run; its figures do not describe the success path`;
  if (r.serverCpuPercent !== null && r.serverCpuPercent < 80 && r.clientCpuPercent < 90) {
    return `${r.label}: the server used ${r.serverCpuPercent}% of a core and the client ${r.clientCpuPercent}%; other work on the machine probably took the CPU, run again`;
  }
  return null;
}

async function preflight(target: LoadTarget, method: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(target.url, { method, headers, body: target.body });
  const text = await res.text();
  if (!res.ok)
    throw new Error(
      `${target.label}: ${method} ${target.url} answered ${res.status} before the run: ${text.slice(0, 300)}`,
    );
}

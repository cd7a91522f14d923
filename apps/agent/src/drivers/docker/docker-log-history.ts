import type { LogRotation } from '../../instances/log-files';
import { clearDockerLogFile, crlfToLf, LogHistory, LogRange, LogsCleared } from '../../instances/log-history';
import { demultiplexer, dockerEngineStream } from '../docker-engine';
import { DriverError } from '../driver';
import type { DockerApi } from './docker-api';

interface LogInspect {
  LogPath?: string;
  Config?: { Tty?: boolean };
  HostConfig?: { LogConfig?: { Type?: string } };
}

/**
 * The container keeps its output in a json-file log rotated like the process driver's
 * (`logs.max_bytes`, `logs.keep` + the current file), whatever the daemon's default log driver:
 * history and clear then work the same on every host.
 */
export function withLogRotation(body: Record<string, unknown>, rotation: LogRotation): Record<string, unknown> {
  const host = (body.HostConfig ?? {}) as Record<string, unknown>;
  const LogConfig = {
    Type: 'json-file',
    Config: { 'max-size': String(rotation.maxBytes), 'max-file': String(rotation.keep + 1) },
  };
  return { ...body, HostConfig: { ...host, LogConfig } };
}

/** Docker's `since`/`until`: Unix seconds with a fraction. */
function unixSeconds(d: Date): string {
  return (d.getTime() / 1000).toFixed(3);
}

/**
 * A container's output as Docker keeps it (json-file, rotated by the daemon's log options),
 * through the Engine API: the engine stamps every line, so `since`/`until` cut per line.
 * No container (never created, or recreated after a spec change) means no history.
 */
export async function dockerLogHistory(api: DockerApi, name: string, range: LogRange): Promise<LogHistory> {
  const res = await api.call('GET', `/containers/${encodeURIComponent(name)}/json`, undefined, [404]);
  if (res.status === 404) return { body: emptyBody(), timePrecision: 'line' };
  const info = JSON.parse(res.body.toString('utf8')) as LogInspect;
  const query = new URLSearchParams({
    stdout: '1',
    stderr: '1',
    tail: range.lines === undefined ? 'all' : String(range.lines),
  });
  if (range.since) query.set('since', unixSeconds(range.since));
  if (range.until) query.set('until', unixSeconds(range.until));
  let stream;
  try {
    stream = await dockerEngineStream(
      api.socketPath,
      `/containers/${encodeURIComponent(name)}/logs?${query.toString()}`,
    );
  } catch (err) {
    throw new DriverError('driver_error', (err as Error).message);
  }
  const raw = info.Config?.Tty ? stream.response : stream.response.pipe(demultiplexer());
  return { body: raw.pipe(crlfToLf()), timePrecision: 'line' };
}

/** Truncates the container's json-file log and removes its rotated files (Docker has no API for it). */
export async function clearDockerLogs(api: DockerApi, name: string): Promise<LogsCleared> {
  const res = await api.call('GET', `/containers/${encodeURIComponent(name)}/json`, undefined, [404]);
  if (res.status === 404) return { files_removed: 0, bytes_removed: 0 };
  const info = JSON.parse(res.body.toString('utf8')) as LogInspect;
  const type = info.HostConfig?.LogConfig?.Type ?? 'json-file';
  if (!info.LogPath || type !== 'json-file') {
    throw new DriverError(
      'driver_error',
      `the container's log driver "${type}" keeps no file the agent can clear; clear it where that driver sends the logs`,
    );
  }
  try {
    return clearDockerLogFile(info.LogPath);
  } catch (err) {
    throw new DriverError(
      'driver_error',
      `cannot clear ${info.LogPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function emptyBody() {
  return crlfToLf().end();
}

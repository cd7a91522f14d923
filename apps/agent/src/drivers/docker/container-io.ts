import { constants as osConstants } from 'node:os';
import type { Duplex, Readable } from 'node:stream';
import type { InstanceStats } from '@hostplane/protocol';
import type { InstanceSupervisor } from '../../supervision/instance-supervisor';
import type { ConsoleHandle } from '../driver';
import { containerName } from './docker-api';
import { dockerStats } from './docker-stats';
import { streamHandle } from './stream-handle';
import { exitReason } from '../../supervision/restart-policy';
import type { ContainerInspect, DockerApi } from './docker-api';

/** A container's output as it is written (instance containers are ttys: raw bytes, no frames). */
export async function followOutput(
  api: DockerApi,
  name: string,
  from: { tail: number } | { since: string },
): Promise<Readable> {
  const options = {
    follow: true as const,
    stdout: true,
    stderr: true,
    ...('tail' in from ? { tail: from.tail } : { since: from.since as unknown as number }),
  };
  return (await api.engine(`logs ${name}`, () => api.docker.getContainer(name).logs(options)))! as unknown as Readable;
}

/** The container's stdin (and, for a console, its tty output) as one duplex socket. */
export async function attachContainer(api: DockerApi, name: string, output: boolean): Promise<Duplex> {
  const options = { stream: true, stdin: true, stdout: output, stderr: output, hijack: true };
  return (await api.engine(`attach ${name}`, () =>
    api.docker.getContainer(name).attach(options),
  ))! as unknown as Duplex;
}

/** The engine still runs the run the agent recorded (same start time), as opposed to one that ended or a new one. */
export function isRecordedRun(info: ContainerInspect | null, startedAt: string | null): boolean {
  return !!info && info.State.Running && info.State.StartedAt === startedAt;
}

/** Docker reports a death by signal N as exit code 128 + N. */
function signalOfExitCode(code: number | null): NodeJS.Signals | null {
  if (code === null || code <= 128 || code > 128 + 31) return null;
  const found = Object.entries(osConstants.signals).find(([, n]) => n === code - 128);
  return found ? (found[0] as NodeJS.Signals) : null;
}

/** How a container's run ended, as the supervisor is told it (null: the container is gone). */
export function containerExit(info: ContainerInspect | null): {
  code: number | null;
  reason: string;
  stoppedReason: string;
} {
  const code = info ? info.State.ExitCode : null;
  const reason = info?.State.OOMKilled
    ? 'killed by the kernel: out of memory'
    : info
      ? exitReason(code, signalOfExitCode(code))
      : 'the container was removed';
  return { code, reason, stoppedReason: code === 137 ? 'killed by SIGKILL' : 'stopped' };
}

/** The instance's console: its container's tty, attached, with the window size set on the container. */
export async function openContainerConsole(api: DockerApi, id: string): Promise<ConsoleHandle> {
  const socket = await attachContainer(api, containerName(id), true);
  const handle = streamHandle(
    socket,
    (data) => socket.write(data),
    () => socket.destroy(),
  );
  // Instance containers are ttys (Tty: true): the window size is the container's.
  handle.resize = (cols, rows) =>
    void api
      .engine(`resize ${id}`, () => api.docker.getContainer(containerName(id)).resize({ h: rows, w: cols }), [404, 409])
      .catch(() => undefined);
  return handle;
}

/** CPU, memory and network from the engine (nothing while stopped), with the disk use measured by the caller. */
export async function containerStats(
  api: DockerApi,
  supervisor: InstanceSupervisor,
  diskBytes: number,
): Promise<InstanceStats> {
  const id = supervisor.id;
  const running = supervisor.state.pid !== null;
  const raw = running
    ? (((await api.engine(
        `stats ${id}`,
        () => api.docker.getContainer(containerName(id)).stats({ stream: false }),
        [404, 409],
      )) as unknown as Record<string, unknown> | undefined) ?? null)
    : null;
  const started = supervisor.state.started_at ? Date.parse(supervisor.state.started_at) : Date.now();
  return {
    instance_id: id,
    ts: new Date().toISOString(),
    ...dockerStats(raw),
    memory_limit_bytes: supervisor.spec.resources.memory_bytes ?? null,
    disk_bytes: diskBytes,
    uptime_seconds: running ? Math.max(0, (Date.now() - started) / 1000) : 0,
  };
}

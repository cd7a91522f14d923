import type { ContainerAction } from '@hostplane/protocol';
import { AgentError } from '../errors/agent-error';
import {
  demultiplexer,
  dockerEngineRequest,
  DockerEngineError,
  dockerEngineStream,
  dockerErrorMessage,
  DockerResponse,
  demultiplexDockerStream,
} from '../drivers/docker-engine';
import type { LogFollower } from '../drivers/driver';
import { INSTANCE_LABEL } from '../drivers/docker/docker-api';

export type ContainerErrorCode = 'container_not_found' | 'driver_unavailable' | 'managed_container' | 'container_error';

export class ContainerError extends AgentError {
  declare readonly code: ContainerErrorCode;

  constructor(code: ContainerErrorCode, message: string) {
    super(code, message);
  }
}

interface ContainerInfo {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean };
  Config: { Tty: boolean; Labels: Record<string, string> | null };
}

export interface ContainerState {
  container_id: string;
  name: string;
  state: string;
  running: boolean;
}

/**
 * Any Docker container of the host (not only instances'), through the Engine API: actions,
 * recent output and live output. Containers of hostplane instances are left to their driver,
 * which would otherwise take a stop for a crash and apply the restart policy.
 */
export class ContainerControl {
  constructor(readonly socketPath: string) {}

  async inspect(ref: string): Promise<ContainerInfo> {
    const res = await this.call('GET', `/containers/${encodeURIComponent(ref)}/json`, ref);
    return JSON.parse(res.body.toString('utf8')) as ContainerInfo;
  }

  async act(
    ref: string,
    action: ContainerAction,
    options: { signal?: string; timeoutSeconds?: number },
  ): Promise<ContainerState> {
    const info = await this.inspect(ref);
    const instance = info.Config.Labels?.[INSTANCE_LABEL];
    if (instance)
      throw new ContainerError(
        'managed_container',
        `container ${ref} belongs to instance ${instance}; use that instance's start, stop, restart or kill`,
      );
    const id = encodeURIComponent(info.Id);
    const q = new URLSearchParams();
    if (options.timeoutSeconds !== undefined && action !== 'kill' && action !== 'start')
      q.set('t', String(options.timeoutSeconds));
    if (options.signal !== undefined && action !== 'start') q.set('signal', options.signal);
    const query = q.size > 0 ? `?${q}` : '';
    // The engine waits up to t seconds before it answers a stop/restart; the request must outlast it.
    const waitMs = ((options.timeoutSeconds ?? 10) + 30) * 1000;
    if (action === 'start') await this.call('POST', `/containers/${id}/start`, ref, [304]);
    else if (action === 'stop') await this.call('POST', `/containers/${id}/stop${query}`, ref, [304], waitMs);
    else if (action === 'restart') await this.call('POST', `/containers/${id}/restart${query}`, ref, [], waitMs);
    // Killing what is not running (409) leaves it as it is: a redelivered kill is no error.
    else await this.call('POST', `/containers/${id}/kill${query}`, ref, [409]);
    return stateOf(await this.inspect(info.Id));
  }

  /** The last `lines` lines of output (stdout and stderr, demultiplexed when there is no tty). */
  async logs(ref: string, lines: number, timestamps: boolean): Promise<string[]> {
    const info = await this.inspect(ref);
    const res = await this.call(
      'GET',
      `/containers/${encodeURIComponent(info.Id)}/logs?stdout=1&stderr=1&tail=${lines}${timestamps ? '&timestamps=1' : ''}`,
      ref,
    );
    const text = (info.Config.Tty ? res.body : demultiplexDockerStream(res.body).payload).toString('utf8');
    const out = text.replace(/\r\n/g, '\n').split('\n');
    if (out[out.length - 1] === '') out.pop();
    return out.slice(-lines);
  }

  /** The last `tail` lines, then (with follow) new output until the container stops or the follower is closed. */
  async follow(ref: string, tail: number, follow: boolean): Promise<LogFollower> {
    const info = await this.inspect(ref);
    let stream;
    try {
      stream = await dockerEngineStream(
        this.socketPath,
        `/containers/${encodeURIComponent(info.Id)}/logs?stdout=1&stderr=1&tail=${tail}&follow=${follow ? 1 : 0}`,
      );
    } catch (err) {
      throw this.engineFailure(err, ref);
    }
    const { response, abort } = stream;
    const source = info.Config.Tty ? response : response.pipe(demultiplexer());
    let closed = false;
    const closeListeners: ((reason: string) => void)[] = [];
    const finish = (reason: string) => {
      if (closed) return;
      closed = true;
      for (const l of closeListeners) l(reason);
    };
    source.on('end', () => finish(follow ? 'the container stopped' : 'end of the log'));
    source.on('error', (err) => finish(`the engine stream failed: ${err.message}`));
    response.on('error', (err) => finish(`the engine stream failed: ${err.message}`));
    return {
      onData: (l) => source.on('data', (c: Buffer) => l(c)),
      onClose: (l) => closeListeners.push(l),
      pause: () => source.pause(),
      resume: () => source.resume(),
      close: () => {
        abort();
        finish('closed');
      },
    };
  }

  private async call(
    method: string,
    path: string,
    ref: string,
    okStatuses: number[] = [],
    timeoutMs?: number,
  ): Promise<DockerResponse> {
    let res: DockerResponse;
    try {
      res = await dockerEngineRequest(this.socketPath, method, path, undefined, timeoutMs);
    } catch (err) {
      throw this.engineFailure(err, ref);
    }
    if ((res.status >= 200 && res.status < 300) || okStatuses.includes(res.status)) return res;
    if (res.status === 404) throw new ContainerError('container_not_found', `no container ${ref} on this host`);
    throw new ContainerError(
      'container_error',
      `Docker Engine ${method} ${path.split('?')[0]} answered ${res.status}: ${dockerErrorMessage(res)}`,
    );
  }

  private engineFailure(err: unknown, ref: string): ContainerError {
    if (err instanceof DockerEngineError && / 404:/.test(err.message))
      return new ContainerError('container_not_found', `no container ${ref} on this host`);
    return new ContainerError(
      'driver_unavailable',
      `the Docker Engine is not reachable at ${this.socketPath}: ${(err as Error).message}`,
    );
  }
}

function stateOf(info: ContainerInfo): ContainerState {
  return {
    container_id: info.Id,
    name: info.Name.replace(/^\//, ''),
    state: info.State.Status,
    running: info.State.Running,
  };
}

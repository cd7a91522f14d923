import type { InstanceSpec } from '@hostplane/protocol';
import { demultiplexDockerStream, dockerEngineRequest, dockerErrorMessage, DockerResponse } from '../docker-engine';
import { DriverError } from '../driver';

export const INSTANCE_LABEL = 'io.hostplane.instance';
const IMAGE_NAME = /^[a-z0-9][a-z0-9._/:@-]{0,254}$/;

export function containerName(id: string): string {
  return `hostplane-${id}`;
}

export function assertImageName(image: string | undefined): string {
  if (image === undefined) throw new DriverError('invalid_spec', 'the docker driver needs spec.image');
  if (!IMAGE_NAME.test(image)) throw new DriverError('invalid_spec', `image "${image.slice(0, 100)}" is invalid: use lowercase letters, digits and . _ / : @ -`);
  return image;
}

export interface ContainerInspect {
  Id: string;
  State: { Running: boolean; Pid: number; ExitCode: number; OOMKilled: boolean; StartedAt: string; Status: string };
}

/** The thin, typed layer over the Engine API this driver uses; failures carry the engine's message. */
export class DockerApi {
  constructor(readonly socketPath: string) {}

  async call(method: string, path: string, body?: unknown, okStatuses: number[] = [], timeoutMs?: number): Promise<DockerResponse> {
    const res = await dockerEngineRequest(this.socketPath, method, path, body, timeoutMs);
    if ((res.status >= 200 && res.status < 300) || okStatuses.includes(res.status)) return res;
    throw new DriverError('driver_error', `Docker Engine ${method} ${path.split('?')[0]} answered ${res.status}: ${dockerErrorMessage(res)}`);
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return JSON.parse((await this.call(method, path, body)).body.toString('utf8')) as T;
  }

  /** Fails with `image_missing` (never pulls: images are provided on the host). */
  async requireImage(image: string): Promise<void> {
    const res = await dockerEngineRequest(this.socketPath, 'GET', `/images/${encodeURIComponent(image)}/json`);
    if (res.status === 404) throw new DriverError('image_missing', `image ${image} is not present on this host; the agent never pulls, load or build it here first`);
    if (res.status >= 300) throw new DriverError('driver_error', `Docker Engine image ${image}: ${dockerErrorMessage(res)}`);
  }

  async inspect(nameOrId: string): Promise<ContainerInspect | null> {
    const res = await dockerEngineRequest(this.socketPath, 'GET', `/containers/${encodeURIComponent(nameOrId)}/json`);
    if (res.status === 404) return null;
    if (res.status >= 300) throw new DriverError('driver_error', `Docker Engine inspect ${nameOrId}: ${dockerErrorMessage(res)}`);
    return JSON.parse(res.body.toString('utf8')) as ContainerInspect;
  }

  async logs(nameOrId: string, tail: number, tty: boolean): Promise<string> {
    const res = await this.call('GET', `/containers/${encodeURIComponent(nameOrId)}/logs?stdout=1&stderr=1&tail=${tail}`);
    return (tty ? res.body : demultiplexDockerStream(res.body).payload).toString('utf8');
  }

  async remove(nameOrId: string): Promise<void> {
    await this.call('DELETE', `/containers/${encodeURIComponent(nameOrId)}?force=1&v=1`, undefined, [404]);
  }
}

/** The container of an instance: data/ at /home/container (its working dir), limits, ports, labels, a tty for the console. */
export function instanceContainerBody(spec: InstanceSpec, dataDir: string, bindAddress: string): Record<string, unknown> {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.ports) {
    const key = `${p.container_port}/${p.protocol}`;
    exposed[key] = {};
    bindings[key] = [{ HostIp: p.host_ip ?? bindAddress, HostPort: String(p.host_port) }];
  }
  return {
    Image: spec.image,
    Cmd: ['/bin/sh', '-c', spec.startup],
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: '/home/container',
    Tty: true,
    OpenStdin: true,
    StdinOnce: false,
    AttachStdin: false,
    Labels: { [INSTANCE_LABEL]: spec.instance_id },
    ExposedPorts: exposed,
    HostConfig: {
      Binds: [`${dataDir}:/home/container`],
      NetworkMode: spec.ports.length > 0 ? 'bridge' : 'none',
      PortBindings: bindings,
      NanoCpus: spec.resources.cpu_cores === undefined ? 0 : Math.round(spec.resources.cpu_cores * 1e9),
      Memory: spec.resources.memory_bytes ?? 0,
      RestartPolicy: { Name: 'no' },
    },
  };
}

/** The throwaway install container: the install image, data/ at /mnt/server, no network. */
export function installContainerBody(spec: InstanceSpec, image: string, dataDir: string): Record<string, unknown> {
  const install = spec.install;
  return {
    Image: image,
    Cmd: [install?.entrypoint ?? '/bin/sh', '-c', install?.script ?? 'true'],
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: '/mnt/server',
    Tty: false,
    Labels: { [`${INSTANCE_LABEL}.install`]: spec.instance_id },
    HostConfig: { Binds: [`${dataDir}:/mnt/server`], NetworkMode: 'none' },
  };
}

import { type InstanceSpec, imageIsOnRegistry } from '@hostplane/protocol';
import Docker from 'dockerode';
import { demultiplexDockerStream, dockerEngineRequest, dockerErrorMessage, DockerResponse } from '../docker-engine';
import { DriverError } from '../driver';

export const INSTANCE_LABEL = 'io.hostplane.instance';
const IMAGE_NAME = /^[a-z0-9][a-z0-9._/:@-]{0,254}$/;

export function containerName(id: string): string {
  return `hostplane-${id}`;
}

export function assertImageName(image: string | undefined): string {
  if (image === undefined) throw new DriverError('invalid_spec', 'the docker driver needs spec.image');
  if (!IMAGE_NAME.test(image))
    throw new DriverError(
      'invalid_spec',
      `image "${image.slice(0, 100)}" is invalid: use lowercase letters, digits and . _ / : @ -`,
    );
  return image;
}

export interface ContainerInspect {
  Id: string;
  State: { Running: boolean; Pid: number; ExitCode: number; OOMKilled: boolean; StartedAt: string; Status: string };
}

/** Credentials for one registry, as the hub sends them with a job (never saved by the agent). */
export interface RegistryAuth {
  server: string;
  username: string;
  password: string;
}

/** dockerode's failures carry the engine's status and message. */
interface EngineFailure {
  statusCode?: number;
  json?: { message?: string } | null;
  reason?: string;
  message: string;
}

function engineMessage(err: unknown): string {
  const e = err as EngineFailure;
  return e.json?.message ?? e.message;
}

function engineStatus(err: unknown): number | undefined {
  return (err as EngineFailure).statusCode;
}

/** The typed layer over the Engine API (dockerode) this driver uses; failures carry the engine's message. */
export class DockerApi {
  readonly docker: Docker;

  constructor(readonly socketPath: string) {
    this.docker = new Docker({ socketPath });
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    okStatuses: number[] = [],
    timeoutMs?: number,
  ): Promise<DockerResponse> {
    const res = await dockerEngineRequest(this.socketPath, method, path, body, timeoutMs);
    if ((res.status >= 200 && res.status < 300) || okStatuses.includes(res.status)) return res;
    throw new DriverError(
      'driver_error',
      `Docker Engine ${method} ${path.split('?')[0]} answered ${res.status}: ${dockerErrorMessage(res)}`,
    );
  }

  /** Runs an engine call; statuses in `ok` are answers, not failures (304 not modified, 404 gone, 409 not running). */
  async engine<T>(what: string, run: () => Promise<T>, ok: number[] = []): Promise<T | undefined> {
    try {
      return await run();
    } catch (err) {
      const status = engineStatus(err);
      if (status !== undefined && ok.includes(status)) return undefined;
      throw new DriverError('driver_error', `Docker Engine ${what}: ${engineMessage(err)}`);
    }
  }

  async hasImage(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (err) {
      if (engineStatus(err) === 404) return false;
      throw new DriverError('driver_error', `Docker Engine image ${image}: ${engineMessage(err)}`);
    }
  }

  /**
   * Pulls `image` when the host does not have it, with the registry credentials the hub sent;
   * `progress` hears the share of layer bytes downloaded. A refusal by the registry fails with
   * `registry_auth_failed`, anything else with `image_pull_failed`.
   */
  async ensureImage(
    image: string,
    auth: RegistryAuth | undefined,
    progress: (fraction: number, message: string) => void = () => undefined,
  ): Promise<void> {
    if (await this.hasImage(image)) return;
    // Credentials go only to the registry they belong to: an image elsewhere is pulled without them.
    const forImage = auth !== undefined && imageIsOnRegistry(image, auth.server) ? auth : undefined;
    const authconfig = forImage
      ? { username: forImage.username, password: forImage.password, serveraddress: forImage.server }
      : undefined;
    const layers = new Map<string, { current: number; total: number }>();
    try {
      const stream = await this.docker.pull(image, authconfig ? { authconfig } : {});
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (err) => (err ? reject(err) : resolve()),
          (event: {
            id?: string;
            status?: string;
            progressDetail?: { current?: number; total?: number };
            error?: string;
          }) => {
            if (event.id && event.progressDetail?.total)
              layers.set(event.id, { current: event.progressDetail.current ?? 0, total: event.progressDetail.total });
            else if (event.id && /complete|exists/i.test(event.status ?? '')) {
              const l = layers.get(event.id);
              if (l) l.current = l.total;
            }
            let current = 0;
            let total = 0;
            for (const l of layers.values()) {
              current += l.current;
              total += l.total;
            }
            progress(
              total > 0 ? Math.min(1, current / total) : 0,
              `pulling ${image}: ${event.status ?? ''}${total > 0 ? ` ${Math.round((current / total) * 100)}%` : ''}`.trim(),
            );
          },
        );
      });
    } catch (err) {
      const message = engineMessage(err);
      const who = forImage ? ` as ${forImage.username}` : ' without credentials';
      if (/unauthorized|authentication required|denied|no basic auth|401/i.test(message)) {
        throw new DriverError(
          'registry_auth_failed',
          `the registry refused to serve ${image}${who}: ${message.slice(0, 300)}`,
        );
      }
      throw new DriverError('image_pull_failed', `pulling ${image} failed: ${message.slice(0, 300)}`);
    }
    if (!(await this.hasImage(image)))
      throw new DriverError('image_pull_failed', `pulling ${image} ended without the image on this host`);
  }

  async inspect(nameOrId: string): Promise<ContainerInspect | null> {
    const info = await this.engine(`inspect ${nameOrId}`, () => this.docker.getContainer(nameOrId).inspect(), [404]);
    return (info as ContainerInspect | undefined) ?? null;
  }

  async logs(nameOrId: string, tail: number, tty: boolean): Promise<string> {
    const res = await this.call(
      'GET',
      `/containers/${encodeURIComponent(nameOrId)}/logs?stdout=1&stderr=1&tail=${tail}`,
    );
    return (tty ? res.body : demultiplexDockerStream(res.body).payload).toString('utf8');
  }

  async remove(nameOrId: string): Promise<void> {
    await this.engine(
      `remove ${nameOrId}`,
      () => this.docker.getContainer(nameOrId).remove({ force: true, v: true }),
      [404],
    );
  }
}

/**
 * The container of an instance: data/ at /home/container (its working dir), limits, ports, labels, a tty for the
 * console.
 */
export function instanceContainerBody(
  spec: InstanceSpec,
  dataDir: string,
  bindAddress: string,
): Record<string, unknown> {
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

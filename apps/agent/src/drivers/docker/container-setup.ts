import { writeFileSync } from 'node:fs';
import type { InstanceSpec } from '@hostplane/protocol';
import type { InstanceStore } from '../../instances/instance-store';
import { DEFAULT_LOG_ROTATION, type LogRotation } from '../../instances/log-files';
import {
  DEFAULT_IDENTITY_OPTIONS,
  giveDataTo,
  IdentityOptions,
  instanceIdentity,
  SandboxIdentity,
} from '../../sandbox/sandbox-identity';
import { demultiplexDockerStream } from '../docker-engine';
import { CreateContext, DriverError } from '../driver';
import { confineContainer } from './container-sandbox';
import {
  assertImageName,
  containerName,
  DockerApi,
  installContainerBody,
  instanceContainerBody,
  RegistryAuth,
} from './docker-api';
import { withLogRotation } from './docker-log-history';

export interface ContainerSetupOptions {
  bindAddress?: string;
  identity?: IdentityOptions;
  pidsLimit?: number;
  logRotation?: LogRotation;
}

/** What goes before a run: the image, the data handed to the instance's user, the install and instance containers. */
export class ContainerSetup {
  constructor(
    private readonly api: DockerApi,
    private readonly store: InstanceStore,
    private readonly options: ContainerSetupOptions,
  ) {}

  /** Pulls a missing image with the job's registry credentials, its progress between 10 and 60 %. */
  async pull(image: string, ctx: { progress: CreateContext['progress']; registryAuth?: RegistryAuth }): Promise<void> {
    let last = 0;
    await this.api.ensureImage(image, ctx.registryAuth, (fraction, message) => {
      const percent = 10 + Math.floor(fraction * 50);
      // Progress goes to the hub as a frame: one per percent is plenty.
      if (percent === last) return;
      last = percent;
      ctx.progress(percent, message);
    });
  }

  /**
   * The instance's own uid/gid, and its root handed to it (files the agent wrote, uploads) so the
   * non-root container can write there.
   */
  async prepareData(spec: InstanceSpec): Promise<SandboxIdentity> {
    const identity = instanceIdentity(this.store, spec.instance_id, this.options.identity ?? DEFAULT_IDENTITY_OPTIONS);
    await giveDataTo(this.store.paths(spec.instance_id).data, identity);
    return identity;
  }

  /** Runs the install script in a throwaway container; its output becomes the install log. Throws install_failed. */
  async runInstall(spec: InstanceSpec, image: string, signal: AbortSignal): Promise<void> {
    const paths = this.store.paths(spec.instance_id);
    const name = `${containerName(spec.instance_id)}-install`;
    await this.api.remove(name);
    try {
      signal.throwIfAborted();
      const identity = await this.prepareData(spec);
      const container = (await this.api.engine(`create ${name}`, () =>
        this.api.docker.createContainer({
          ...confineContainer(installContainerBody(spec, image, paths.data), spec, identity, this.pidsLimit),
          name,
        }),
      ))!;
      await this.api.engine(`start ${name}`, () => container.start(), [304]);
      const waited =
        (await this.api.engine(`wait ${name}`, () => container.wait() as Promise<{ StatusCode?: number }>)) ?? {};
      const out =
        (await this.api.engine(`logs ${name}`, () => container.logs({ stdout: true, stderr: true, follow: false }))) ??
        Buffer.alloc(0);
      // The install container has no tty: its output comes in Docker's 8-byte-header frames.
      writeFileSync(paths.install, demultiplexDockerStream(out).payload, { mode: 0o600 });
      if (waited.StatusCode !== 0)
        throw new DriverError('install_failed', `install script failed: exited with code ${waited.StatusCode ?? -1}`);
    } catch (err) {
      if (err instanceof DriverError && err.code === 'install_failed') throw err;
      throw new DriverError('install_failed', `install script failed: ${(err as Error).message}`);
    } finally {
      await this.api.remove(name).catch(() => undefined);
    }
  }

  /** (Re)creates the instance's container from its spec; returns the container id. */
  async createInstanceContainer(spec: InstanceSpec): Promise<string | null> {
    await this.api.remove(containerName(spec.instance_id));
    if (!(await this.api.hasImage(assertImageName(spec.image)))) {
      throw new DriverError(
        'image_missing',
        `image ${spec.image} is no longer on this host (removed since it was pulled); update the instance to pull it again`,
      );
    }
    const identity = await this.prepareData(spec);
    const body = withLogRotation(
      confineContainer(
        instanceContainerBody(spec, this.store.paths(spec.instance_id).data, this.options.bindAddress ?? '0.0.0.0'),
        spec,
        identity,
        this.pidsLimit,
      ),
      this.options.logRotation ?? DEFAULT_LOG_ROTATION,
    );
    const res = await this.api.engine(`create ${spec.instance_id}`, () =>
      this.api.docker.createContainer({ ...body, name: containerName(spec.instance_id) }),
    );
    return res?.id ?? null;
  }

  private get pidsLimit(): number {
    return this.options.pidsLimit ?? 512;
  }
}

import { REGISTRY_ERRORS } from './registries.errors';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, Repository } from 'typeorm';
import type { RegistryAuth } from '@hostplane/protocol';
import { inOrg, requireOrg, type Principal } from '../access/principal';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { openSecret, sealSecret } from '../crypto/secret-box';
import { DomainError, NotFoundError } from '../http/errors';
import type { Pagination } from '../http/pagination';
import type { CreateRegistryBody, UpdateRegistryBody } from './registries.schemas';
import { RegistryCredentialEntity } from './registry.entity';
import { withUniqueName } from '../http/unique-names';

/** The ciphertext is bound to its row: copied into another registry's row it does not decrypt. */
const aadOf = (id: string) => `registry_credentials:${id}`;

export function registryNotFound(id: string): DomainError {
  return REGISTRY_ERRORS.registry_not_found.error(
    `registry ${id} does not exist in this organization (add it under /v1/registries first)`,
  );
}

/**
 * Registry credentials of organizations. The password is sealed at rest and leaves the hub only
 * inside a job handed to an agent (`credentialsFor`), never in an API answer, a log or an
 * operation row.
 */
@Injectable()
export class RegistriesService {
  readonly repo: Repository<RegistryCredentialEntity>;

  constructor(
    @Inject(DataSource) db: DataSource,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {
    this.repo = db.getRepository(RegistryCredentialEntity);
  }

  async list(p: Principal, page: Pagination) {
    const [data, total] = await this.repo.findAndCount({
      where: inOrg(p, {}),
      order: { createdAt: 'ASC' },
      skip: page.offset,
      take: page.limit,
    });
    return { data, total };
  }

  async get(p: Principal, id: string): Promise<RegistryCredentialEntity> {
    const r = await this.repo.findOneBy(inOrg(p, { id }));
    if (!r) throw new NotFoundError(`registry ${id}`);
    return r;
  }

  /** The registry a workload names, in the caller's organization; 422 when there is none. */
  async requireInOrg(orgId: string, id: string): Promise<RegistryCredentialEntity> {
    const r = await this.repo.findOneBy({ orgId, id });
    if (!r) throw registryNotFound(id);
    return r;
  }

  async create(p: Principal, body: CreateRegistryBody): Promise<RegistryCredentialEntity> {
    const id = randomUUID();
    const row = this.repo.create({
      id,
      orgId: requireOrg(p).id,
      name: body.name,
      server: body.server,
      username: body.username,
      passwordSealed: sealSecret(this.config.secrets.encryptionKey, body.password, aadOf(id)),
      createdBy: p.userId,
    });
    return this.saveNamed(row);
  }

  async update(p: Principal, id: string, body: UpdateRegistryBody): Promise<RegistryCredentialEntity> {
    const r = await this.get(p, id);
    if (body.name !== undefined) r.name = body.name;
    if (body.server !== undefined) r.server = body.server;
    if (body.username !== undefined) r.username = body.username;
    if (body.password !== undefined)
      r.passwordSealed = sealSecret(this.config.secrets.encryptionKey, body.password, aadOf(r.id));
    return this.saveNamed(r);
  }

  /** Workloads that name a deleted registry fail their pulls with `registry_not_found` until they are changed. */
  async remove(p: Principal, id: string): Promise<void> {
    const r = await this.get(p, id);
    await this.repo.delete({ id: r.id });
  }

  /** The credentials for a job to an agent of `orgId`, or null when the registry is gone. */
  async credentialsFor(orgId: string, id: string): Promise<RegistryAuth | null> {
    const r = await this.repo.findOneBy({ orgId, id });
    if (!r) return null;
    return {
      server: r.server,
      username: r.username,
      password: openSecret(this.config.secrets.encryptionKey, r.passwordSealed, aadOf(r.id)),
    };
  }

  private saveNamed(row: RegistryCredentialEntity): Promise<RegistryCredentialEntity> {
    return withUniqueName(() => this.repo.save(row), `a registry named "${row.name}" already exists`);
  }
}

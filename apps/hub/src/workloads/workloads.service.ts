import { Inject, Injectable } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { inOrg, type Principal } from '../access/principal';
import { DomainError, ForbiddenError, NotFoundError, ValidationFailedError } from '../http/errors';
import { zodIssues } from '../http/validation';
import { importEgg, type EggFormat } from './egg-import';
import { findTemplate, TEMPLATE_CATEGORIES, type WorkloadTemplate } from './templates';
import { checkValue } from './variable-rules';
import type { FromTemplateBody, ImportEggBody, ListWorkloadsQuery } from './workload-api.schemas';
import { RegistriesService } from '../registries/registries.service';
import { imageIsOnRegistry } from '@hostplane/protocol';
import { WorkloadEntity } from './workload.entity';
import { WORKLOAD_ERRORS } from './workloads.errors';
import {
  SPEC_API_VERSION,
  SPEC_KIND,
  workloadSpec,
  type WorkloadSpec,
  type WorkloadSpecInput,
} from './workload.schemas';
import { withUniqueName } from '../http/unique-names';

/** Catalog images are a seam for a later issue: the spec's shape accepts them, this hub does not yet. */
function refuseCatalogSource(spec: WorkloadSpec): void {
  const source = spec.parallels?.source;
  if (source && 'catalog' in source)
    throw WORKLOAD_ERRORS.catalog_unavailable.error(
      `catalog image "${source.catalog.id}" cannot be used: catalogs are not available yet; clone a VM on the host with parallels.source.vm`,
    );
}

export class WorkloadInUseError extends DomainError {
  constructor(id: string, count: number) {
    super(
      `workload ${id} is used by ${count} instance${count === 1 ? '' : 's'}; delete or move them first`,
      'workload_in_use',
      409,
      { instances: count },
    );
  }
}

export class TemplateNotFoundError extends DomainError {
  constructor(what: string, id: string) {
    super(
      `${what} "${id}" not found; known: ${what === 'template category' ? TEMPLATE_CATEGORIES.join(', ') : 'see GET /v1/templates'}`,
      'not_found',
      404,
    );
  }
}

/** What uses a workload, so a workload in use is not deleted. Provided by the instances domain. */
export interface WorkloadUsage {
  countUsing(workloadId: string): Promise<number>;
}
export const WORKLOAD_USAGE = Symbol('WorkloadUsage');

export interface ExportedWorkload extends WorkloadSpec {
  api_version: typeof SPEC_API_VERSION;
  kind: typeof SPEC_KIND;
  exported_at: string;
}

@Injectable()
export class WorkloadsService {
  readonly repo: Repository<WorkloadEntity>;

  constructor(
    @Inject(DataSource) db: DataSource,
    @Inject(WORKLOAD_USAGE) private readonly usage: WorkloadUsage,
    @Inject(RegistriesService) private readonly registries: RegistriesService,
  ) {
    this.repo = db.getRepository(WorkloadEntity);
  }

  async list(p: Principal, q: ListWorkloadsQuery): Promise<{ data: WorkloadEntity[]; total: number }> {
    const qb = this.repo.createQueryBuilder('w').where('w.org_id = :org', { org: inOrg(p, {}).orgId });
    if (q.driver) qb.andWhere('w.driver = :driver', { driver: q.driver });
    if (q.q) qb.andWhere(`w.name ILIKE :q ESCAPE '\\'`, { q: `%${q.q.replace(/[\\%_]/g, '\\$&')}%` });
    if (q.label) {
      const [k, v] = q.label.split('=') as [string, string];
      qb.andWhere(`w.spec->'labels' @> :label`, { label: JSON.stringify({ [k]: v }) });
    }
    const [data, total] = await qb.orderBy('w.name', 'ASC').skip(q.offset).take(q.limit).getManyAndCount();
    return { data, total };
  }

  async get(p: Principal, id: string): Promise<WorkloadEntity> {
    const found = await this.repo.findOneBy(inOrg(p, { id }));
    if (!found) throw new NotFoundError(`workload ${id}`);
    return found;
  }

  async create(p: Principal, spec: WorkloadSpec): Promise<WorkloadEntity> {
    refuseCatalogSource(spec);
    requireAdminForLoaderVariables(p, spec);
    await this.checkRegistry(p, spec);
    const row = this.repo.create({
      ...inOrg(p, {}),
      name: spec.name,
      driver: spec.driver,
      spec,
      revision: 1,
      createdBy: p.userId,
    });
    return this.saveUnique(row);
  }

  async update(p: Principal, id: string, spec: WorkloadSpec): Promise<WorkloadEntity> {
    const row = await this.get(p, id);
    refuseCatalogSource(spec);
    requireAdminForLoaderVariables(p, spec, row.spec.security?.allow_env);
    await this.checkRegistry(p, spec);
    Object.assign(row, { name: spec.name, driver: spec.driver, spec, revision: row.revision + 1 });
    return this.saveUnique(row);
  }

  /** A named registry must be the organization's and the one the images live on (its credentials go nowhere else). */
  private async checkRegistry(p: Principal, spec: WorkloadSpec): Promise<void> {
    if (!spec.registry_id) return;
    const registry = await this.registries.requireInOrg(inOrg(p, {}).orgId, spec.registry_id);
    const images = [spec.image, ...(spec.images ?? []).map((i) => i.image), spec.install?.image].filter(
      (i): i is string => i !== undefined,
    );
    const elsewhere = images.find((i) => !imageIsOnRegistry(i, registry.server));
    if (elsewhere)
      throw new ValidationFailedError('workload spec', [
        {
          path: 'registry_id',
          message: `image "${elsewhere}" is not on registry ${registry.server}; its credentials are only sent to ${registry.server}`,
        },
      ]);
  }

  async delete(p: Principal, id: string): Promise<void> {
    const row = await this.get(p, id);
    const using = await this.usage.countUsing(row.id);
    if (using > 0) throw new WorkloadInUseError(row.id, using);
    await this.repo.delete({ id: row.id, orgId: row.orgId });
  }

  /** A document `POST /v1/workloads` accepts back as is. */
  exportDocument(row: WorkloadEntity, now = new Date()): ExportedWorkload {
    return { api_version: SPEC_API_VERSION, kind: SPEC_KIND, exported_at: now.toISOString(), ...row.spec };
  }

  async createFromTemplate(p: Principal, body: FromTemplateBody): Promise<WorkloadEntity> {
    const template = findTemplate(body.template);
    if (!template) throw new TemplateNotFoundError('template', body.template);
    return this.create(p, specFromTemplate(template, body));
  }

  async importEgg(
    p: Principal,
    body: ImportEggBody,
  ): Promise<{ workload: WorkloadEntity; format: EggFormat; warnings: string[] }> {
    const { egg, name, resources, ports, ...rest } = body;
    let source: unknown;
    if (egg !== undefined) {
      const extra = Object.keys(rest)[0];
      if (extra !== undefined)
        throw new ValidationFailedError('body', [
          {
            path: extra,
            message: `unknown field; put the egg under "egg" and give only name, resources, ports beside it`,
          },
        ]);
      source = egg;
    } else if ('meta' in body) source = body;
    else
      throw new ValidationFailedError('body', [
        { path: 'egg', message: 'missing: send {"egg": <exported egg JSON>} or the egg itself' },
      ]);
    const imported = egg !== undefined ? importEgg(source, { name, resources, ports }) : importEgg(source);
    return { workload: await this.create(p, imported.spec), format: imported.format, warnings: imported.warnings };
  }

  private saveUnique(row: WorkloadEntity): Promise<WorkloadEntity> {
    return withUniqueName(
      () => this.repo.save(row),
      `a workload named "${row.name}" already exists in this organization`,
    );
  }
}

/** Allowing LD_PRELOAD and the like is a host-level decision: only platform admins make it. */
function requireAdminForLoaderVariables(
  p: Principal,
  spec: WorkloadSpec,
  alreadyAllowed: readonly string[] = [],
): void {
  const added = (spec.security?.allow_env ?? []).filter((name) => !alreadyAllowed.includes(name));
  if (added.length === 0 || p.platformAdmin) return;
  throw new ForbiddenError(
    `only a platform admin may allow loader or interpreter variables (security.allow_env: ${added.join(', ')})`,
    'platform_admin_required',
  );
}

/** The template's spec at a size (or explicit resources), with new variable defaults and placement labels. */
export function specFromTemplate(template: WorkloadTemplate, body: Omit<FromTemplateBody, 'template'>): WorkloadSpec {
  const size = template.sizes.find((s) => s.name === (body.size ?? template.default_size))!;
  const overrides = { ...(body.resources ? {} : size.variables), ...body.variables };
  const declared = new Map(template.spec.variables.map((v) => [v.key, v]));
  const issues = Object.keys(overrides)
    .filter((k) => !declared.has(k))
    .map((k) => ({
      path: `variables.${k}`,
      message: `not a variable of template ${template.id} (it has: ${[...declared.keys()].join(', ') || 'none'})`,
    }));
  const variables = template.spec.variables.map((v) => {
    if (!Object.hasOwn(overrides, v.key)) return v;
    const checked = checkValue(v, overrides[v.key]);
    if (!checked.ok) {
      issues.push({ path: `variables.${v.key}`, message: checked.message });
      return v;
    }
    return { ...v, default: checked.value };
  });
  if (issues.length) throw new ValidationFailedError('body', issues);
  const input: WorkloadSpecInput = {
    ...template.spec,
    name: body.name ?? template.spec.name,
    resources: body.resources ?? size.resources,
    variables,
    constraints: { node_labels: { ...template.spec.constraints.node_labels, ...body.node_labels } },
  };
  const parsed = workloadSpec.safeParse(input);
  if (!parsed.success) throw new ValidationFailedError('body', zodIssues(parsed.error));
  return parsed.data;
}

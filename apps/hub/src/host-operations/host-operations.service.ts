import { Injectable } from '@nestjs/common';
import {
  checkParams,
  HOST_OPERATION_SPECS,
  hostOperationFamily,
  InvalidHostArgument,
  isHostOperation,
  type HostOperationName,
} from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { DomainError } from '../http/errors';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { actorOf } from '../jobs/operation-actor';
import type { OperationEntity } from '../jobs/operation.entity';
import { NodeQueries } from '../nodes/node-queries';
import { NodesService } from '../nodes/nodes.service';
import { HOST_OPERATION_ERRORS } from './host-operations.errors';

export type HostOperationFamily = ReturnType<typeof hostOperationFamily>;

function unknownHostOperation(name: string, family: HostOperationFamily): DomainError {
  return HOST_OPERATION_ERRORS.unknown_operation.error(
    `"${name.slice(0, 80)}" is not a host operation (docs/api/${family === 'machines' ? 'machines' : 'zones'}.md lists them)`,
  );
}

/**
 * The host operations of a node (illumos resources, Parallels machines): the same parameter
 * checks as the agent's (400 naming the field, nothing enqueued), reads answered live by the
 * agent, writes as operations. Each family is reachable only through its own routes, which
 * require its own permission keys.
 */
@Injectable()
export class HostOperationsService {
  constructor(
    private readonly nodes: NodesService,
    private readonly jobs: JobDispatcher,
    private readonly queries: NodeQueries,
  ) {}

  private async prepare(
    p: Principal,
    nodeId: string,
    operation: string,
    raw: unknown,
    write: boolean,
    family: HostOperationFamily,
  ) {
    const node = await this.nodes.get(p, nodeId);
    if (!isHostOperation(operation) || hostOperationFamily(operation) !== family)
      throw unknownHostOperation(operation, family);
    const spec = HOST_OPERATION_SPECS[operation as HostOperationName];
    if (spec.write !== write) {
      throw new DomainError(
        `${operation} ${spec.write ? 'changes the host: POST it' : 'only reads: GET it'}`,
        'method_not_allowed',
        405,
        undefined,
        { allow: spec.write ? 'POST' : 'GET' },
      );
    }
    let params: Record<string, unknown>;
    try {
      params = checkParams(spec.params, raw);
    } catch (err) {
      if (err instanceof InvalidHostArgument)
        throw HOST_OPERATION_ERRORS.invalid_argument.error(err.message, { field: err.field });
      throw err;
    }
    const target = {
      orgId: node.orgId,
      nodeId: node.id,
      actor: actorOf(p),
      resources: [`/v1/nodes/${node.id}`, `/v1/nodes/${node.id}/host/${operation}`],
    };
    return { target, job: { kind: 'host.operation' as const, payload: { operation, params } } };
  }

  async read(
    p: Principal,
    nodeId: string,
    operation: string,
    raw: unknown,
    family: HostOperationFamily = 'illumos',
  ): Promise<{ node_id: string; operation: string; data: unknown }> {
    const { target, job } = await this.prepare(p, nodeId, operation, raw, false, family);
    const result = (await this.queries.ask(target, job)) as { data: unknown };
    return { node_id: nodeId, operation, data: result.data };
  }

  async write(
    p: Principal,
    nodeId: string,
    operation: string,
    raw: unknown,
    family: HostOperationFamily = 'illumos',
  ): Promise<OperationEntity> {
    const { target, job } = await this.prepare(p, nodeId, operation, raw, true, family);
    return this.jobs.enqueue(target, job);
  }
}

/** Query strings carry text: booleans, numbers and lists are read back into their kinds. */
export function paramsFromQuery(
  operation: string,
  query: Record<string, string | string[] | undefined>,
): Record<string, unknown> {
  const spec = isHostOperation(operation)
    ? (HOST_OPERATION_SPECS[operation] as { params: Record<string, string> }).params
    : {};
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(query)) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined) continue;
    const kind = (spec[key] ?? '').replace(/\?$/, '');
    out[key] =
      kind === 'bool'
        ? value === 'true'
          ? true
          : value === 'false'
            ? false
            : value
        : kind === 'propnames'
          ? value.split(',')
          : value;
  }
  return out;
}

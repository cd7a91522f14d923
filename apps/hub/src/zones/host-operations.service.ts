import { Injectable } from '@nestjs/common';
import {
  checkParams,
  HOST_OPERATION_SPECS,
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
import { ZONE_ERRORS } from './zones.errors';

function unknownHostOperation(name: string): DomainError {
  return ZONE_ERRORS.unknown_operation.error(
    `"${name.slice(0, 80)}" is not a host operation (docs/api/zones.md lists them)`,
  );
}

/**
 * The illumos host operations of a node: the same parameter checks as the agent's (400 naming
 * the field, nothing enqueued), reads answered live by the agent, writes as operations.
 */
@Injectable()
export class HostOperationsService {
  constructor(
    private readonly nodes: NodesService,
    private readonly jobs: JobDispatcher,
    private readonly queries: NodeQueries,
  ) {}

  private async prepare(p: Principal, nodeId: string, operation: string, raw: unknown, write: boolean) {
    const node = await this.nodes.get(p, nodeId);
    if (!isHostOperation(operation)) throw unknownHostOperation(operation);
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
        throw ZONE_ERRORS.invalid_argument.error(err.message, { field: err.field });
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
  ): Promise<{ node_id: string; operation: string; data: unknown }> {
    const { target, job } = await this.prepare(p, nodeId, operation, raw, false);
    const result = (await this.queries.ask(target, job)) as { data: unknown };
    return { node_id: nodeId, operation, data: result.data };
  }

  async write(p: Principal, nodeId: string, operation: string, raw: unknown): Promise<OperationEntity> {
    const { target, job } = await this.prepare(p, nodeId, operation, raw, true);
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

import { Injectable } from '@nestjs/common';
import {
  checkParams,
  HOST_OPERATION_SPECS,
  type IllumosInventory,
  InvalidHostArgument,
  type ParamSpec,
} from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import type { OperationEntity } from '../jobs/operation.entity';
import { NodesService } from '../nodes/nodes.service';
import { HostOperationsService, paramsFromQuery } from '../host-operations/host-operations.service';
import type { HostResourceRoute } from './host-resource-routes';
import type { ResourceShape } from './host-resource-params';
import { HOST_OPERATION_ERRORS } from '../host-operations/host-operations.errors';
import { ZONE_ERRORS } from './zones.errors';
import { DomainError } from '../http/errors';

export interface HostResourceRead {
  node_id: string;
  operation: string;
  /** `inventory`: the agent's last report (as of `as_of`); `live`: read from the host for this request. */
  source: 'inventory' | 'live';
  as_of: string;
  /** Only from the inventory: the list was cut at its cap (ILLUMOS_INVENTORY_CAPS); `?live=true` reads all of it. */
  truncated?: boolean;
  data: unknown;
}

type Input = Record<string, unknown>;

/**
 * Resource-shaped paths over the host operations: the path, query and body become the
 * operation's parameters, checked by their kinds before anything else (400 naming the API
 * field). Reads with an inventory list are answered from the node's last inventory unless
 * `?live=true`; writes are queued as operations.
 */
@Injectable()
export class HostResourcesService {
  constructor(
    private readonly nodes: NodesService,
    private readonly ops: HostOperationsService,
  ) {}

  async read(
    route: HostResourceRoute,
    shape: ResourceShape,
    p: Principal,
    path: Input,
    query: Record<string, string | string[] | undefined>,
  ): Promise<HostResourceRead> {
    const { live: liveText, ...rest } = query;
    const live = route.inventory ? parseLive(liveText) : false;
    const params = checkRouteParams(route, shape, path, paramsFromQuery(route.operation, renameQuery(shape, rest)));
    const picked = route.pick ? (params[route.pick.param] as string) : undefined;
    // A pick over a list operation (`network/vnics/{name}`): the name selects, it is not a parameter.
    const pickFromList =
      route.pick !== undefined && !(route.pick.param in HOST_OPERATION_SPECS[route.operation].params);
    if (pickFromList) delete params[route.pick!.param];
    const node = await this.nodes.get(p, path.id as string);

    const illumos = node.inventory?.illumos;
    if (!live && route.inventory && illumos && node.inventory) {
      const served = fromInventory(route, illumos, params, picked);
      if (served)
        return {
          node_id: node.id,
          operation: route.operation,
          source: 'inventory',
          as_of: node.inventory.collected_at,
          ...(served.truncated ? { truncated: true } : {}),
          data: served.data,
        };
    }
    const asOf = new Date().toISOString();
    const { data } = await this.ops.read(p, node.id, route.operation, params).catch((err: unknown) => {
      // The agent found no such resource on the host: answered as the inventory read answers it.
      if (route.pick && err instanceof DomainError && err.code === ZONE_ERRORS.host_resource_not_found.code)
        throw notFound(route, picked!);
      throw err;
    });
    return {
      node_id: node.id,
      operation: route.operation,
      source: 'live',
      as_of: asOf,
      data: pickFromList ? pickEntry(route, data, picked!) : data,
    };
  }

  async write(
    route: HostResourceRoute,
    shape: ResourceShape,
    p: Principal,
    path: Input,
    input: unknown,
  ): Promise<OperationEntity> {
    const raw =
      shape.inputIn === 'query'
        ? paramsFromQuery(route.operation, renameQuery(shape, input as Record<string, string | string[] | undefined>))
        : input;
    const params = checkRouteParams(route, shape, path, renameBody(shape, raw));
    return this.ops.write(p, path.id as string, route.operation, params);
  }
}

function parseLive(value: string | string[] | undefined): boolean {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  throw HOST_OPERATION_ERRORS.invalid_argument.error('live must be true or false', { field: 'live' });
}

/** API names → the operation's parameter names (query strings: only the declared ones are renamed). */
function renameQuery<T>(shape: ResourceShape, query: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(query)) out[shape.input.find((f) => f.name === k)?.param ?? k] = v;
  return out;
}

function renameBody(shape: ResourceShape, body: unknown): unknown {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw HOST_OPERATION_ERRORS.invalid_argument.error('the body must be a JSON object', { field: 'body' });
  return renameQuery(shape, body as Input);
}

/**
 * The operation's parameters from the path and the input, each checked by its kind; the first
 * bad one is refused naming its API field. A path parameter cannot be given again in the input.
 */
function checkRouteParams(route: HostResourceRoute, shape: ResourceShape, path: Input, input: unknown): Input {
  const spec: ParamSpec = { ...(HOST_OPERATION_SPECS[route.operation].params as ParamSpec) };
  if (route.pick) spec[route.pick.param] = route.pick.kind;
  const fromPath: Input = {};
  for (const f of shape.path) fromPath[f.param] = path[f.name];
  const inputObj = (input ?? {}) as Input;
  for (const f of shape.path)
    if (f.param in inputObj)
      throw HOST_OPERATION_ERRORS.invalid_argument.error(`${f.name} is given in the path`, { field: f.name });
  try {
    return checkParams(spec, { ...inputObj, ...fromPath });
  } catch (err) {
    if (!(err instanceof InvalidHostArgument)) throw err;
    const api = [...shape.path, ...shape.input].find((f) => f.param === err.field.split(/[.[]/)[0])?.name;
    const field = api ? api + err.field.slice(err.field.split(/[.[]/)[0].length) : err.field;
    const message = err.message.startsWith(err.field) ? field + err.message.slice(err.field.length) : err.message;
    throw HOST_OPERATION_ERRORS.invalid_argument.error(message, { field });
  }
}

/** The answer from the inventory, or null when it cannot give it (an entry past a truncated list's cap). */
function fromInventory(
  route: HostResourceRoute,
  illumos: IllumosInventory,
  params: Input,
  picked: string | undefined,
): { data: unknown; truncated: boolean } | null {
  const list = route.inventory!;
  const entries = illumos[list] as Record<string, unknown>[];
  const truncated = illumos.truncated.includes(list);
  if (route.pick) {
    const entry = entries.find((e) => e[route.pick!.field] === picked);
    if (entry) return { data: entry, truncated: false };
    if (truncated) return null;
    throw notFound(route, picked!);
  }
  const root = params.root as string | undefined;
  const data = root ? entries.filter((e) => e.name === root || String(e.name).startsWith(`${root}/`)) : entries;
  return { data, truncated };
}

function pickEntry(route: HostResourceRoute, data: unknown, picked: string): unknown {
  const entry = Array.isArray(data)
    ? (data as Record<string, unknown>[]).find((e) => e[route.pick!.field] === picked)
    : undefined;
  if (!entry) throw notFound(route, picked);
  return entry;
}

function notFound(route: HostResourceRoute, name: string) {
  return ZONE_ERRORS.host_resource_not_found.error(
    `${route.pick!.param} "${name.slice(0, 200)}" does not exist on this node`,
    { field: route.pick!.param },
  );
}

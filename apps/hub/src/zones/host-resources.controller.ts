import { Body, Controller, Delete, Get, Patch, Post, Query, Res, type Type } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { ValidParams } from '../http/validation';
import { recordRouteSchema } from '../http/route-schemas';
import { acceptedOperation, operationResponse } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import { HOST_RESOURCE_ROUTES, type HostResourceRoute } from './host-resource-routes';
import { resourceSchemas, resourceShape, type ResourceShape } from './host-resource-params';
import { HostResourcesService } from './host-resources.service';
import { hostReadResponse } from './zone-reads.schemas';

const VERBS = { GET: Get, POST: Post, PATCH: Patch, DELETE: Delete } as const;
const READ_ERRORS = [
  'invalid_argument',
  'not_found',
  'host_resource_not_found',
  'node_offline',
  'node_timeout',
] as const;
const WRITE_ERRORS = ['invalid_argument', 'not_found'] as const;

type Handler = (
  p: Principal,
  path: Record<string, unknown>,
  query: Record<string, string>,
  body: unknown,
  note: AuditNote,
  reply: FastifyReply,
) => Promise<unknown>;

/**
 * The resource paths of illumos nodes (`/v1/nodes/{id}/zones/{zone}`, `/storage/datasets`, …):
 * one handler per row of HOST_RESOURCE_ROUTES, decorated as a hand-written route would be, so
 * the access guard, auditing, idempotency and the OpenAPI document treat them alike.
 */
@Controller('v1/nodes/:id')
export class HostResourcesController {
  constructor(readonly resources: HostResourcesService) {}
}

function handlerName(route: HostResourceRoute): string {
  return `${route.method.toLowerCase()}_${route.path.replace(/:/g, 'by_').replace(/[^A-Za-z0-9]+/g, '_')}`;
}

function defineRoute(controller: Type, route: HostResourceRoute): void {
  const shape: ResourceShape = resourceShape(route);
  const schemas = resourceSchemas(route, shape);
  const write = route.method !== 'GET';
  const handler: Handler = async function (this: HostResourcesController, p, path, query, body, note, reply) {
    if (!write) return this.resources.read(route, shape, p, path, query);
    const op = await this.resources.write(route, shape, p, path, shape.inputIn === 'query' ? query : body);
    note.details = { operation: route.operation, operation_id: op.id };
    return acceptedOperation(reply, op);
  };
  const proto = controller.prototype as Record<string, unknown>;
  const name = handlerName(route);
  if (name in proto) throw new Error(`two host resource routes are named ${name}`);
  Object.defineProperty(proto, name, { value: handler, writable: true, configurable: true });
  const descriptor = Object.getOwnPropertyDescriptor(proto, name)!;

  CurrentPrincipal()(proto, name, 0);
  ValidParams(schemas.params)(proto, name, 1);
  Query()(proto, name, 2);
  Body()(proto, name, 3);
  Audit()(proto, name, 4);
  Res({ passthrough: true })(proto, name, 5);
  if (schemas.query) recordRouteSchema(proto, name, 'query', schemas.query);
  if (schemas.body) recordRouteSchema(proto, name, 'body', schemas.body);

  const permission = write ? 'zones.manage' : 'zones.read';
  const decorators: MethodDecorator[] = [
    VERBS[route.method](route.path),
    RequirePermission(permission),
    ApiDoc({
      summary: route.summary,
      description: [
        `Host operation \`${route.operation}\` (docs/api/zones.md). Permission: \`${permission}\`.`,
        route.inventory
          ? 'Answered from the agent\'s last inventory (`source: "inventory"`, `as_of` its time) unless `?live=true` reads the host now (`source: "live"`).'
          : write
            ? ''
            : 'Read live on the host.',
        shape.path.some((f) => ['dataset', 'snapshot', 'fmri', 'addrobj'].includes(f.kind))
          ? "Names with '/' go in the path URL-encoded: `rpool%2Fzones%2Fweb01`."
          : '',
      ]
        .filter(Boolean)
        .join(' '),
      tags: ['zones'],
      errors: write ? WRITE_ERRORS : READ_ERRORS,
      responses: write
        ? {
            202: {
              description: 'Accepted: the operation (also at the Location header); its result has `{operation, data}`',
              schema: operationResponse,
            },
          }
        : {
            200: {
              description: '`{node_id, operation, source, as_of, truncated?, data}`',
              ...(route.data ? { schema: hostReadResponse(route.data) } : {}),
            },
            502: { description: 'the host command failed (host_command_failed, driver_unavailable)' },
          },
    }),
    ...(write ? [Audited('node.host.operation', { target: 'node', param: 'id' })] : []),
  ];
  for (const decorate of decorators) decorate(proto, name, descriptor);
}

for (const route of HOST_RESOURCE_ROUTES) defineRoute(HostResourcesController, route);

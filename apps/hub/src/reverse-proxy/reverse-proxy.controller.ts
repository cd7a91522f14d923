import { Controller, Delete, Get, Patch, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { ValidBody, ValidParams } from '../http/validation';
import { acceptedOperation, operationResponse } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import {
  createHostBody,
  type CreateHostBody,
  createRouteBody,
  type CreateRouteBody,
  createTcpRouteBody,
  type CreateTcpRouteBody,
  hostActionParams,
  hostParams,
  hostResponse,
  nodeParams,
  presentHost,
  routeParams,
  routeResponse,
  tcpRouteResponse,
  updateHostBody,
  type UpdateHostBody,
  updateRouteBody,
  type UpdateRouteBody,
  updateTcpRouteBody,
  type UpdateTcpRouteBody,
} from './reverse-proxy.schemas';
import { ReverseProxyService } from './reverse-proxy.service';

const TAGS = ['reverse-proxy'];
const WRITE_ERRORS = ['validation_failed', 'not_found', 'port_taken', 'name_taken'];
const HOST = {
  200: { description: 'The host with its routes; operation_id applies it on the node', schema: hostResponse },
};
const ACCEPTED = {
  202: {
    description: 'Accepted: the operation that applies it on the node (also at Location)',
    schema: operationResponse,
  },
};
const AUDIT = { target: 'node', param: 'id' } as const;

type Node = z.infer<typeof nodeParams>;
type Host = z.infer<typeof hostParams>;
type Route = z.infer<typeof routeParams>;
type HostAction = z.infer<typeof hostActionParams>;
type Changed = Awaited<ReturnType<ReverseProxyService['update']>>;

const present = ({ host, operation }: Changed) => presentHost(host, operation.id);

/**
 * The reverse proxy a node runs for its VMs (docs/api/machines.md, "Reverse proxy"): hosts and
 * their HTTP and TCP routes. Every write is stored, then applied on the node by an operation
 * whose id the answer carries.
 */
@Controller('v1/nodes/:id/reverse-proxy/hosts')
export class ReverseProxyController {
  constructor(private readonly proxy: ReverseProxyService) {}

  @Get()
  @RequirePermission('machines.read')
  @ApiDoc({
    summary: "The node's reverse-proxy hosts with their routes (TLS keys are never shown)",
    tags: TAGS,
    errors: ['not_found'],
    responses: { 200: { description: '`{data}`', schema: hostResponse.array() } },
  })
  async list(@CurrentPrincipal() p: Principal, @ValidParams(nodeParams) path: Node) {
    return { data: (await this.proxy.list(p, path.id)).map((h) => presentHost(h)) };
  }

  @Post()
  @RequirePermission('reverse_proxy.manage')
  @Audited('node.reverse_proxy.change', AUDIT)
  @ApiDoc({
    summary: 'Add a reverse-proxy host: a listener (TLS when given a certificate), CORS, a backend timeout',
    tags: TAGS,
    errors: [...WRITE_ERRORS, 'invalid_certificate'],
    responses: { 201: { description: 'Created', schema: hostResponse } },
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeParams) path: Node,
    @ValidBody(createHostBody) body: CreateHostBody,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const changed = await this.proxy.create(p, path.id, body);
    note.details = { host_id: changed.host.id, operation_id: changed.operation.id };
    void reply.status(201);
    return present(changed);
  }

  @Get(':hostId')
  @RequirePermission('machines.read')
  @ApiDoc({ summary: 'One reverse-proxy host', tags: TAGS, errors: ['not_found'], responses: HOST })
  async get(@CurrentPrincipal() p: Principal, @ValidParams(hostParams) path: Host) {
    return presentHost(await this.proxy.get(p, path.id, path.hostId));
  }

  @Patch(':hostId')
  @RequirePermission('reverse_proxy.manage')
  @Audited('node.reverse_proxy.change', AUDIT)
  @ApiDoc({
    summary: 'Change a host: name, listen address, TLS (null removes it), CORS, timeout',
    tags: TAGS,
    errors: [...WRITE_ERRORS, 'invalid_certificate'],
    responses: HOST,
  })
  async update(
    @CurrentPrincipal() p: Principal,
    @ValidParams(hostParams) path: Host,
    @ValidBody(updateHostBody) body: UpdateHostBody,
    @Audit() note: AuditNote,
  ) {
    const changed = await this.proxy.update(p, path.id, path.hostId, body);
    note.details = { host_id: path.hostId, operation_id: changed.operation.id };
    return present(changed);
  }

  @Delete(':hostId')
  @RequirePermission('reverse_proxy.manage')
  @Audited('node.reverse_proxy.change', AUDIT)
  @ApiDoc({ summary: 'Delete a host (its listeners close)', tags: TAGS, errors: ['not_found'], responses: ACCEPTED })
  async remove(
    @CurrentPrincipal() p: Principal,
    @ValidParams(hostParams) path: Host,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const op = await this.proxy.remove(p, path.id, path.hostId);
    note.details = { host_id: path.hostId, operation_id: op.id };
    return acceptedOperation(reply, op);
  }

  @Post(':hostId/:action')
  @RequirePermission('reverse_proxy.manage')
  @Audited('node.reverse_proxy.change', AUDIT)
  @ApiDoc({
    summary: 'enable, disable or restart a host (restart closes and reopens its listeners)',
    tags: TAGS,
    errors: ['not_found', 'validation_failed'],
    responses: ACCEPTED,
  })
  async action(
    @CurrentPrincipal() p: Principal,
    @ValidParams(hostActionParams) path: HostAction,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { operation } = await this.proxy.action(p, path.id, path.hostId, path.action);
    note.details = { host_id: path.hostId, action: path.action, operation_id: operation.id };
    return acceptedOperation(reply, operation);
  }

  @Get(':hostId/routes')
  @RequirePermission('machines.read')
  @ApiDoc({
    summary: "A host's HTTP routes, in the order they are tried",
    tags: TAGS,
    errors: ['not_found'],
    responses: { 200: { description: '`{data}`', schema: routeResponse.array() } },
  })
  async routes(@CurrentPrincipal() p: Principal, @ValidParams(hostParams) path: Host) {
    return { data: (await this.proxy.get(p, path.id, path.hostId)).routes };
  }

  @Post(':hostId/routes')
  @RequirePermission('reverse_proxy.manage')
  @Audited('node.reverse_proxy.change', AUDIT)
  @ApiDoc({
    summary: 'Add an HTTP route: a path regex to a VM (by id, followed across address changes) or host:port',
    tags: TAGS,
    errors: WRITE_ERRORS,
    responses: { 201: { description: 'The host with the new route', schema: hostResponse } },
  })
  async addRoute(
    @CurrentPrincipal() p: Principal,
    @ValidParams(hostParams) path: Host,
    @ValidBody(createRouteBody) body: CreateRouteBody,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const changed = await this.proxy.addRoute(p, path.id, path.hostId, body);
    note.details = { host_id: path.hostId, operation_id: changed.operation.id };
    void reply.status(201);
    return present(changed);
  }

  @Patch(':hostId/routes/:routeId')
  @RequirePermission('reverse_proxy.manage')
  @Audited('node.reverse_proxy.change', AUDIT)
  @ApiDoc({
    summary: 'Change an HTTP route (or move it with position)',
    tags: TAGS,
    errors: WRITE_ERRORS,
    responses: HOST,
  })
  async updateRoute(
    @CurrentPrincipal() p: Principal,
    @ValidParams(routeParams) path: Route,
    @ValidBody(updateRouteBody) body: UpdateRouteBody,
    @Audit() note: AuditNote,
  ) {
    const changed = await this.proxy.updateRoute(p, path.id, path.hostId, path.routeId, body);
    note.details = { host_id: path.hostId, route_id: path.routeId, operation_id: changed.operation.id };
    return present(changed);
  }

  @Delete(':hostId/routes/:routeId')
  @RequirePermission('reverse_proxy.manage')
  @Audited('node.reverse_proxy.change', AUDIT)
  @ApiDoc({ summary: 'Delete an HTTP route', tags: TAGS, errors: ['not_found'], responses: HOST })
  async removeRoute(@CurrentPrincipal() p: Principal, @ValidParams(routeParams) path: Route, @Audit() note: AuditNote) {
    const changed = await this.proxy.removeRoute(p, path.id, path.hostId, path.routeId);
    note.details = { host_id: path.hostId, route_id: path.routeId, operation_id: changed.operation.id };
    return present(changed);
  }

  @Get(':hostId/tcp-routes')
  @RequirePermission('machines.read')
  @ApiDoc({
    summary: "A host's TCP routes",
    tags: TAGS,
    errors: ['not_found'],
    responses: { 200: { description: '`{data}`', schema: tcpRouteResponse.array() } },
  })
  async tcpRoutes(@CurrentPrincipal() p: Principal, @ValidParams(hostParams) path: Host) {
    return { data: (await this.proxy.get(p, path.id, path.hostId)).tcpRoutes };
  }

  @Post(':hostId/tcp-routes')
  @RequirePermission('reverse_proxy.manage')
  @Audited('node.reverse_proxy.change', AUDIT)
  @ApiDoc({
    summary: "Add a TCP route: a port on the host's listen address piped to a VM or host:port",
    tags: TAGS,
    errors: WRITE_ERRORS,
    responses: { 201: { description: 'The host with the new TCP route', schema: hostResponse } },
  })
  async addTcpRoute(
    @CurrentPrincipal() p: Principal,
    @ValidParams(hostParams) path: Host,
    @ValidBody(createTcpRouteBody) body: CreateTcpRouteBody,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const changed = await this.proxy.addTcpRoute(p, path.id, path.hostId, body);
    note.details = { host_id: path.hostId, operation_id: changed.operation.id };
    void reply.status(201);
    return present(changed);
  }

  @Patch(':hostId/tcp-routes/:routeId')
  @RequirePermission('reverse_proxy.manage')
  @Audited('node.reverse_proxy.change', AUDIT)
  @ApiDoc({ summary: 'Change a TCP route', tags: TAGS, errors: WRITE_ERRORS, responses: HOST })
  async updateTcpRoute(
    @CurrentPrincipal() p: Principal,
    @ValidParams(routeParams) path: Route,
    @ValidBody(updateTcpRouteBody) body: UpdateTcpRouteBody,
    @Audit() note: AuditNote,
  ) {
    const changed = await this.proxy.updateTcpRoute(p, path.id, path.hostId, path.routeId, body);
    note.details = { host_id: path.hostId, route_id: path.routeId, operation_id: changed.operation.id };
    return present(changed);
  }

  @Delete(':hostId/tcp-routes/:routeId')
  @RequirePermission('reverse_proxy.manage')
  @Audited('node.reverse_proxy.change', AUDIT)
  @ApiDoc({ summary: 'Delete a TCP route', tags: TAGS, errors: ['not_found'], responses: HOST })
  async removeTcpRoute(
    @CurrentPrincipal() p: Principal,
    @ValidParams(routeParams) path: Route,
    @Audit() note: AuditNote,
  ) {
    const changed = await this.proxy.removeTcpRoute(p, path.id, path.hostId, path.routeId);
    note.details = { host_id: path.hostId, route_id: path.routeId, operation_id: changed.operation.id };
    return present(changed);
  }
}

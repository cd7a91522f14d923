import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pipeline } from 'node:stream';
import { z } from 'zod';
import { containerRef, JOB_KINDS, type ContainerAction } from '@hostplane/protocol';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import { LiveConnections } from '../access/live-connections';
import type { Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { acceptedOperation, operationResponse } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import { type ContainerActionOptions, NodeContainersService } from './node-containers.service';
import { nodeIdParams } from './nodes.schemas';

const containerParams = nodeIdParams.extend({ containerId: containerRef });
type ContainerParams = z.infer<typeof containerParams>;
const actionPayload = JOB_KINDS['node.container.action'].payload.shape;
const flag = (description: string) =>
  z.stringbool({ error: 'must be true or false' }).default(false).describe(description);

const logsQuery = z
  .object({
    lines: z.coerce
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(200)
      .describe('How many of the last lines (with follow: the lines shown before new output; 0 for none)'),
    timestamps: flag('Prefix each line with its RFC 3339 timestamp (not with follow)'),
    follow: flag('Stream the output as text/plain until the container stops or the client goes away'),
  })
  .refine((q) => !(q.follow && q.timestamps), {
    message: 'timestamps are not available with follow',
    path: ['timestamps'],
  })
  .refine((q) => q.follow || q.lines >= 1, { message: 'lines must be at least 1 without follow', path: ['lines'] });
const stopBody = z
  .object({
    timeout_seconds: actionPayload.timeout_seconds.describe(
      "Seconds before Docker kills it (default: the container's own stop timeout)",
    ),
  })
  .strict();
const killBody = z.object({ signal: actionPayload.signal.describe('Default SIGKILL') }).strict();

export const containerLogsResponse = z.object({
  node_id: z.uuid(),
  container_id: z.string(),
  lines: z.array(z.string()),
});

const TAGS = ['nodes'];
const ACCEPTED = {
  202: {
    description: "Accepted: the operation (also at the Location header); its result has the container's state",
    schema: operationResponse,
  },
};
/** A container id that is not one, or a node that is away: the operation is not created. */
const CONTAINER_ERRORS = ['validation_failed', 'node_offline'];

/** Any Docker container on a node (not only instances): start, stop, restart, kill and logs, through the agent. */
@Controller('v1/nodes/:id/containers/:containerId')
export class NodeContainersController {
  constructor(
    private readonly containers: NodeContainersService,
    private readonly live: LiveConnections,
  ) {}

  @Get('logs')
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: "A container's output: the last lines as JSON, or followed live as text/plain",
    description:
      '`?lines=&timestamps=` answer `{lines: [...]}` (a job on the node, answered within 15 s). `?follow=true` streams the last `lines` lines, then new output as it comes (chunked text/plain) until the container stops, the client disconnects or its access ends. ' +
      "A container that is not one of the organization's instances (`hostplane-<instance id>`) needs `nodes.host`.",
    tags: TAGS,
    errors: ['permission_denied', 'container_not_found', 'node_offline', 'node_timeout'],
    responses: {
      200: {
        description: 'The lines (JSON), or the live output (text/plain with follow)',
        schema: containerLogsResponse,
      },
    },
  })
  async logs(
    @CurrentPrincipal() p: Principal,
    @ValidParams(containerParams) params: ContainerParams,
    @ValidQuery(logsQuery) q: z.infer<typeof logsQuery>,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!q.follow) {
      void reply.send(await this.containers.logs(p, params.id, params.containerId, q));
      return;
    }
    const output = await this.containers.follow(p, params.id, params.containerId, q.lines);
    // Hijacked so the headers go out now, before the container says anything.
    const raw = reply.hijack().raw;
    raw.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      'x-request-id': String(req.id),
    });
    // A client that goes away destroys `output`, which closes the stream on the agent.
    pipeline(output, raw, () => undefined);
    this.live.followResponse({
      request: req,
      response: raw,
      principal: p,
      rule: { kind: 'permission', permission: 'nodes.view', sessionOnly: false },
      recheck: (now) => this.containers.assertLogsVisible(now, params.id, params.containerId),
    });
  }

  @Post('start')
  @RequirePermission('nodes.manage')
  @Audited('node.container.start', { target: 'node', param: 'id' })
  @ApiDoc({ summary: 'Start a container on the node', tags: TAGS, errors: CONTAINER_ERRORS, responses: ACCEPTED })
  start(
    @CurrentPrincipal() p: Principal,
    @ValidParams(containerParams) params: ContainerParams,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.act(p, params, 'start', {}, note, reply);
  }

  @Post('stop')
  @RequirePermission('nodes.manage')
  @Audited('node.container.stop', { target: 'node', param: 'id' })
  @ApiDoc({
    summary: 'Stop a container (SIGTERM, then SIGKILL after the timeout)',
    tags: TAGS,
    errors: CONTAINER_ERRORS,
    responses: ACCEPTED,
  })
  stop(
    @CurrentPrincipal() p: Principal,
    @ValidParams(containerParams) params: ContainerParams,
    @ValidBody(stopBody.partial().default({})) body: z.infer<typeof stopBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.act(p, params, 'stop', body, note, reply);
  }

  @Post('restart')
  @RequirePermission('nodes.manage')
  @Audited('node.container.restart', { target: 'node', param: 'id' })
  @ApiDoc({ summary: 'Restart a container', tags: TAGS, errors: CONTAINER_ERRORS, responses: ACCEPTED })
  restart(
    @CurrentPrincipal() p: Principal,
    @ValidParams(containerParams) params: ContainerParams,
    @ValidBody(stopBody.partial().default({})) body: z.infer<typeof stopBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.act(p, params, 'restart', body, note, reply);
  }

  @Post('kill')
  @RequirePermission('nodes.manage')
  @Audited('node.container.kill', { target: 'node', param: 'id' })
  @ApiDoc({
    summary: 'Send a signal to a container (default SIGKILL)',
    tags: TAGS,
    errors: CONTAINER_ERRORS,
    responses: ACCEPTED,
  })
  kill(
    @CurrentPrincipal() p: Principal,
    @ValidParams(containerParams) params: ContainerParams,
    @ValidBody(killBody.partial().default({})) body: z.infer<typeof killBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.act(p, params, 'kill', body, note, reply);
  }

  private async act(
    p: Principal,
    params: ContainerParams,
    action: ContainerAction,
    options: ContainerActionOptions,
    note: AuditNote,
    reply: FastifyReply,
  ) {
    const op = await this.containers.act(
      p,
      params.id,
      params.containerId,
      action,
      action === 'kill' ? { signal: 'SIGKILL', ...options } : options,
    );
    note.details = { container_id: params.containerId, operation_id: op.id };
    return acceptedOperation(reply, op);
  }
}

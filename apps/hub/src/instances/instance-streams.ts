import { Injectable, OnModuleInit } from '@nestjs/common';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { DomainError, ValidationFailedError } from '../http/errors';
import { zodIssues } from '../http/validation';
import { NodeOfflineError } from '../nodes/node-terminal';
import { StreamOpenError } from '../tunnel/tunnel-streams';
import { TunnelServer } from '../tunnel/tunnel.server';
import { WsAccess } from '../ws/ws-access';
import { WsRouter } from '../ws/ws-router';
import { relay } from '../ws/stream-relay';
import { instanceIdParams } from './instances.schemas';
import { InstancesService } from './instances.service';

const logsQuery = z.object({ tail: z.coerce.number().int().min(0).max(10_000).default(100) });

/** `…/console` (interactive) and `…/logs` (live, read-only): WebSockets relayed over tunnel streams. */
@Injectable()
export class InstanceStreams implements OnModuleInit {
  constructor(
    private readonly router: WsRouter,
    private readonly access: WsAccess,
    private readonly instances: InstancesService,
    private readonly tunnel: TunnelServer,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.router.route('/v1/instances/:id/console', async (up) => {
      const id = parse(instanceIdParams, up.params, 'path parameter').id;
      const { principal, request } = await this.access.authorize(up, { kind: 'permission', permission: 'instances.console', sessionOnly: false });
      const instance = await this.instances.get(principal, id);
      const stream = await this.open(instance.nodeId, 'instance.console', { instance_id: id });
      void this.audit.record(this.audit.fromRequest(request, { action: 'instance.console.open', targetType: 'instance', targetId: id, outcome: 'success' }));
      return (ws) => relay(ws, stream);
    });
    this.router.route('/v1/instances/:id/logs', async (up) => {
      const id = parse(instanceIdParams, up.params, 'path parameter').id;
      const { tail } = parse(logsQuery, Object.fromEntries(up.query), 'query');
      const { principal } = await this.access.authorize(up, { kind: 'permission', permission: 'instances.view', sessionOnly: false });
      const instance = await this.instances.get(principal, id);
      const stream = await this.open(instance.nodeId, 'instance.logs', { instance_id: id, tail });
      return (ws) => relay(ws, stream, { readOnly: true });
    });
  }

  private async open(nodeId: string, kind: 'instance.console' | 'instance.logs', params: Record<string, unknown>) {
    const session = this.tunnel.session(nodeId);
    if (!session) throw new NodeOfflineError();
    try {
      return await this.tunnel.streams.open(session, kind, params);
    } catch (err) {
      if (err instanceof StreamOpenError) throw new DomainError(err.message, err.code, err.code === 'instance_not_found' ? 404 : 502);
      throw err;
    }
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationFailedError(where, zodIssues(r.error));
  return r.data;
}

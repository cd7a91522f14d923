import { agentCodeError } from '../http/error-catalog';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { InstanceStats } from '@hostplane/protocol';
import { PermissionDeniedError } from '../access/access.errors';
import { hasPermission, type Principal } from '../access/principal';
import { AuditService } from '../audit/audit.service';
import { HUB_CONFIG } from '../config/config.module';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import type { HubConfig } from '../config/load-config';
import { ValidationFailedError } from '../http/errors';
import { zodIssues } from '../http/validation';
import { StreamOpenError } from '../tunnel/tunnel-streams';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { WsAccess } from '../ws/ws-access';
import { WsRouter, type WsUpgrade } from '../ws/ws-router';
import { relay } from '../ws/stream-relay';
import { instanceIdParams } from './instances.schemas';
import { InstanceQueries } from './instance-queries';
import { InstancesService } from './instances.service';
import { WingsConsole } from './wings-console';

const logsQuery = z.object({ tail: z.coerce.number().int().min(0).max(10_000).default(100) });
const consoleQuery = z.object({
  scrollback: z.coerce.number().int().min(0).max(1000).optional(),
  protocol: z.enum(['hostplane', 'wings']).default('hostplane'),
});

/** `…/console` (interactive) and `…/logs` (live, read-only): WebSockets relayed over tunnel streams. */
@Injectable()
export class InstanceStreams implements OnModuleInit {
  constructor(
    private readonly router: WsRouter,
    private readonly access: WsAccess,
    private readonly instances: InstancesService,
    private readonly domainEvents: DomainEventBus,
    private readonly nodeStreams: NodeStreams,
    private readonly audit: AuditService,
    private readonly queries: InstanceQueries,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  onModuleInit(): void {
    this.router.route('/v1/instances/:id/console', async (up) => {
      const id = parse(instanceIdParams, up.params, 'path parameter').id;
      const query = parse(consoleQuery, Object.fromEntries(up.query), 'query');
      const scrollback = query.scrollback ?? this.config.console.scrollbackLines;
      const { principal, request } = await this.access.authorize(up, {
        kind: 'permission',
        permission: 'instances.console',
        sessionOnly: false,
      });
      const instance = await this.instances.get(principal, id);
      void this.audit.record(
        this.audit.fromRequest(request, {
          action: 'instance.console.open',
          targetType: 'instance',
          targetId: id,
          outcome: 'success',
        }),
      );
      if (query.protocol === 'wings')
        return (ws) => void this.wings(ws, up, principal, id, scrollback).catch(() => ws.close(1011, 'console failed'));
      const stream = await this.open(instance.nodeId, 'instance.console', { instance_id: id, scrollback });
      // Text frames are control, binary frames output: the scrollback, then the marker after which output is live.
      const lines = scrollbackLines(stream.meta);
      const prelude = [
        JSON.stringify({ type: 'scrollback', lines }),
        JSON.stringify({ type: 'live', tty: stream.meta.tty === true }),
      ];
      return (ws) => relay(ws, stream, { prelude });
    });
    this.router.route('/v1/instances/:id/logs', async (up) => {
      const id = parse(instanceIdParams, up.params, 'path parameter').id;
      const { tail } = parse(logsQuery, Object.fromEntries(up.query), 'query');
      const { principal } = await this.access.authorize(up, {
        kind: 'permission',
        permission: 'instances.view',
        sessionOnly: false,
      });
      const instance = await this.instances.get(principal, id);
      const stream = await this.open(instance.nodeId, 'instance.logs', { instance_id: id, tail });
      return (ws) => relay(ws, stream, { readOnly: true });
    });
  }

  /** `?protocol=wings`: Pterodactyl's `{event, args}` framing over the same console. */
  private async wings(
    ws: WebSocket,
    up: WsUpgrade,
    principal: Principal,
    id: string,
    scrollback: number,
  ): Promise<void> {
    const wingsConsole = new WingsConsole(ws, {
      openConsole: async () => {
        const instance = await this.instances.get(principal, id);
        if (instance.state !== 'running' && instance.state !== 'starting') return null;
        const stream = await this.open(instance.nodeId, 'instance.console', { instance_id: id, scrollback });
        return { stream, scrollback: scrollbackLines(stream.meta) };
      },
      state: async () => (await this.instances.get(principal, id)).state,
      stats: async () => {
        const instance = await this.instances.get(principal, id);
        return (await this.queries.ask(principal, instance, {
          kind: 'instance.stats',
          payload: { instance_id: id },
        })) as InstanceStats;
      },
      power: async (action) => {
        if (!hasPermission(principal, 'instances.manage')) throw new PermissionDeniedError('instances.manage');
        await this.instances.act(principal, id, action);
      },
      subscribe: (onState, onStats) => {
        const offState = this.domainEvents.on('instance.state', ({ frame }) => {
          if (frame.instance_id === id) onState(frame.state);
        });
        const offMetrics = this.domainEvents.on('instance.metrics', ({ frame }) => {
          for (const sample of frame.samples) if (sample.instance_id === id) onStats(sample);
        });
        return () => {
          offState();
          offMetrics();
        };
      },
      tokenExpiresAt: bearerExpiry(up),
    });
    await wingsConsole.start();
  }

  private async open(nodeId: string, kind: 'instance.console' | 'instance.logs', params: Record<string, unknown>) {
    try {
      return await this.nodeStreams.open(nodeId, kind, params);
    } catch (err) {
      if (err instanceof StreamOpenError) throw agentCodeError(err.code, err.message);
      throw err;
    }
  }
}

function scrollbackLines(meta: Record<string, unknown>): string[] {
  return typeof meta.scrollback === 'string' && meta.scrollback !== '' ? meta.scrollback.split('\n') : [];
}

/** The `exp` of a JWT bearer token (already verified by the access guard); null for API tokens. */
function bearerExpiry(up: WsUpgrade): Date | null {
  const header = up.req.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice(7) : up.query.get('access_token');
  const payload = token?.split('.')[1];
  if (!payload || token?.split('.').length !== 3) return null;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? new Date(exp * 1000) : null;
  } catch {
    return null;
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationFailedError(where, zodIssues(r.error));
  return r.data;
}

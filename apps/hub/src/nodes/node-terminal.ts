import { agentCodeError } from '../http/error-catalog';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import type { HubStream } from '../tunnel/tunnel-streams';
import { relay } from '../ws/stream-relay';
import { StreamOpenError } from '../tunnel/tunnel-streams';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { WsAccess } from '../ws/ws-access';
import { WsRouter } from '../ws/ws-router';
import { NodesService } from './nodes.service';
import { nodeIdParams } from './nodes.schemas';
import { ValidationFailedError } from '../http/errors';
import { zodIssues } from '../http/validation';

const sizeQuery = z.object({
  cols: z.coerce.number().int().min(1).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
});

/**
 * `GET /v1/nodes/:id/terminal` (WebSocket): a pty on the host, relayed over a tunnel stream.
 * Binary or plain-text frames are keystrokes; `{"type":"resize","cols":…,"rows":…}` resizes;
 * output arrives as binary frames. A slow client holds back the agent's credit, not the tunnel.
 */
@Injectable()
export class NodeTerminal implements OnModuleInit {
  constructor(
    private readonly router: WsRouter,
    private readonly access: WsAccess,
    private readonly nodes: NodesService,
    private readonly nodeStreams: NodeStreams,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.router.route('/v1/nodes/:id/terminal', async (up) => {
      const params = nodeIdParams.safeParse(up.params);
      if (!params.success) throw new ValidationFailedError('path parameter', zodIssues(params.error));
      const size = sizeQuery.safeParse(Object.fromEntries(up.query));
      if (!size.success) throw new ValidationFailedError('query', zodIssues(size.error));
      const { principal, request } = await this.access.authorize(up, {
        kind: 'permission',
        permission: 'nodes.terminal',
        sessionOnly: false,
      });
      const node = await this.nodes.get(principal, params.data.id);
      const auditBase = this.audit.fromRequest(request, {
        action: 'node.terminal.open',
        targetType: 'node',
        targetId: node.id,
        outcome: 'success',
      });
      let stream: HubStream;
      try {
        stream = await this.nodeStreams.open(node.id, 'terminal', size.data);
      } catch (err) {
        void this.audit.record({ ...auditBase, outcome: 'failure', details: { reason: (err as Error).message } });
        if (err instanceof StreamOpenError) throw agentCodeError(err.code, err.message);
        throw err;
      }
      void this.audit.record(auditBase);
      return (ws) => relay(ws, stream);
    });
  }
}

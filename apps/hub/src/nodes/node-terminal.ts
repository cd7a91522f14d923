import { Injectable, OnModuleInit } from '@nestjs/common';
import { z } from 'zod';
import type { WebSocket } from 'ws';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../http/errors';
import type { HubStream } from '../tunnel/tunnel-streams';
import { StreamOpenError } from '../tunnel/tunnel-streams';
import { TunnelServer } from '../tunnel/tunnel.server';
import { WsAccess } from '../ws/ws-access';
import { WsRouter } from '../ws/ws-router';
import { NodesService } from './nodes.service';
import { nodeIdParams } from './nodes.schemas';
import { ValidationFailedError } from '../http/errors';
import { zodIssues } from '../http/validation';

export class NodeOfflineError extends DomainError {
  constructor() {
    super('the node is not connected to the hub right now', 'node_offline', 409);
  }
}

const sizeQuery = z.object({
  cols: z.coerce.number().int().min(1).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
});

/** Text frames that start with "{" are control messages; everything else is terminal input. */
const controlMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('resize'), cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) }),
  z.object({ type: z.literal('input'), data: z.string().max(64 * 1024) }),
]);

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
    private readonly tunnel: TunnelServer,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.router.route('/v1/nodes/:id/terminal', async (up) => {
      const params = nodeIdParams.safeParse(up.params);
      if (!params.success) throw new ValidationFailedError('path parameter', zodIssues(params.error));
      const size = sizeQuery.safeParse(Object.fromEntries(up.query));
      if (!size.success) throw new ValidationFailedError('query', zodIssues(size.error));
      const { principal, request } = await this.access.authorize(up, { kind: 'permission', permission: 'nodes.terminal', sessionOnly: false });
      const node = await this.nodes.get(principal, params.data.id);
      const session = this.tunnel.session(node.id);
      if (!session) throw new NodeOfflineError();
      const auditBase = this.audit.fromRequest(request, { action: 'node.terminal.open', targetType: 'node', targetId: node.id, outcome: 'success' });
      let stream: HubStream;
      try {
        stream = await this.tunnel.streams.open(session, 'terminal', size.data);
      } catch (err) {
        void this.audit.record({ ...auditBase, outcome: 'failure', details: { reason: (err as Error).message } });
        if (err instanceof StreamOpenError) throw new DomainError(err.message, err.code, 502);
        throw err;
      }
      void this.audit.record(auditBase);
      return (ws) => relay(ws, stream);
    });
  }
}

export function relay(ws: WebSocket, stream: HubStream): void {
  stream.onData((chunk) => {
    if (ws.readyState !== ws.OPEN) return;
    // Credit goes back only once the client's socket took the bytes: that is the backpressure.
    ws.send(chunk, { binary: true }, (err) => {
      if (!err) stream.consumed(chunk.length);
    });
  });
  stream.onClose((info) => {
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      ws.close(1000, (info.exit_code !== undefined ? `exit ${info.exit_code}` : (info.reason ?? 'closed')).slice(0, 120));
    }
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && data[0] === 0x7b) {
      const parsed = parseControl(data.toString('utf8'));
      if (parsed?.type === 'resize') return stream.resize(parsed.cols, parsed.rows);
      if (parsed?.type === 'input') return stream.write(Buffer.from(parsed.data, 'utf8'));
    }
    stream.write(Buffer.from(data));
  });
  ws.on('close', () => stream.close('client closed the terminal'));
}

function parseControl(text: string): z.infer<typeof controlMessage> | null {
  try {
    const r = controlMessage.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

import { Injectable, OnModuleInit } from '@nestjs/common';
import { ValidationFailedError } from '../http/errors';
import { zodIssues } from '../http/validation';
import { relay } from '../ws/stream-relay';
import { WsRouter } from '../ws/ws-router';
import { NodeStreamSockets, terminalSizeQuery } from './node-stream-sockets';
import { nodeIdParams } from './nodes.schemas';

/**
 * `GET /v1/nodes/:id/terminal` (WebSocket): a pty on the host, relayed over a tunnel stream.
 * Binary or plain-text frames are keystrokes; `{"type":"resize","cols":…,"rows":…}` resizes;
 * output arrives as binary frames. A slow client holds back the agent's credit, not the tunnel.
 */
@Injectable()
export class NodeTerminal implements OnModuleInit {
  constructor(
    private readonly router: WsRouter,
    private readonly sockets: NodeStreamSockets,
  ) {}

  onModuleInit(): void {
    this.router.route('/v1/nodes/:id/terminal', async (up) => {
      const params = nodeIdParams.safeParse(up.params);
      if (!params.success) throw new ValidationFailedError('path parameter', zodIssues(params.error));
      const size = terminalSizeQuery.safeParse(Object.fromEntries(up.query));
      if (!size.success) throw new ValidationFailedError('query', zodIssues(size.error));
      const stream = await this.sockets.open(up, {
        nodeId: params.data.id,
        permission: 'nodes.terminal',
        kind: 'terminal',
        params: size.data,
        audit: { action: 'node.terminal.open' },
      });
      return (ws) => relay(ws, stream);
    });
  }
}

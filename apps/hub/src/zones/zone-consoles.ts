import { Injectable, OnModuleInit } from '@nestjs/common';
import { checkName, InvalidHostArgument, type StreamKind } from '@hostplane/protocol';
import type { WebSocket } from 'ws';
import { ValidationFailedError } from '../http/errors';
import { zodIssues } from '../http/validation';
import { NodeStreamSockets, terminalSizeQuery } from '../nodes/node-stream-sockets';
import { nodeIdParams } from '../nodes/nodes.schemas';
import { relay } from '../ws/stream-relay';
import { WsRouter, type WsUpgrade } from '../ws/ws-router';
import { HOST_OPERATION_ERRORS } from '../host-operations/host-operations.errors';

/** zadm's proxy plus the VNC server's greeting take longer than a pty. */
const VNC_OPEN_TIMEOUT_MS = 25_000;

type ZoneStreamKind = Extract<StreamKind, 'zone.console' | 'zone.shell' | 'zone.vnc'>;

/**
 * The zone WebSockets of a node, for any zone on the host (docs/api/zones.md, "Consoles and VNC"):
 * `…/zones/:zone/console` (`zlogin -C`) and `…/zones/:zone/shell` (`zlogin`) speak the node
 * terminal's frames; `…/zones/:zone/vnc` (and `…/vnc/websockify`) carries raw RFB bytes in binary
 * frames, so noVNC connects as it is. Authorized by `zones.console`, closed when that access ends.
 */
@Injectable()
export class ZoneConsoles implements OnModuleInit {
  constructor(
    private readonly router: WsRouter,
    private readonly sockets: NodeStreamSockets,
  ) {}

  onModuleInit(): void {
    this.router.route('/v1/nodes/:id/zones/:zone/console', (up) => this.open(up, 'zone.console'));
    this.router.route('/v1/nodes/:id/zones/:zone/shell', (up) => this.open(up, 'zone.shell'));
    this.router.route('/v1/nodes/:id/zones/:zone/vnc', (up) => this.open(up, 'zone.vnc'));
    this.router.route('/v1/nodes/:id/zones/:zone/vnc/websockify', (up) => this.open(up, 'zone.vnc'));
  }

  private async open(up: WsUpgrade, kind: ZoneStreamKind) {
    const node = nodeIdParams.safeParse(up.params);
    if (!node.success) throw new ValidationFailedError('path parameter', zodIssues(node.error));
    // The name is checked before anything else happens: a refused name never reaches the node.
    const zone = zoneName(up.params.zone);
    const size = terminalSizeQuery.safeParse(Object.fromEntries(up.query));
    if (!size.success) throw new ValidationFailedError('query', zodIssues(size.error));
    const vnc = kind === 'zone.vnc';
    const stream = await this.sockets.open(up, {
      nodeId: node.data.id,
      permission: 'zones.console',
      kind,
      params: vnc ? { zone } : { zone, ...size.data },
      audit: { action: `node.${kind}.open`, details: { zone } },
      ...(vnc ? { openTimeoutMs: VNC_OPEN_TIMEOUT_MS } : {}),
    });
    return (ws: WebSocket) => relay(ws, stream, { raw: vnc });
  }
}

function zoneName(value: string | undefined): string {
  try {
    const zone = checkName('zone', value);
    if (zone === 'global') throw new InvalidHostArgument('zone', 'global has no zone console: use the node terminal');
    return zone;
  } catch (err) {
    if (err instanceof InvalidHostArgument)
      throw HOST_OPERATION_ERRORS.invalid_argument.error(err.message, { field: err.field });
    throw err;
  }
}

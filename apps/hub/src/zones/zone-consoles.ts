import { Injectable, OnModuleInit } from '@nestjs/common';
import { checkName, InvalidHostArgument, type StreamKind } from '@hostplane/protocol';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { agentCodeError } from '../http/error-catalog';
import { ValidationFailedError } from '../http/errors';
import { zodIssues } from '../http/validation';
import { NodesService } from '../nodes/nodes.service';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { StreamOpenError, type HubStream } from '../tunnel/tunnel-streams';
import { relay } from '../ws/stream-relay';
import { WsAccess } from '../ws/ws-access';
import { WsRouter, type WsUpgrade } from '../ws/ws-router';
import { HOST_OPERATION_ERRORS } from '../host-operations/host-operations.errors';

const nodeParams = z.object({ id: z.uuid({ message: 'node id must be a UUID' }) });
const sizeQuery = z.object({
  cols: z.coerce.number().int().min(1).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
});
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
    private readonly access: WsAccess,
    private readonly nodes: NodesService,
    private readonly nodeStreams: NodeStreams,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.router.route('/v1/nodes/:id/zones/:zone/console', (up) => this.open(up, 'zone.console'));
    this.router.route('/v1/nodes/:id/zones/:zone/shell', (up) => this.open(up, 'zone.shell'));
    this.router.route('/v1/nodes/:id/zones/:zone/vnc', (up) => this.open(up, 'zone.vnc'));
    this.router.route('/v1/nodes/:id/zones/:zone/vnc/websockify', (up) => this.open(up, 'zone.vnc'));
  }

  private async open(up: WsUpgrade, kind: ZoneStreamKind) {
    const node = nodeParams.safeParse(up.params);
    if (!node.success) throw new ValidationFailedError('path parameter', zodIssues(node.error));
    // The name is checked before anything else happens: a refused name never reaches the node.
    const zone = zoneName(up.params.zone);
    const size = sizeQuery.safeParse(Object.fromEntries(up.query));
    if (!size.success) throw new ValidationFailedError('query', zodIssues(size.error));
    const { principal, request } = await this.access.authorize(up, {
      kind: 'permission',
      permission: 'zones.console',
      sessionOnly: false,
    });
    const { id } = await this.nodes.get(principal, node.data.id);
    const auditBase = this.audit.fromRequest(request, {
      action: `node.${kind}.open`,
      targetType: 'node',
      targetId: id,
      outcome: 'success',
      details: { zone },
    });
    let stream: HubStream;
    try {
      stream =
        kind === 'zone.vnc'
          ? await this.nodeStreams.open(id, kind, { zone }, VNC_OPEN_TIMEOUT_MS)
          : await this.nodeStreams.open(id, kind, { zone, ...size.data });
    } catch (err) {
      void this.audit.record({ ...auditBase, outcome: 'failure', details: { zone, reason: (err as Error).message } });
      if (err instanceof StreamOpenError) throw agentCodeError(err.code, err.message);
      throw err;
    }
    void this.audit.record(auditBase);
    return (ws: WebSocket) => relay(ws, stream, { raw: kind === 'zone.vnc' });
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

import { Injectable } from '@nestjs/common';
import type { StreamKind } from '@hostplane/protocol';
import { z } from 'zod';
import type { PermissionKey } from '../access/permissions';
import { AuditService } from '../audit/audit.service';
import { agentCodeError } from '../http/error-catalog';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { StreamOpenError, type HubStream } from '../tunnel/tunnel-streams';
import { WsAccess } from '../ws/ws-access';
import type { WsUpgrade } from '../ws/ws-router';
import { NodesService } from './nodes.service';

/** `?cols=&rows=` of a terminal socket (node terminal, zone console and shell, VM shell). */
export const terminalSizeQuery = z.object({
  cols: z.coerce.number().int().min(1).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
});

export interface NodeSocketRequest {
  nodeId: string;
  permission: PermissionKey;
  kind: StreamKind;
  params: Record<string, unknown>;
  /** The audit action (`node.<kind>.open`) and what it records beside the node. */
  audit: { action: string; details?: Record<string, unknown> };
  openTimeoutMs?: number;
}

/**
 * What every WebSocket onto a node's agent does before it relays a byte: authorize the caller
 * for the permission (closing the socket when that access ends), check the node is in their
 * organization, open the stream on the agent from whichever replica holds it, and audit the
 * outcome either way. Callers check their own names and arguments first, so a refused one
 * never reaches the node.
 */
@Injectable()
export class NodeStreamSockets {
  constructor(
    private readonly access: WsAccess,
    private readonly nodes: NodesService,
    private readonly nodeStreams: NodeStreams,
    private readonly audit: AuditService,
  ) {}

  async open(up: WsUpgrade, r: NodeSocketRequest): Promise<HubStream> {
    const { principal, request } = await this.access.authorize(up, {
      kind: 'permission',
      permission: r.permission,
      sessionOnly: false,
    });
    const { id } = await this.nodes.get(principal, r.nodeId);
    const entry = this.audit.fromRequest(request, {
      action: r.audit.action,
      targetType: 'node',
      targetId: id,
      outcome: 'success',
      ...(r.audit.details ? { details: r.audit.details } : {}),
    });
    let stream: HubStream;
    try {
      stream = await this.nodeStreams.open(id, r.kind, r.params, r.openTimeoutMs);
    } catch (err) {
      void this.audit.record({
        ...entry,
        outcome: 'failure',
        details: { ...r.audit.details, reason: (err as Error).message },
      });
      if (err instanceof StreamOpenError) throw agentCodeError(err.code, err.message);
      throw err;
    }
    void this.audit.record(entry);
    return stream;
  }
}

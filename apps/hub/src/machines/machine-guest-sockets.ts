import { Injectable, OnModuleInit } from '@nestjs/common';
import { checkArgv, checkMachineRef, InvalidHostArgument, type StreamKind } from '@hostplane/protocol';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { HOST_OPERATION_ERRORS } from '../host-operations/host-operations.errors';
import { ValidationFailedError } from '../http/errors';
import { zodIssues } from '../http/validation';
import { NodeStreamSockets, terminalSizeQuery } from '../nodes/node-stream-sockets';
import { nodeIdParams } from '../nodes/nodes.schemas';
import { relay } from '../ws/stream-relay';
import { WsRouter, type WsUpgrade } from '../ws/ws-router';
import { relayExec } from './exec-relay';

const execQuery = z.object({
  current_user: z.enum(['true', 'false']).default('false'),
  timeout_seconds: z.coerce.number().int().min(1).max(3600).default(600),
  max_output_bytes: z.coerce
    .number()
    .int()
    .min(1)
    .max(256 * 1024 * 1024)
    .default(16 * 1024 * 1024),
});

type GuestStreamKind = Extract<StreamKind, 'machine.exec' | 'machine.shell'>;

/**
 * The guest WebSockets of a node's VMs (docs/api/machines.md, "Inside the guest"):
 * `…/machines/:vm/exec/stream?argv=…&argv=…` streams a `prlctl exec` (output by channel, then the
 * exit code) and `…/machines/:vm/shell` is `prlctl enter` in a pty, speaking the node terminal's
 * frames. Both run code in the guest, so both need `machines.execute`; every name and argument is
 * checked before the node is asked; opened from any replica; closed when that access ends.
 */
@Injectable()
export class MachineGuestSockets implements OnModuleInit {
  constructor(
    private readonly router: WsRouter,
    private readonly sockets: NodeStreamSockets,
  ) {}

  onModuleInit(): void {
    this.router.route('/v1/nodes/:id/machines/:vm/exec/stream', (up) => this.open(up, 'machine.exec'));
    this.router.route('/v1/nodes/:id/machines/:vm/shell', (up) => this.open(up, 'machine.shell'));
  }

  private async open(up: WsUpgrade, kind: GuestStreamKind) {
    const node = nodeIdParams.safeParse(up.params);
    if (!node.success) throw new ValidationFailedError('path parameter', zodIssues(node.error));
    // Names and arguments are checked before anything else happens: a refused one never reaches the node.
    const vm = checked(() => checkMachineRef('vm', up.params.vm));
    const params = kind === 'machine.exec' ? execParams(vm, up.query) : shellParams(vm, up.query);
    const stream = await this.sockets.open(up, {
      nodeId: node.data.id,
      permission: 'machines.execute',
      kind,
      params,
      audit: {
        action: `node.${kind}.open`,
        details: kind === 'machine.exec' ? { vm, argv0: (params.argv as string[])[0] } : { vm },
      },
    });
    return (ws: WebSocket) => (kind === 'machine.exec' ? relayExec(ws, stream) : relay(ws, stream));
  }
}

function checked<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof InvalidHostArgument)
      throw HOST_OPERATION_ERRORS.invalid_argument.error(err.message, { field: err.field });
    throw err;
  }
}

function execParams(vm: string, query: URLSearchParams): Record<string, unknown> {
  const argv = checked(() => checkArgv('argv', query.getAll('argv')));
  const rest = execQuery.safeParse({
    ...(query.has('current_user') ? { current_user: query.get('current_user') } : {}),
    ...(query.has('timeout_seconds') ? { timeout_seconds: query.get('timeout_seconds') } : {}),
    ...(query.has('max_output_bytes') ? { max_output_bytes: query.get('max_output_bytes') } : {}),
  });
  if (!rest.success) throw new ValidationFailedError('query', zodIssues(rest.error));
  return { vm, argv, ...rest.data, current_user: rest.data.current_user === 'true' };
}

function shellParams(vm: string, query: URLSearchParams): Record<string, unknown> {
  const size = terminalSizeQuery.safeParse({
    ...(query.has('cols') ? { cols: query.get('cols') } : {}),
    ...(query.has('rows') ? { rows: query.get('rows') } : {}),
  });
  if (!size.success) throw new ValidationFailedError('query', zodIssues(size.error));
  return { vm, ...size.data };
}

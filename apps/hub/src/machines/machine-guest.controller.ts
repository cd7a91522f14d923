import { Controller, Inject, Post, Req, Res } from '@nestjs/common';
import { checkGuestPath, checkMachineRef, InvalidHostArgument } from '@hostplane/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { agentCall, confirmedBytes, FileTooLargeError } from '../files/file-errors';
import { closeAfter } from '../files/files.controller';
import { limitBytes } from '../files/files.service';
import { HOST_OPERATION_ERRORS } from '../host-operations/host-operations.errors';
import { HTTP_ERRORS } from '../http/http.errors';
import { ValidParams, ValidQuery } from '../http/validation';
import { acceptedOperation, operationResponse } from '../jobs/operations.schemas';
import { NodesService } from '../nodes/nodes.service';
import { ApiDoc } from '../openapi/api-doc';
import { pipeIntoStream } from '../tunnel/stream-io';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { machineParams } from './machines.schemas';
import { MachinesService } from './machines.service';

const TAGS = ['machines'];
const uploadQuery = z.object({
  path: z.string().min(1).max(4096).describe('Absolute path of the file in the guest (its directory must exist)'),
});
const uploadResponse = z.object({ vm: z.string(), path: z.string(), size_bytes: z.number().int() });

type Vm = z.infer<typeof machineParams>;

/** A refused name, argument or path is a 400 naming the field, before the node is asked. */
function checked<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof InvalidHostArgument)
      throw HOST_OPERATION_ERRORS.invalid_argument.error(err.message, { field: err.field });
    throw err;
  }
}

/**
 * Inside a VM's guest, over HTTP (docs/api/machines.md, "Inside the guest"): a file uploaded into
 * the guest, and the guest tools installed. The exec stream and the shell are WebSockets
 * (machine-guest-sockets.ts).
 */
@Controller('v1/nodes/:id/machines/:vm')
export class MachineGuestController {
  constructor(
    private readonly machines: MachinesService,
    private readonly nodes: NodesService,
    private readonly nodeStreams: NodeStreams,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  @Post('files')
  @RequirePermission('machines.execute')
  @Audited('node.machine.upload', { target: 'node', param: 'id' })
  @ApiDoc({
    summary: 'Upload a file into the guest: the raw body (application/octet-stream), streamed',
    description:
      'The agent stages the bytes on the host, then the guest tools write them to `path` (`prlctl exec <vm> /bin/sh -c \'cat > "$1"\' sh <path>`, fed on stdin). Bodies over HOSTPLANE_FILES_MAX_UPLOAD_BYTES get 413. The VM must be running with guest tools; the directory must exist. Audited.',
    tags: TAGS,
    idempotencyRefused: 'its body is a stream of file bytes, which is neither kept nor compared; send the file again',
    errors: [
      'invalid_argument',
      'not_found',
      'machine_not_found',
      'machine_not_running',
      'guest_write_failed',
      'file_too_large',
      'unsupported_media_type',
      'node_offline',
    ],
    responses: { 201: { description: 'Written in the guest', schema: uploadResponse } },
  })
  async upload(
    @CurrentPrincipal() p: Principal,
    @ValidParams(machineParams) path: Vm,
    @ValidQuery(uploadQuery) q: z.infer<typeof uploadQuery>,
    @Req() req: FastifyRequest,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    try {
      const vm = checked(() => checkMachineRef('vm', path.vm));
      const target = checked(() => checkGuestPath('path', q.path));
      note.details = { vm, path: target };
      const type = String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      if (type !== 'application/octet-stream')
        throw HTTP_ERRORS.unsupported_media_type.error(
          `send the file as the raw body with Content-Type application/octet-stream (got ${type || 'none'})`,
        );
      const max = this.config.files.maxUploadBytes;
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (declared > max) throw new FileTooLargeError(`the body (${declared} bytes)`, max);
      const { id } = await this.nodes.get(p, path.id);
      const stream = await agentCall(() =>
        this.nodeStreams.open(id, 'machine.upload', { vm, path: target, max_bytes: max }, 60_000),
      );
      const info = await agentCall(() => pipeIntoStream(limitBytes(req.raw, max, target), stream));
      const size = confirmedBytes(info);
      note.details = { vm, path: target, bytes: size };
      return { vm, path: target, size_bytes: size };
    } catch (err) {
      closeAfter(reply, err);
    }
  }

  @Post('tools/install')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'node', param: 'id' })
  @ApiDoc({
    summary: 'Install (or reinstall) Parallels Tools in the running guest (`prlctl installtools`), with progress',
    tags: TAGS,
    errors: ['invalid_argument', 'not_found'],
    responses: {
      202: {
        description: 'Accepted: the operation; its result has `{id, name, guest_tools_before, guest_tools}`',
        schema: operationResponse,
      },
    },
  })
  async installTools(
    @CurrentPrincipal() p: Principal,
    @ValidParams(machineParams) path: Vm,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const op = await this.machines.write(p, path.id, 'machines.tools.install', { vm: path.vm });
    note.details = { operation: 'machines.tools.install', operation_id: op.id, vm: path.vm };
    return acceptedOperation(reply, op);
  }
}

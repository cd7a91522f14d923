import { Controller, Delete, Get, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { acceptedOperation, operationResponse } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import {
  cloneBody,
  execBody,
  lifecycleParams,
  machineParams,
  nodeParams,
  registerBody,
  renameBody,
  setBody,
  snapshotCreateBody,
  snapshotDeleteQuery,
  snapshotParams,
  snapshotSwitchBody,
  stopBody,
} from './machines.schemas';
import { MachinesService } from './machines.service';

const TAGS = ['machines'];
const READ_ERRORS = ['invalid_argument', 'not_found', 'machine_not_found', 'node_offline', 'node_timeout'];
const WRITE_ERRORS = ['invalid_argument', 'not_found'];
const LIVE = { 200: { description: '`{node_id, operation, data}`: the parsed output of prlctl' } };
const ACCEPTED = {
  202: {
    description: 'Accepted: the operation (also at the Location header); its result has `{operation, data}`',
    schema: operationResponse,
  },
};

type Node = z.infer<typeof nodeParams>;
type Vm = z.infer<typeof machineParams>;
type Snap = z.infer<typeof snapshotParams>;

/**
 * The Parallels Desktop VMs of one macOS node (docs/api/machines.md): reads answered live by the
 * agent, every change an operation (202 + Location).
 */
@Controller('v1/nodes/:id/machines')
export class MachinesController {
  constructor(private readonly machines: MachinesService) {}

  private async queue(
    p: Principal,
    node: string,
    operation: string,
    params: Record<string, unknown>,
    note: AuditNote,
    reply: FastifyReply,
  ) {
    const op = await this.machines.write(p, node, operation, params);
    note.details = { operation, operation_id: op.id, vm: params.vm ?? null };
    return acceptedOperation(reply, op);
  }

  @Get()
  @RequirePermission('machines.read')
  @ApiDoc({
    summary: 'The VMs of the node (`prlctl list -a -i --json`)',
    tags: TAGS,
    errors: READ_ERRORS,
    responses: LIVE,
  })
  list(@CurrentPrincipal() p: Principal, @ValidParams(nodeParams) path: Node) {
    return this.machines.read(p, path.id, 'machines.list', {});
  }

  @Get('host')
  @RequirePermission('machines.read')
  @ApiDoc({
    summary:
      'The Parallels Desktop of the node: version, license state, VM home, users (`prlsrvctl info`, `user list`)',
    tags: TAGS,
    errors: READ_ERRORS,
    responses: LIVE,
  })
  host(@CurrentPrincipal() p: Principal, @ValidParams(nodeParams) path: Node) {
    return this.machines.read(p, path.id, 'machines.host', {});
  }

  @Post('register')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'node', param: 'id' })
  @ApiDoc({ summary: 'Register a VM bundle on the node', tags: TAGS, errors: WRITE_ERRORS, responses: ACCEPTED })
  register(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeParams) path: Node,
    @ValidBody(registerBody) body: z.infer<typeof registerBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.queue(p, path.id, 'machines.register', body, note, reply);
  }

  @Get(':vm')
  @RequirePermission('machines.read')
  @ApiDoc({
    summary: 'One VM: state, OS, hardware, guest tools, network addresses',
    tags: TAGS,
    errors: READ_ERRORS,
    responses: LIVE,
  })
  get(@CurrentPrincipal() p: Principal, @ValidParams(machineParams) path: Vm) {
    return this.machines.read(p, path.id, 'machines.get', { vm: path.vm });
  }

  @Get(':vm/status')
  @RequirePermission('machines.read')
  @ApiDoc({ summary: "A VM's state and addresses", tags: TAGS, errors: READ_ERRORS, responses: LIVE })
  status(@CurrentPrincipal() p: Principal, @ValidParams(machineParams) path: Vm) {
    return this.machines.read(p, path.id, 'machines.status', { vm: path.vm });
  }

  @Post(':vm/stop')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'node', param: 'id' })
  @ApiDoc({
    summary: 'Stop a VM: ACPI shutdown, or `kill` (power off), or `drop_state` (a suspended VM)',
    tags: TAGS,
    errors: WRITE_ERRORS,
    responses: ACCEPTED,
  })
  stop(
    @CurrentPrincipal() p: Principal,
    @ValidParams(machineParams) path: Vm,
    @ValidBody(stopBody) body: z.infer<typeof stopBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.queue(p, path.id, 'machines.stop', { vm: path.vm, ...body }, note, reply);
  }

  @Post(':vm/rename')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'node', param: 'id' })
  @ApiDoc({ summary: 'Rename a VM', tags: TAGS, errors: WRITE_ERRORS, responses: ACCEPTED })
  rename(
    @CurrentPrincipal() p: Principal,
    @ValidParams(machineParams) path: Vm,
    @ValidBody(renameBody) body: z.infer<typeof renameBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.queue(p, path.id, 'machines.rename', { vm: path.vm, ...body }, note, reply);
  }

  @Post(':vm/set')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'node', param: 'id' })
  @ApiDoc({
    summary: 'Configure a VM: cpus, memory_mb, description, boot_order',
    tags: TAGS,
    errors: WRITE_ERRORS,
    responses: ACCEPTED,
  })
  set(
    @CurrentPrincipal() p: Principal,
    @ValidParams(machineParams) path: Vm,
    @ValidBody(setBody) body: z.infer<typeof setBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.queue(p, path.id, 'machines.set', { vm: path.vm, ...body }, note, reply);
  }

  @Post(':vm/clone')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'node', param: 'id' })
  @ApiDoc({ summary: 'Clone a VM (full, or linked)', tags: TAGS, errors: WRITE_ERRORS, responses: ACCEPTED })
  clone(
    @CurrentPrincipal() p: Principal,
    @ValidParams(machineParams) path: Vm,
    @ValidBody(cloneBody) body: z.infer<typeof cloneBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.queue(p, path.id, 'machines.clone', { vm: path.vm, ...body }, note, reply);
  }

  @Post(':vm/exec')
  @RequirePermission('machines.execute')
  @Audited('node.machine.exec', { target: 'node', param: 'id' })
  @ApiDoc({
    summary: 'Run a command in the guest (argv form); the result has `exit_code`, `stdout`, `stderr`',
    tags: TAGS,
    errors: WRITE_ERRORS,
    responses: ACCEPTED,
  })
  exec(
    @CurrentPrincipal() p: Principal,
    @ValidParams(machineParams) path: Vm,
    @ValidBody(execBody) body: z.infer<typeof execBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.queue(p, path.id, 'machines.exec', { vm: path.vm, argv: body.argv }, note, reply);
  }

  @Delete(':vm')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'node', param: 'id' })
  @ApiDoc({ summary: 'Delete a stopped VM and its files', tags: TAGS, errors: WRITE_ERRORS, responses: ACCEPTED })
  delete(
    @CurrentPrincipal() p: Principal,
    @ValidParams(machineParams) path: Vm,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.queue(p, path.id, 'machines.delete', { vm: path.vm }, note, reply);
  }

  @Get(':vm/snapshots')
  @RequirePermission('machines.read')
  @ApiDoc({ summary: "A VM's snapshots, flat and as a tree", tags: TAGS, errors: READ_ERRORS, responses: LIVE })
  snapshots(@CurrentPrincipal() p: Principal, @ValidParams(machineParams) path: Vm) {
    return this.machines.read(p, path.id, 'machines.snapshots.list', { vm: path.vm });
  }

  @Post(':vm/snapshots')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'node', param: 'id' })
  @ApiDoc({
    summary: 'Take a snapshot; the result has its `id`',
    tags: TAGS,
    errors: WRITE_ERRORS,
    responses: ACCEPTED,
  })
  createSnapshot(
    @CurrentPrincipal() p: Principal,
    @ValidParams(machineParams) path: Vm,
    @ValidBody(snapshotCreateBody) body: z.infer<typeof snapshotCreateBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.queue(p, path.id, 'machines.snapshots.create', { vm: path.vm, ...body }, note, reply);
  }

  @Delete(':vm/snapshots/:snapshot')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'node', param: 'id' })
  @ApiDoc({
    summary: 'Delete a snapshot (`?children=true`: with its children)',
    tags: TAGS,
    errors: WRITE_ERRORS,
    responses: ACCEPTED,
  })
  deleteSnapshot(
    @CurrentPrincipal() p: Principal,
    @ValidParams(snapshotParams) path: Snap,
    @ValidQuery(snapshotDeleteQuery) query: z.infer<typeof snapshotDeleteQuery>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const params = {
      vm: path.vm,
      snapshot: path.snapshot,
      ...(query.children ? { children: query.children === 'true' } : {}),
    };
    return this.queue(p, path.id, 'machines.snapshots.delete', params, note, reply);
  }

  @Post(':vm/snapshots/:snapshot/switch')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'node', param: 'id' })
  @ApiDoc({ summary: 'Revert the VM to a snapshot', tags: TAGS, errors: WRITE_ERRORS, responses: ACCEPTED })
  switchSnapshot(
    @CurrentPrincipal() p: Principal,
    @ValidParams(snapshotParams) path: Snap,
    @ValidBody(snapshotSwitchBody) body: z.infer<typeof snapshotSwitchBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.queue(
      p,
      path.id,
      'machines.snapshots.switch',
      { vm: path.vm, snapshot: path.snapshot, ...body },
      note,
      reply,
    );
  }

  @Post(':vm/:action')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'node', param: 'id' })
  @ApiDoc({
    summary: 'start, suspend, resume, pause, reset, restart or unregister a VM',
    tags: TAGS,
    errors: WRITE_ERRORS,
    responses: ACCEPTED,
  })
  lifecycle(
    @CurrentPrincipal() p: Principal,
    @ValidParams(lifecycleParams) path: z.infer<typeof lifecycleParams>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.queue(p, path.id, `machines.${path.action}`, { vm: path.vm }, note, reply);
  }
}

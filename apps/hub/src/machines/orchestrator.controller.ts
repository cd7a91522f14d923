import { Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { acceptedOperation, operationResponse } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import { WORKLOAD_ERRORS } from '../workloads/workloads.errors';
import { MachineOrchestrator } from './machine-orchestrator.service';
import { normalizeArch, type PlacementRequest } from './machine-placement';
import { MachinesService } from './machines.service';
import { hostLogsQuery, nodeParams, placedMachineBody, placementBody } from './machines.schemas';

const TAGS = ['machines'];
const LIVE_ERRORS = ['invalid_argument', 'not_found', 'node_offline', 'node_timeout'];

function placementRequest(body: z.infer<typeof placementBody>): PlacementRequest {
  if ('catalog' in body.source) throw WORKLOAD_ERRORS.catalog_unavailable.error();
  return {
    source: { kind: 'vm', name: body.source.vm },
    architecture: body.architecture ? (normalizeArch(body.architecture) as 'arm64' | 'x86_64') : null,
    cpus: body.cpus,
    memory_mb: body.memory_mb,
    disk_mb: body.disk_mb ?? null,
    os: body.os ?? null,
    tags: body.tags,
  };
}

/**
 * The orchestrator views (docs/api/machines.md, "Orchestrator"): resources across hosts and per
 * host from the node inventories, a VM created "somewhere", and a host's hardware and service log.
 * Hosts are enabled and disabled with the nodes' uncordon and cordon.
 */
@Controller('v1')
export class OrchestratorController {
  constructor(
    private readonly orchestrator: MachineOrchestrator,
    private readonly machines: MachinesService,
  ) {}

  @Get('machines/resources')
  @RequirePermission('machines.read')
  @ApiDoc({
    summary:
      'Resources of every Parallels host of the organization: total, used (running VMs), reserved (every VM), free CPU/memory/disk, VM counts by state; and each host’s',
    tags: TAGS,
    errors: [],
    responses: { 200: { description: '`{total, used, reserved, free, machines, hosts_count, hosts}`' } },
  })
  overview(@CurrentPrincipal() p: Principal) {
    return this.orchestrator.overview(p);
  }

  @Post('machines/placement')
  @HttpCode(200)
  @RequirePermission('machines.read')
  @ApiDoc({
    summary:
      'Where POST /v1/machines would put this VM, and why each other host would not take it (nothing is created)',
    tags: TAGS,
    errors: ['validation_failed', 'catalog_unavailable'],
    responses: { 200: { description: '`{chosen, rejected}`: chosen is null when no host fits' } },
  })
  async placement(@CurrentPrincipal() p: Principal, @ValidBody(placementBody) body: z.infer<typeof placementBody>) {
    return this.orchestrator.place(p, placementRequest(body));
  }

  @Post('machines')
  @RequirePermission('machines.manage')
  @Audited('node.machine.operation', { target: 'machine' })
  @ApiDoc({
    summary:
      'Create a VM on whichever host fits (architecture, tags, cordon, licence limits, free resources; hosts holding the source first): a clone there',
    tags: TAGS,
    errors: ['validation_failed', 'invalid_argument', 'catalog_unavailable', 'no_node_fits'],
    responses: {
      202: {
        description: 'Accepted: the clone operation (also at the Location header), with `placement`',
        schema: operationResponse,
      },
    },
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidBody(placedMachineBody) body: z.infer<typeof placedMachineBody>,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { operation, placement } = await this.orchestrator.create(p, {
      ...placementRequest(body),
      name: body.name,
      linked: body.linked,
    });
    note.details = {
      operation: 'machines.clone',
      operation_id: operation.id,
      node_id: placement.node_id,
      name: body.name,
    };
    return { ...acceptedOperation(reply, operation), placement };
  }

  @Get('nodes/:id/machines/resources')
  @RequirePermission('machines.read')
  @ApiDoc({
    summary: 'Resources of one Parallels host, from its inventory (see GET /v1/machines/resources)',
    tags: TAGS,
    errors: ['not_found'],
    responses: { 200: { description: 'The host’s total, used, reserved, free, machines and licence' } },
  })
  host(@CurrentPrincipal() p: Principal, @ValidParams(nodeParams) path: z.infer<typeof nodeParams>) {
    return this.orchestrator.host(p, path.id);
  }

  @Get('nodes/:id/machines/host/hardware')
  @RequirePermission('machines.read')
  @ApiDoc({
    summary:
      'The Mac’s hardware, read live: architecture, CPU model and count, memory, the VM home volume, Parallels’ devices, licence terms',
    tags: TAGS,
    errors: LIVE_ERRORS,
    responses: { 200: { description: '`{node_id, operation, data}`' } },
  })
  hardware(@CurrentPrincipal() p: Principal, @ValidParams(nodeParams) path: z.infer<typeof nodeParams>) {
    return this.machines.read(p, path.id, 'machines.host.hardware', {});
  }

  @Get('nodes/:id/machines/host/logs')
  @RequirePermission('machines.read')
  @ApiDoc({
    summary:
      'The last lines of the Parallels Desktop service log, from one bounded read (at most 512 KiB) on the agent',
    tags: TAGS,
    errors: LIVE_ERRORS,
    responses: { 200: { description: '`{node_id, operation, data: {file, exists, size_bytes, lines, truncated}}`' } },
  })
  logs(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeParams) path: z.infer<typeof nodeParams>,
    @ValidQuery(hostLogsQuery) query: z.infer<typeof hostLogsQuery>,
  ) {
    return this.machines.read(p, path.id, 'machines.host.logs', query.lines ? { lines: query.lines } : {});
  }
}

import { Controller, Delete, Get, Post, Put, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { JOB_KINDS } from '@hostplane/protocol';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { pageOf } from '../http/pagination';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import type { OperationEntity } from '../jobs/operation.entity';
import { acceptedOperation } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import type { InstanceEntity } from './instance.entity';
import { InstanceQueries } from './instance-queries';
import {
  createInstanceBody,
  instanceAccepted,
  instanceIdParams,
  instanceResponse,
  killBody,
  listInstancesQuery,
  presentInstance,
  updateInstanceBody,
} from './instances.schemas';
import { InstancesService } from './instances.service';
import { UpgradeRequiredError } from '../ws/ws-access';

type IdParams = z.infer<typeof instanceIdParams>;
const TAGS = ['instances'];
const ACCEPTED = {
  202: { description: 'Accepted: the operation (Location header) with the instance', schema: instanceAccepted },
};
const logsQuery = z.object({ lines: z.coerce.number().int().min(1).max(10_000).default(200) });
/** What the agent answers for `instance.logs`: the instance and its last lines, oldest first. */
const logsResponse = JOB_KINDS['instance.logs'].result;

function accepted(reply: FastifyReply, r: { instance: InstanceEntity; operation: OperationEntity }) {
  return { ...acceptedOperation(reply, r.operation), instance: presentInstance(r.instance) };
}

@Controller('v1/instances')
export class InstancesController {
  constructor(
    private readonly instances: InstancesService,
    private readonly queries: InstanceQueries,
  ) {}

  @Get()
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'List instances, by node, state or workload',
    tags: TAGS,
    responses: { 200: { description: 'A page of instances', schema: pageOf(instanceResponse) } },
  })
  async list(@CurrentPrincipal() p: Principal, @ValidQuery(listInstancesQuery) q: z.infer<typeof listInstancesQuery>) {
    const page = await this.instances.list(p, q);
    return { data: page.data.map(presentInstance), total: page.total };
  }

  @Post()
  @RequirePermission('instances.create')
  @ApiDoc({
    summary:
      'Create an instance of a workload: on the given node or where the scheduler places it, then install (and start) it',
    tags: TAGS,
    errors: ['no_node_fits', 'name_taken'],
    responses: { ...ACCEPTED },
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidBody(createInstanceBody) body: z.infer<typeof createInstanceBody>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return accepted(reply, await this.instances.create(p, body));
  }

  @Get(':id')
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'One instance: desired and actual state (with the reason), node, variables, resources, ports',
    tags: TAGS,
    responses: { 200: { description: 'The instance', schema: instanceResponse } },
  })
  async get(@CurrentPrincipal() p: Principal, @ValidParams(instanceIdParams) params: IdParams) {
    return presentInstance(await this.instances.get(p, params.id));
  }

  @Put(':id')
  @RequirePermission('instances.manage')
  @ApiDoc({
    summary: 'Change variables or resources; applied on the host, effective at the next start',
    tags: TAGS,
    responses: ACCEPTED,
  })
  async update(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: IdParams,
    @ValidBody(updateInstanceBody) body: z.infer<typeof updateInstanceBody>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return accepted(reply, await this.instances.update(p, params.id, body));
  }

  @Delete(':id')
  @RequirePermission('instances.delete')
  @ApiDoc({ summary: 'Stop the instance and remove it and its data from the host', tags: TAGS, responses: ACCEPTED })
  async remove(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: IdParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return accepted(reply, await this.instances.remove(p, params.id));
  }

  @Post(':id/start')
  @RequirePermission('instances.manage')
  @ApiDoc({ summary: 'Start the instance', tags: TAGS, responses: ACCEPTED })
  async start(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: IdParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return accepted(reply, await this.instances.act(p, params.id, 'start'));
  }

  @Post(':id/stop')
  @RequirePermission('instances.manage')
  @ApiDoc({
    summary: "Stop with the workload's signal or console command, SIGKILL after the grace period",
    tags: TAGS,
    responses: ACCEPTED,
  })
  async stop(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: IdParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return accepted(reply, await this.instances.act(p, params.id, 'stop'));
  }

  @Post(':id/restart')
  @RequirePermission('instances.manage')
  @ApiDoc({ summary: 'Stop, then start', tags: TAGS, responses: ACCEPTED })
  async restart(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: IdParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return accepted(reply, await this.instances.act(p, params.id, 'restart'));
  }

  @Post(':id/kill')
  @RequirePermission('instances.manage')
  @ApiDoc({ summary: 'Send a signal now (default SIGKILL)', tags: TAGS, responses: ACCEPTED })
  async kill(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: IdParams,
    @ValidBody(killBody.partial().default({})) body: Partial<z.infer<typeof killBody>>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return accepted(reply, await this.instances.act(p, params.id, 'kill', body.signal));
  }

  @Get(':id/console')
  @RequirePermission('instances.console')
  @ApiDoc({
    summary: 'Interactive console of the instance (WebSocket)',
    description:
      'On connect two text frames: {"type":"scrollback","lines":[…]} (the last ?scrollback= lines, default HOSTPLANE_CONSOLE_SCROLLBACK_LINES) and {"type":"live","tty":…}; then output as binary frames. Binary or text frames go to its stdin (text starting with "{" may be {"type":"input","data":…} or {"type":"resize","cols","rows"}, honoured on docker ttys). ?protocol=wings speaks Pterodactyl Wings\' {"event","args"} framing. See docs/api/console.md. Audited.',
    tags: TAGS,
    websocket: true,
    errors: ['node_offline', 'start_failed', 'upgrade_required'],
    responses: { 101: { description: 'Switching protocols' } },
  })
  console(@ValidParams(instanceIdParams) _params: IdParams): never {
    throw new UpgradeRequiredError();
  }

  @Get(':id/logs')
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'Live output of the instance (WebSocket): the last `tail` lines, then new ones',
    tags: TAGS,
    websocket: true,
    errors: ['node_offline', 'upgrade_required'],
    responses: { 101: { description: 'Switching protocols' } },
  })
  liveLogs(@ValidParams(instanceIdParams) _params: IdParams): never {
    throw new UpgradeRequiredError();
  }

  @Get(':id/stats')
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'CPU, memory, disk and network of the instance, measured now on its node',
    tags: TAGS,
    errors: ['node_offline', 'node_timeout'],
    responses: { 200: { description: 'Stats' } },
  })
  async stats(@CurrentPrincipal() p: Principal, @ValidParams(instanceIdParams) params: IdParams) {
    return this.queries.ask(p, await this.instances.get(p, params.id), {
      kind: 'instance.stats',
      payload: { instance_id: params.id },
    });
  }

  @Get(':id/logs/history')
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: "The last lines of the instance's output",
    tags: TAGS,
    responses: { 200: { description: 'Lines, oldest first', schema: logsResponse } },
  })
  async logs(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: IdParams,
    @ValidQuery(logsQuery) q: z.infer<typeof logsQuery>,
  ) {
    return this.queries.ask(p, await this.instances.get(p, params.id), {
      kind: 'instance.logs',
      payload: { instance_id: params.id, lines: q.lines, source: 'output' },
    });
  }

  @Get(':id/install-logs')
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: "Output of the instance's install script",
    tags: TAGS,
    responses: { 200: { description: 'Lines, oldest first', schema: logsResponse } },
  })
  async installLogs(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: IdParams,
    @ValidQuery(logsQuery) q: z.infer<typeof logsQuery>,
  ) {
    return this.queries.ask(p, await this.instances.get(p, params.id), {
      kind: 'instance.logs',
      payload: { instance_id: params.id, lines: q.lines, source: 'install' },
    });
  }
}

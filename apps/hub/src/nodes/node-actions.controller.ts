import { Controller, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { JOB_KINDS } from '@hostplane/protocol';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { ValidBody, ValidParams } from '../http/validation';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { actorOf } from '../jobs/operation-actor';
import { acceptedOperation, operationResponse } from '../jobs/operations.schemas';
import { ApiDoc } from '../openapi/api-doc';
import { nodeIdParams } from './nodes.schemas';
import { NodesService } from './nodes.service';

const killParams = nodeIdParams.extend({ pid: z.coerce.number().int().min(2, { message: 'pid must be 2 or more' }) });
const killBody = z.object({ signal: JOB_KINDS['node.process.kill'].payload.shape.signal }).strict();
const selftestBody = JOB_KINDS['agent.selftest'].payload.strict();
const TAGS = ['nodes'];
const ACCEPTED = {
  202: { description: 'Accepted: the operation (also at the Location header)', schema: operationResponse },
};

/** Host work on a node: each answers 202 with the operation that carries it. */
@Controller('v1/nodes/:id')
export class NodeActionsController {
  constructor(
    private readonly nodes: NodesService,
    private readonly jobs: JobDispatcher,
  ) {}

  @Post('processes/:pid/kill')
  @RequirePermission('nodes.manage')
  @ApiDoc({ summary: 'Send a signal (default SIGTERM) to a process on the host', tags: TAGS, responses: ACCEPTED })
  async kill(
    @CurrentPrincipal() p: Principal,
    @ValidParams(killParams) params: z.infer<typeof killParams>,
    @ValidBody(killBody.partial().default({})) body: Partial<z.infer<typeof killBody>>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const node = await this.nodes.get(p, params.id);
    const op = await this.jobs.enqueue(
      { orgId: node.orgId, nodeId: node.id, actor: actorOf(p), resources: [`/v1/nodes/${node.id}`] },
      { kind: 'node.process.kill', payload: { pid: params.pid, signal: body.signal } },
    );
    return acceptedOperation(reply, op);
  }

  @Post('selftest')
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary: "Run the agent's self-test job: proves the path API → queue → tunnel → agent → result",
    description:
      "Appends a line to the agent's self-test log (once per operation id, whatever happens), after `delay_ms`, reporting progress in `steps`.",
    tags: TAGS,
    responses: ACCEPTED,
  })
  async selftest(
    @CurrentPrincipal() p: Principal,
    @ValidParams(nodeIdParams) params: z.infer<typeof nodeIdParams>,
    @ValidBody(selftestBody.extend({ deadline_seconds: z.number().int().min(1).max(86_400).optional() }))
    body: z.infer<typeof selftestBody> & { deadline_seconds?: number },
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const node = await this.nodes.get(p, params.id);
    const { deadline_seconds, ...payload } = body;
    const op = await this.jobs.enqueue(
      { orgId: node.orgId, nodeId: node.id, actor: actorOf(p), deadlineSeconds: deadline_seconds },
      { kind: 'agent.selftest', payload },
    );
    return acceptedOperation(reply, op);
  }
}

import { Controller, Get, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, type AuditNote, Audited } from '../audit/audit-note';
import { pageOf } from '../http/pagination';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import {
  createDeploymentBody,
  type CreateDeploymentBody,
  deploymentIdParams,
  deploymentResponse,
  type DeploymentResponse,
  listDeploymentsQuery,
  presentDeployment,
} from './deploy.schemas';
import { DeployService } from './deploy.service';

const TAGS = ['deploy'];

@Controller('v1/deploy')
export class DeployController {
  constructor(private readonly deploy: DeployService) {}

  @Get()
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: "The organization's deployments, newest first, each with its instance's state",
    tags: TAGS,
    responses: { 200: { description: 'A page of deployments', schema: pageOf(deploymentResponse) } },
  })
  async list(
    @CurrentPrincipal() p: Principal,
    @ValidQuery(listDeploymentsQuery) q: z.infer<typeof listDeploymentsQuery>,
  ) {
    const page = await this.deploy.list(p, q);
    return { data: page.data.map((d) => presentDeployment(d.deployment, d.instance)), total: page.total };
  }

  @Post()
  @RequirePermission('instances.create')
  @Audited('deployment.create', { target: 'deployment' })
  @ApiDoc({
    summary:
      'Deploy in one call: from a template, an existing workload or a Pterodactyl egg, to an installed (and started) instance',
    description:
      'Give exactly one of `template` (id from GET /v1/templates), `workload_id` or `egg`. A template or an egg becomes a new workload named `workload_name` (default `name`). ' +
      'The instance is placed on `node_id` or by the scheduler, installed, then started when `start` is true (the default). ' +
      'Answers 202 with the deployment (Location: /v1/deploy/{id}); follow its `status` there or with `deployment.status` events. A refused request changes nothing.',
    tags: TAGS,
    errors: ['validation_failed', 'invalid_variables', 'invalid_egg', 'not_found', 'name_taken', 'no_node_fits'],
    responses: {
      202: { description: 'Accepted: the deployment', schema: deploymentResponse },
      404: { description: 'Unknown template or workload' },
    },
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidBody(createDeploymentBody) body: CreateDeploymentBody,
    @Audit() note: AuditNote,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DeploymentResponse> {
    const created = await this.deploy.create(p, body);
    note.targetId = created.id;
    note.details = {
      source: created.source,
      template: created.template,
      workload_id: created.workloadId,
      instance_id: created.instanceId,
    };
    const { deployment, instance } = await this.deploy.get(p, created.id);
    void reply.status(202).header('location', `/v1/deploy/${deployment.id}`);
    return presentDeployment(deployment, instance);
  }

  @Get(':id')
  @RequirePermission('instances.view')
  @ApiDoc({
    summary: 'One deployment: its status (with the error of the step that failed) and its instance as it is now',
    tags: TAGS,
    errors: ['not_found'],
    responses: { 200: { description: 'The deployment', schema: deploymentResponse } },
  })
  async get(
    @CurrentPrincipal() p: Principal,
    @ValidParams(deploymentIdParams) params: z.infer<typeof deploymentIdParams>,
  ): Promise<DeploymentResponse> {
    const { deployment, instance } = await this.deploy.get(p, params.id);
    return presentDeployment(deployment, instance);
  }
}

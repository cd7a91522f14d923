import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { Authenticated, CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { ValidBody } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { TEMPLATES } from '../workloads/templates';
import {
  plannerTemplatePage,
  placementResponse,
  recommendBody,
  type RecommendBody,
  recommendResponse,
  suggestFitBody,
  type SuggestFitBody,
} from './planner.schemas';
import { PlannerService } from './planner.service';

const TAGS = ['planner'];

@Controller('v1/planner')
export class PlannerController {
  constructor(private readonly planner: PlannerService) {}

  @Post('suggest-fit')
  @HttpCode(200)
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary: "Which of the organization's nodes would take a workload, best first, and why the others would not",
    description:
      'Filters: online, schedulable (not cordoned or draining), driver available, every node label matches, enough free CPU, memory and disk. binpack (default) prefers the fullest node that fits, spread the emptiest. Nothing is reserved.',
    tags: TAGS,
    errors: ['not_found'],
    responses: {
      200: { description: 'The placement with explanations', schema: placementResponse },
      404: { description: 'Unknown workload' },
    },
  })
  suggestFit(@CurrentPrincipal() p: Principal, @ValidBody(suggestFitBody) body: SuggestFitBody) {
    return this.planner.suggestFit(p, body);
  }

  @Post('recommend')
  @HttpCode(200)
  @RequirePermission('nodes.view')
  @ApiDoc({
    summary:
      'A recommended size for a workload or template, how many nodes fit each size, and where the recommended one would go',
    tags: TAGS,
    errors: ['not_found'],
    responses: {
      200: { description: 'The recommendation', schema: recommendResponse },
      404: { description: 'Unknown workload, template or size' },
    },
  })
  recommend(@CurrentPrincipal() p: Principal, @ValidBody(recommendBody) body: RecommendBody) {
    return this.planner.recommend(p, body);
  }

  @Get('templates')
  @Authenticated()
  @ApiDoc({
    summary: 'Templates the planner sizes, with their sizes',
    tags: TAGS,
    responses: { 200: { description: 'Every template', schema: plannerTemplatePage } },
  })
  templates() {
    const data = TEMPLATES.map((t) => ({
      id: t.id,
      name: t.name,
      category: t.category,
      driver: t.spec.driver,
      default_size: t.default_size,
      sizes: t.sizes.map((s) => ({ name: s.name, resources: s.resources, note: s.note })),
    }));
    return { data, total: data.length };
  }
}

import { Controller, Get } from '@nestjs/common';
import { z } from 'zod';
import { Authenticated } from '../access/access.decorators';
import { ValidParams } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { TEMPLATE_CATEGORIES, TEMPLATES, templatesIn, type TemplateCategory } from './templates';
import { presentTemplate, templateCategoryParams, templatePage } from './workload-api.schemas';
import { TemplateNotFoundError } from './workloads.service';

const TAGS = ['templates'];

/** The template catalogue is the same for everyone, so any signed-in caller may read it. */
@Controller('v1/templates')
export class TemplatesController {
  @Get()
  @Authenticated()
  @ApiDoc({
    summary: 'Workload templates of every category (games, web, runtime, database), with their sizes and specs',
    description: 'Create a workload from one with POST /v1/workloads/from-template.',
    tags: TAGS,
    responses: { 200: { description: 'Every template', schema: templatePage } },
  })
  list() {
    return { data: TEMPLATES.map(presentTemplate), total: TEMPLATES.length };
  }

  @Get(':category')
  @Authenticated()
  @ApiDoc({
    summary: 'Templates of one category',
    tags: TAGS,
    errors: ['not_found'],
    responses: {
      200: { description: 'The templates', schema: templatePage },
      404: { description: 'Unknown category' },
    },
  })
  byCategory(@ValidParams(templateCategoryParams) params: z.infer<typeof templateCategoryParams>) {
    if (!(TEMPLATE_CATEGORIES as readonly string[]).includes(params.category))
      throw new TemplateNotFoundError('template category', params.category);
    const list = templatesIn(params.category as TemplateCategory);
    return { data: list.map(presentTemplate), total: list.length };
  }
}

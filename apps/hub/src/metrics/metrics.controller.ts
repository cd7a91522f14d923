import { Controller, Get, Res } from '@nestjs/common';
import { Public } from '../access/access.decorators';
import type { FastifyReply } from 'fastify';
import { ApiDoc } from '../openapi/api-doc';
import { MetricsService } from './metrics.service';

@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get('metrics')
  @Public()
  @ApiDoc({
    summary: 'Prometheus metrics (request durations by route and status, process metrics)',
    tags: ['meta'],
    public: true,
    responses: { 200: { description: 'Prometheus text exposition format', contentType: 'text/plain' } },
  })
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.registry.metrics();
    void reply.type(this.metrics.registry.contentType).send(body);
  }
}

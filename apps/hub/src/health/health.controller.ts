import { Controller, Get } from '@nestjs/common';
import { Public } from '../access/access.decorators';
import { z } from 'zod';
import { ServiceUnavailableError } from '../http/errors';
import { ApiDoc } from '../openapi/api-doc';
import { HealthService } from './health.service';

const dependency = z.object({ status: z.enum(['up', 'down']), latency_ms: z.number(), error: z.string().optional() });
const liveResponse = z.object({ status: z.literal('ok'), uptime_seconds: z.number() });
const readyResponse = z.object({
  status: z.literal('ready'),
  checks: z.object({ postgres: dependency, redis: dependency }),
});
const detailedResponse = z.object({
  status: z.enum(['ready', 'degraded']),
  uptime_seconds: z.number(),
  versions: z.record(z.string(), z.string().nullable()),
  checks: z.object({ postgres: dependency, redis: dependency }),
  process: z.object({ pid: z.number(), rss_bytes: z.number(), heap_used_bytes: z.number() }),
});

@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('health')
  @Public()
  @ApiDoc({
    summary: 'Liveness summary (same as /health/live)',
    tags: ['health'],
    public: true,
    responses: { 200: { description: 'Process is up', schema: liveResponse } },
  })
  summary(): z.infer<typeof liveResponse> {
    return this.live();
  }

  @Get('health/live')
  @Public()
  @ApiDoc({
    summary: 'Liveness: the process answers',
    tags: ['health'],
    public: true,
    responses: { 200: { description: 'Process is up', schema: liveResponse } },
  })
  live(): z.infer<typeof liveResponse> {
    return { status: 'ok', uptime_seconds: this.health.uptimeSeconds() };
  }

  @Get(['health/ready', 'ready'])
  @Public()
  @ApiDoc({
    summary: 'Readiness: PostgreSQL and Redis are reachable',
    tags: ['health'],
    public: true,
    errors: ['not_ready'],
    responses: {
      200: { description: 'Ready', schema: readyResponse },
      503: { description: 'A dependency is down; `checks` says which' },
    },
  })
  async ready(): Promise<z.infer<typeof readyResponse>> {
    const checks = await this.health.checkDependencies();
    const down = Object.entries(checks)
      .filter(([, c]) => c.status === 'down')
      .map(([name]) => name);
    if (down.length)
      throw new ServiceUnavailableError(`not ready: ${down.join(' and ')} unreachable`, 'not_ready', { checks });
    return { status: 'ready', checks };
  }

  @Get('health/detailed')
  @Public()
  @ApiDoc({
    summary: 'Versions, uptime and dependency latencies',
    tags: ['health'],
    public: true,
    responses: { 200: { description: 'Details', schema: detailedResponse } },
  })
  async detailed(): Promise<z.infer<typeof detailedResponse>> {
    const [checks, versions] = await Promise.all([this.health.checkDependencies(), this.health.versions()]);
    const mem = process.memoryUsage();
    return {
      status: checks.postgres.status === 'up' && checks.redis.status === 'up' ? 'ready' : 'degraded',
      uptime_seconds: this.health.uptimeSeconds(),
      versions,
      checks,
      process: { pid: process.pid, rss_bytes: mem.rss, heap_used_bytes: mem.heapUsed },
    };
  }
}

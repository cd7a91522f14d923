import { Controller, Get } from '@nestjs/common';
import { z } from 'zod';
import { CurrentPrincipal, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { InstanceMetricsService } from './instance-metrics.service';
import { instanceIdParams } from './instances.schemas';
import { InstancesService } from './instances.service';
import { isoDateTime } from '../http/fields';

export const instanceMetricsQuery = z
  .object({
    from: isoDateTime().optional().describe('Start (ISO 8601); default one hour before `to`'),
    to: isoDateTime().optional().describe('End (ISO 8601); default now'),
    resolution: z
      .enum(['raw', '5m'])
      .optional()
      .describe(
        '`raw`: the samples as sent every metrics interval; `5m`: 5-minute averages. Default: raw while the range is within the raw retention',
      ),
    step: z.coerce
      .number()
      .int()
      .min(1)
      .max(86_400)
      .optional()
      .describe('Bucket width in seconds; default fits ~300 points (a multiple of 300 for 5m)'),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
    message: 'from must be before to',
    path: ['from'],
  });

const nullableNumber = z.number().nullable();
export const instanceMetricsPoint = z.object({
  ts: z.string(),
  samples: z.number().int(),
  cpu_percent: z.number(),
  cpu_percent_max: z.number(),
  memory_bytes: z.number(),
  memory_bytes_max: z.number(),
  memory_limit_bytes: nullableNumber.describe('Null when the instance has no memory limit'),
  disk_bytes: z.number(),
  net_rx_bps: z.number(),
  net_tx_bps: z.number(),
});
export const instanceMetricsResponse = z.object({
  instance_id: z.uuid(),
  from: z.string(),
  to: z.string(),
  step: z.number().int(),
  source: z.enum(['raw', 'rollup_5m']),
  points: z.array(instanceMetricsPoint),
});

@Controller('v1/instances/:id')
export class InstanceMetricsController {
  constructor(
    private readonly instances: InstancesService,
    private readonly metrics: InstanceMetricsService,
  ) {}

  @Get('metrics/history')
  @RequirePermission('instances.view')
  @ApiDoc({
    summary:
      'CPU, memory, disk and network of the instance over time, from the samples its node sends every metrics interval',
    description:
      'Raw samples are kept for `metrics.rawRetentionHours`, 5-minute averages for `metrics.rollupRetentionDays` (the node metrics retentions).',
    tags: ['instances'],
    errors: ['validation_failed', 'not_found'],
    responses: { 200: { description: 'Points, oldest first', schema: instanceMetricsResponse } },
  })
  async history(
    @CurrentPrincipal() p: Principal,
    @ValidParams(instanceIdParams) params: z.infer<typeof instanceIdParams>,
    @ValidQuery(instanceMetricsQuery) q: z.infer<typeof instanceMetricsQuery>,
  ) {
    const instance = await this.instances.get(p, params.id);
    const source = q.resolution === undefined ? undefined : q.resolution === 'raw' ? 'raw' : 'rollup_5m';
    return {
      instance_id: instance.id,
      ...(await this.metrics.history(instance.id, { from: q.from, to: q.to, step: q.step, source })),
    };
  }
}

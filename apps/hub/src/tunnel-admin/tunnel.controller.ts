import { Controller, Get } from '@nestjs/common';
import { z } from 'zod';
import { PlatformAdmin } from '../access/access.decorators';
import { ApiDoc } from '../openapi/api-doc';
import { TunnelStatsService } from './tunnel-stats.service';

const statsResponse = z.object({
  instance: z.string(),
  connected_agents: z.number().int(),
  open_streams: z.number().int(),
  /** Streams relayed to the replica holding the node (`out`) and held here for another replica's user (`in`). */
  relayed_streams: z.object({ out: z.number().int(), in: z.number().int() }),
  active_job_workers: z.number().int(),
  jobs_in_flight: z.number().int(),
  messages_in_per_second: z.number(),
  messages_out_per_second: z.number(),
  bytes_in_total: z.number(),
  bytes_out_total: z.number(),
  connects_total: z.number().int(),
  refused_total: z.number().int(),
  invalid_frames_total: z.number().int(),
  queues: z.object({
    nodes_with_work: z.number().int(),
    waiting: z.number().int(),
    active: z.number().int(),
    delayed: z.number().int(),
  }),
  cluster: z.object({
    online_nodes: z.number().int(),
    offline_nodes: z.number().int(),
    pending_nodes: z.number().int(),
  }),
});

const agentsResponse = z.object({
  data: z.array(
    z.object({
      node_id: z.uuid(),
      org_id: z.uuid(),
      hostname: z.string().nullable(),
      agent_version: z.string().nullable(),
      instance: z.string(),
      epoch: z.number().int(),
      connected_at: z.string(),
      last_heartbeat_at: z.string(),
      messages_in: z.number().int(),
      running_jobs: z.number().int(),
    }),
  ),
  total: z.number().int(),
});

@Controller('v1/tunnel')
export class TunnelController {
  constructor(private readonly stats: TunnelStatsService) {}

  @Get('stats')
  @PlatformAdmin()
  @ApiDoc({
    summary: 'Tunnel statistics of this hub replica, with cluster-wide node counts and queue depths',
    tags: ['admin'],
    responses: { 200: { description: 'Statistics', schema: statsResponse } },
  })
  get() {
    return this.stats.snapshot();
  }

  @Get('agents')
  @PlatformAdmin()
  @ApiDoc({
    summary: 'Agents connected to any hub replica',
    tags: ['admin'],
    responses: { 200: { description: 'Connected agents', schema: agentsResponse } },
  })
  agents() {
    return this.stats.agents();
  }
}

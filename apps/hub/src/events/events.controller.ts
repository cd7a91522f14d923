import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { z } from 'zod';
import { Authenticated, CurrentPrincipal } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { NotFoundError } from '../http/errors';
import { ValidBody } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { ClusterBus } from '../redis/cluster-bus';
import { RedisService } from '../redis/redis.service';
import { UpgradeRequiredError } from '../ws/ws-access';
import { EVENT_PATTERN, EventFilter } from './event-filter';
import { EventsGateway, WS_CLIENTS_TOPIC } from './events.gateway';

const unsubscribeBody = z
  .object({
    client_id: z.uuid().describe('From the welcome message of /v1/ws/subscribe'),
    events: z.array(z.string().regex(EVENT_PATTERN)).min(1).max(100),
  })
  .strict();
const subscriptionResponse = z.object({
  client_id: z.uuid(),
  events: z.object({ include: z.array(z.string()), exclude: z.array(z.string()) }),
});

@Controller('v1/ws')
export class EventsController {
  constructor(
    private readonly redis: RedisService,
    private readonly bus: ClusterBus,
    private readonly gateway: EventsGateway,
  ) {}

  @Get('subscribe')
  @Authenticated()
  @ApiDoc({
    summary: 'Live events of your organizations (WebSocket)',
    description:
      'Query: `events=node.*,operation.completed` (default all), `org_id` to narrow to one organization, `access_token` when headers cannot be set. ' +
      'Messages: `{"type":"welcome","client_id":…}`, then `{"type":"event","event":{id,org_id,type,ts,data}}`. Send `{"action":"subscribe"|"unsubscribe","events":[…]}` to change the filter.',
    tags: ['events'],
    websocket: true,
    errors: ['upgrade_required'],
    responses: { 101: { description: 'Switching protocols' } },
  })
  subscribe(): never {
    throw new UpgradeRequiredError();
  }

  @Post('unsubscribe')
  @HttpCode(200)
  @Authenticated()
  @ApiDoc({
    summary: 'Stop some event types on one of your subscriber connections, without reconnecting',
    tags: ['events'],
    errors: ['not_found'],
    responses: {
      200: { description: 'The remaining subscription', schema: subscriptionResponse },
      404: { description: 'No such connection of yours' },
    },
  })
  async unsubscribe(
    @CurrentPrincipal() p: Principal,
    @ValidBody(unsubscribeBody) body: z.infer<typeof unsubscribeBody>,
  ) {
    const key = this.gateway.clientKey(body.client_id);
    const stored = await this.redis.client.hgetall(key);
    if (!stored.user_id || stored.user_id !== p.userId)
      throw new NotFoundError(`subscriber connection ${body.client_id}`);
    const filter = EventFilter.fromJSON(
      JSON.parse(stored.events ?? '{"include":["*"],"exclude":[]}') as { include: string[]; exclude: string[] },
    );
    filter.unsubscribe(body.events);
    await this.redis.client.hset(key, { events: JSON.stringify(filter.toJSON()) });
    await this.bus.publish(WS_CLIENTS_TOPIC, { type: 'unsubscribe', clientId: body.client_id, events: body.events });
    return { client_id: body.client_id, events: filter.toJSON() };
  }
}

import { Controller, Get, Headers, Inject, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AccessState } from '../access/access-state';
import { Authenticated, CurrentPrincipal } from '../access/access.decorators';
import { LiveConnections, OrgAccessEndedError } from '../access/live-connections';
import type { Principal } from '../access/principal';
import { HUB_LOGGER } from '../http/logger';
import { ValidationFailedError } from '../http/errors';
import { ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { EVENT_PATTERN, EventFilter } from './event-filter';
import { EventFeed } from './event-feed';
import { EventsService, HubEvent } from './events.service';
import { STREAM_ID } from './stream-id';

const HEARTBEAT_MS = 15_000;
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

const streamQuery = z.object({
  events: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(z.string().regex(EVENT_PATTERN, { message: 'event types look like "node.online" or "operation.*"' }))
        .max(100),
    )
    .describe('Comma-separated types or prefixes (node.*); default all'),
  since: z
    .string()
    .regex(STREAM_ID, { message: 'must be an event id like 1764576000000-0' })
    .optional()
    .describe('Replay events after this id first'),
  org_id: z.uuid().optional().describe('Only this organization'),
});

/**
 * `GET /v1/events/stream`: the same events as the WebSocket, as Server-Sent Events (default) or
 * NDJSON (`Accept: application/x-ndjson`), resumable with `since` or `Last-Event-ID`.
 */
@Controller('v1/events')
export class EventStreamController {
  constructor(
    private readonly events: EventsService,
    private readonly state: AccessState,
    private readonly live: LiveConnections,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {}

  @Get('stream')
  @Authenticated()
  @ApiDoc({
    summary: 'Follow events as Server-Sent Events or NDJSON, replaying from an id first',
    description:
      'SSE frames carry `id:` (the event id) and `event:` (its type); reconnecting clients send `Last-Event-ID`. ' +
      'With `Accept: application/x-ndjson` each line is an event object. A heartbeat comes every 15 s. ' +
      'A cursor older than the retained window answers 410 `cursor_expired`; a client that falls 4 MB behind is told `too_slow` and closed.',
    tags: ['events'],
    errors: ['cursor_expired'],
    responses: {
      200: { description: 'The stream', contentType: 'text/event-stream' },
    },
  })
  async stream(
    @CurrentPrincipal() p: Principal,
    @ValidQuery(streamQuery) q: z.infer<typeof streamQuery>,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const since = q.since ?? (lastEventId || undefined);
    if (since !== undefined && !STREAM_ID.test(since))
      throw new ValidationFailedError('header', [
        { path: 'Last-Event-ID', message: 'must be an event id like 1764576000000-0' },
      ]);
    let orgs = await this.orgsOf(p);
    const filter = new EventFilter(q.events);
    const feed = new EventFeed(
      this.events,
      (e) => orgs.has(e.org_id) && (!q.org_id || q.org_id === e.org_id) && filter.matches(e.type),
    );
    await feed.start(since ?? null);

    const ndjson = (req.headers.accept ?? '').includes('application/x-ndjson');
    const raw = reply.hijack().raw;
    raw.writeHead(200, {
      'content-type': ndjson ? 'application/x-ndjson; charset=utf-8' : 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      'x-request-id': String(req.id),
      connection: 'keep-alive',
    });
    const format = (e: HubEvent) =>
      ndjson ? `${JSON.stringify(e)}\n` : `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      feed.stop();
      clearInterval(heartbeat);
      unwatch();
    };
    // Ends with a last `access_revoked` event (SSE) or line (NDJSON) once the caller's access ends.
    const unwatch = this.live.watch({
      kind: 'sse',
      request: req,
      principal: p,
      rule: { kind: 'authenticated', org: false, sessionOnly: false },
      recheck: async (now) => {
        const current = await this.orgsOf(now);
        for (const org of orgs)
          if (!current.has(org) && (!q.org_id || org === q.org_id)) throw new OrgAccessEndedError(org);
        orgs = current;
      },
      end: (ended) => {
        const reason = { code: ended.code, error: ended.message, status: ended.status };
        if (!closed)
          raw.end(
            ndjson
              ? `${JSON.stringify({ type: 'access_revoked', ...reason })}\n`
              : `event: access_revoked\ndata: ${JSON.stringify(reason)}\n\n`,
          );
        close();
      },
    });
    const write = (chunk: string) => {
      if (closed) return;
      if (raw.writableLength > MAX_QUEUED_BYTES) {
        this.log.warn({ reqId: req.id, queued: raw.writableLength }, 'event stream client too slow, closing');
        const reason = {
          code: 'too_slow',
          error: 'the client fell too far behind: reconnect with since=<last id>',
          position: feed.position,
        };
        raw.end(
          ndjson
            ? `${JSON.stringify({ type: 'error', ...reason })}\n`
            : `event: error\ndata: ${JSON.stringify(reason)}\n\n`,
        );
        close();
        return;
      }
      raw.write(chunk);
    };
    const heartbeat = setInterval(
      () =>
        write(
          ndjson
            ? `${JSON.stringify({ type: 'heartbeat', ts: new Date().toISOString(), position: feed.position })}\n`
            : `: heartbeat ${new Date().toISOString()}\n\n`,
        ),
      HEARTBEAT_MS,
    );
    raw.on('close', close);
    if (!ndjson) write(`retry: 2000\n\n`);
    feed.attach((e) => write(format(e)));
  }

  private async orgsOf(p: Principal): Promise<Set<string>> {
    if (p.kind === 'api_token') return new Set(p.org ? [p.org.id] : []);
    return new Set((await this.state.user(p.userId))?.memberships.keys() ?? []);
  }
}

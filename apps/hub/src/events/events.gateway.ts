import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { AccessState } from '../access/access-state';
import { OrgAccessEndedError } from '../access/live-connections';
import type { Principal } from '../access/principal';
import { HUB_LOGGER } from '../http/logger';
import { ValidationFailedError } from '../http/errors';
import { zodIssues } from '../http/validation';
import { ClusterBus } from '../redis/cluster-bus';
import { RedisService } from '../redis/redis.service';
import { WsAccess } from '../ws/ws-access';
import { WsRouter } from '../ws/ws-router';
import { EventFilter, EVENT_PATTERN } from './event-filter';
import { EventFeed } from './event-feed';
import { EventsService } from './events.service';
import { STREAM_ID } from './stream-id';

export const WS_CLIENTS_TOPIC = 'ws-clients';
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const PING_EVERY_MS = 15_000;
const CLIENT_TTL_S = 3600;

const patterns = z
  .array(z.string().regex(EVENT_PATTERN, { message: 'event types look like "node.online" or "operation.*"' }))
  .max(100);
const clientMessage = z.object({ action: z.enum(['subscribe', 'unsubscribe']), events: patterns });

interface Subscriber {
  id: string;
  ws: WebSocket;
  feed: EventFeed;
  principal: Principal;
  orgs: Set<string>;
  filter: EventFilter;
  onlyOrg: string | null;
}

/**
 * `GET /v1/ws/subscribe` (WebSocket): live events of the caller's organizations, filtered by
 * `?events=` and changed later by messages on the socket or `POST /v1/ws/unsubscribe`.
 */
@Injectable()
export class EventsGateway implements OnModuleInit {
  private readonly clients = new Map<string, Subscriber>();

  constructor(
    private readonly router: WsRouter,
    private readonly access: WsAccess,
    private readonly state: AccessState,
    private readonly bus: ClusterBus,
    private readonly redis: RedisService,
    private readonly events: EventsService,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {}

  get subscriberCount(): number {
    return this.clients.size;
  }

  clientKey(id: string): string {
    return this.redis.key('ws', 'client', id);
  }

  onModuleInit(): void {
    this.bus.on(WS_CLIENTS_TOPIC, (m) => {
      const c = typeof m.clientId === 'string' ? this.clients.get(m.clientId) : undefined;
      if (!c || !Array.isArray(m.events)) return;
      if (m.type === 'unsubscribe') c.filter.unsubscribe(m.events as string[]);
      this.send(c, { type: 'subscription', client_id: c.id, events: c.filter.toJSON() });
    });
    this.router.route('/v1/ws/subscribe', async (up) => {
      const events = patterns.safeParse(
        (up.query.get('events') ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      if (!events.success) throw new ValidationFailedError('query', zodIssues(events.error));
      const onlyOrg = up.query.get('org_id');
      if (onlyOrg !== null && !z.uuid().safeParse(onlyOrg).success)
        throw new ValidationFailedError('query', [{ path: 'org_id', message: 'must be a UUID' }]);
      const since = up.query.get('since') ?? headerValue(up.req.headers['last-event-id']);
      if (since !== null && !STREAM_ID.test(since))
        throw new ValidationFailedError('query', [
          { path: 'since', message: 'must be an event id like 1764576000000-0' },
        ]);
      const holder: { sub?: Subscriber } = {};
      const { principal } = await this.access.authorize(
        up,
        { kind: 'authenticated', org: false, sessionOnly: false },
        {
          recheck: async (now) => {
            if (holder.sub) holder.sub.orgs = await this.stillFollowed(holder.sub.orgs, holder.sub.onlyOrg, now);
          },
        },
      );
      const orgs = await this.orgsOf(principal);
      const filter = new EventFilter(events.data);
      const feed = new EventFeed(this.events, (e) => {
        const c = holder.sub;
        return !!c && c.orgs.has(e.org_id) && (!c.onlyOrg || c.onlyOrg === e.org_id) && c.filter.matches(e.type);
      });
      holder.sub = { id: randomUUID(), ws: null as unknown as WebSocket, feed, principal, orgs, filter, onlyOrg };
      await feed.start(since);
      return (ws) => this.attach(ws, holder.sub!);
    });
  }

  /** The caller's organizations now; losing one the socket followed ends it (4403), joining one adds it. */
  private async stillFollowed(had: Set<string>, onlyOrg: string | null, p: Principal): Promise<Set<string>> {
    const now = await this.orgsOf(p);
    for (const org of had) if (!now.has(org) && (!onlyOrg || org === onlyOrg)) throw new OrgAccessEndedError(org);
    return now;
  }

  private async orgsOf(p: Principal): Promise<Set<string>> {
    if (p.kind === 'api_token') return new Set(p.org ? [p.org.id] : []);
    const user = await this.state.user(p.userId);
    return new Set(user ? [...user.memberships.keys()] : []);
  }

  private attach(ws: WebSocket, c: Subscriber): void {
    c.ws = ws;
    this.clients.set(c.id, c);
    void this.storeClient(c);
    this.send(c, {
      type: 'welcome',
      client_id: c.id,
      events: c.filter.toJSON(),
      organizations: [...c.orgs],
      position: c.feed.position,
    });
    c.feed.attach((event) => this.send(c, { type: 'event', event }));
    let alive = true;
    ws.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
      this.send(c, { type: 'heartbeat', ts: new Date().toISOString(), position: c.feed.position });
      void this.storeClient(c);
    }, PING_EVERY_MS);
    ws.on('message', (data: Buffer) => {
      let parsed;
      try {
        parsed = clientMessage.safeParse(JSON.parse(data.toString('utf8')));
      } catch {
        parsed = null;
      }
      if (!parsed?.success)
        return this.send(c, {
          type: 'error',
          code: 'invalid_message',
          error: 'send {"action":"subscribe"|"unsubscribe","events":["node.*",…]}',
        });
      if (parsed.data.action === 'subscribe') c.filter.subscribe(parsed.data.events);
      else c.filter.unsubscribe(parsed.data.events);
      void this.storeClient(c);
      this.send(c, { type: 'subscription', client_id: c.id, events: c.filter.toJSON() });
    });
    ws.on('close', () => {
      c.feed.stop();
      clearInterval(ping);
      this.clients.delete(c.id);
      void this.redis.client.del(this.clientKey(c.id)).catch(() => undefined);
    });
  }

  private send(c: Subscriber, message: object): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.log.warn({ clientId: c.id, buffered: c.ws.bufferedAmount }, 'event subscriber too slow, disconnecting');
      c.ws.close(4008, 'too slow: reconnect and resume');
      return;
    }
    c.ws.send(JSON.stringify(message));
  }

  private async storeClient(c: Subscriber): Promise<void> {
    await this.redis.client
      .multi()
      .hset(this.clientKey(c.id), { user_id: c.principal.userId, events: JSON.stringify(c.filter.toJSON()) })
      .expire(this.clientKey(c.id), CLIENT_TTL_S)
      .exec()
      .catch(() => undefined);
  }
}

function headerValue(v: string | string[] | undefined): string | null {
  return typeof v === 'string' && v ? v : null;
}

import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { HostplaneClient } from './client';
import { HostplaneError } from './errors';

export interface HubEvent {
  id: string;
  org_id: string;
  type: string;
  ts: string;
  data: unknown;
}

export interface EventStreamOptions {
  /** Type patterns, e.g. `['node.*', 'operation.completed']`; default: every event. */
  types?: string[];
  /** Replay from after this event id (resume), then continue live. */
  since?: string;
  orgId?: string;
  signal?: AbortSignal;
  /** Milliseconds between reconnections after the stream drops (the hub's `retry:` overrides it). */
  reconnectMs?: number;
  /** Called when the stream drops and is about to reconnect from `lastEventId`. */
  onReconnect?: (lastEventId: string | undefined, reason: unknown) => void;
}

/**
 * The hub's events as they happen (`GET /v1/events/stream`, Server-Sent Events). When the
 * connection drops it reconnects with `Last-Event-ID`, so the hub replays what was missed: no
 * gap, no duplicate. Ends when `signal` aborts; an error answer (401, 403, 410
 * `cursor_expired`) or the hub's `access_revoked` ends it with a `HostplaneError`.
 */
export async function* streamEvents(
  client: HostplaneClient,
  options: EventStreamOptions = {},
): AsyncGenerator<HubEvent> {
  let lastEventId = options.since;
  let retryMs = options.reconnectMs ?? 2000;
  while (!options.signal?.aborted) {
    const query = new URLSearchParams();
    if (options.types?.length) query.set('events', options.types.join(','));
    if (options.orgId) query.set('org_id', options.orgId);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastEventId) headers['last-event-id'] = lastEventId;
    let response: Response;
    try {
      response = await client.fetch(`/v1/events/stream${query.size ? `?${query}` : ''}`, {
        headers,
        signal: options.signal,
      });
    } catch (err) {
      if (options.signal?.aborted) return;
      options.onReconnect?.(lastEventId, err);
      await sleep(retryMs, options.signal);
      continue;
    }
    if (!response.ok || !response.body) throw await HostplaneError.fromResponse(response);
    const queue: EventSourceMessage[] = [];
    const parser = createParser({
      onEvent: (message) => queue.push(message),
      onRetry: (ms) => {
        retryMs = ms;
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
        while (queue.length) {
          const message = queue.shift()!;
          if (message.event === 'access_revoked' || message.event === 'error')
            throw HostplaneError.fromBody(message.event === 'access_revoked' ? 401 : 500, message.data);
          if (!message.id) continue;
          lastEventId = message.id;
          yield JSON.parse(message.data) as HubEvent;
        }
      }
      options.onReconnect?.(lastEventId, new Error('the event stream ended'));
    } catch (err) {
      if (options.signal?.aborted) return;
      if (err instanceof HostplaneError) throw err;
      options.onReconnect?.(lastEventId, err);
    } finally {
      reader.releaseLock();
    }
    await sleep(retryMs, options.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

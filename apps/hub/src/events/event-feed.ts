import type { EventsService, HubEvent } from './events.service';
import { compareStreamIds } from './stream-id';

/**
 * One subscriber's view of the event stream: replay from a cursor, then live, with no gap and
 * no duplicate. Live events that arrive while the replay runs are held back and released after
 * it; anything at or before the cursor is skipped.
 */
export class EventFeed {
  private cursor: string | null = null;
  private held: HubEvent[] | null = [];
  private pending: HubEvent[] = [];
  private sink: ((e: HubEvent) => void) | null = null;
  private detach?: () => void;

  constructor(
    private readonly events: EventsService,
    private readonly accept: (e: HubEvent) => boolean,
  ) {}

  get position(): string | null {
    return this.cursor;
  }

  /** Starts following; throws cursor_expired (410, before anything is delivered) if `since` is too old. */
  async start(since: string | null): Promise<void> {
    this.detach = this.events.onEvent((e) => (this.held ? this.held.push(e) : this.deliver(e)));
    try {
      if (since) {
        this.cursor = since;
        for await (const e of this.events.replay(since)) this.deliver(e);
      }
    } catch (err) {
      this.stop();
      throw err;
    }
    const held = this.held ?? [];
    this.held = null;
    for (const e of held) this.deliver(e);
  }

  /** Where events go; those produced before a sink exists are kept and flushed to it. */
  attach(sink: (e: HubEvent) => void): void {
    this.sink = sink;
    const pending = this.pending;
    this.pending = [];
    for (const e of pending) sink(e);
  }

  stop(): void {
    this.detach?.();
    this.detach = undefined;
    this.sink = null;
  }

  private deliver(e: HubEvent): void {
    if (this.cursor && compareStreamIds(e.id, this.cursor) <= 0) return;
    this.cursor = e.id;
    if (!this.accept(e)) return;
    if (this.sink) this.sink(e);
    else this.pending.push(e);
  }
}

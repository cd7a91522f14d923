import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { HUB_LOGGER } from '../http/logger';
import type { DomainEventHandler, DomainEventMap, DomainEventName } from './domain-events';

/**
 * The one in-process bus for domain events (types in domain-events.ts). Handlers run
 * synchronously in subscription order, as the announcing code's next statement would; a
 * handler that throws or rejects is logged and does not stop the others or the announcer.
 * Only this replica hears an event: cross-replica fan-out stays on the Redis cluster bus,
 * behind the module that owns the topic.
 */
@Injectable()
export class DomainEventBus {
  private readonly handlers = new Map<DomainEventName, Set<DomainEventHandler<never>>>();

  constructor(@Inject(HUB_LOGGER) private readonly log: Logger) {}

  /** Subscribes; the returned function unsubscribes (for handlers that live shorter than the app). */
  on<K extends DomainEventName>(name: K, handler: DomainEventHandler<K>): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler as DomainEventHandler<never>);
    return () => set.delete(handler as DomainEventHandler<never>);
  }

  publish<K extends DomainEventName>(name: K, event: DomainEventMap[K]): void {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const handler of [...set] as DomainEventHandler<K>[]) {
      try {
        const result = handler(event);
        if (result instanceof Promise) result.catch((err: unknown) => this.failed(name, err));
      } catch (err) {
        this.failed(name, err);
      }
    }
  }

  private failed(name: DomainEventName, err: unknown): void {
    this.log.error({ err, event: name }, 'domain event handler failed');
  }
}

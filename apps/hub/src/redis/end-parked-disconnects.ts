import Redis from 'ioredis';
import { closeHandler } from 'ioredis/built/redis/event_handler';

/** What ioredis keeps of a command sent while it had no connection. */
interface QueuedCommand {
  command: { promise: Promise<unknown> };
}

/**
 * ioredis 5 bug (ioredis#1830, fix proposed in ioredis PR #2169): `disconnect()` during a reconnect
 * back-off (status "reconnecting": the socket is gone, a retry timer is armed) clears the timer and
 * stops there. No "end" is emitted and queued commands never settle. BullMQ's Worker.close() awaits
 * that "end" (bullmq#4656), so a hub stopped within a few seconds of Redis returning from an outage
 * hung forever in the migration worker's close. This finishes such a disconnect the way ioredis
 * finishes one from "wait": status "end", "end" emitted, queued commands rejected. Remove it once
 * the control in test/redis-parked-disconnect.test.ts shows ioredis does so itself.
 */
export function endParkedDisconnects(client: Redis): Redis {
  const disconnect = client.disconnect.bind(client);
  client.disconnect = (reconnect = false) => {
    const parked = !reconnect && client.status === 'reconnecting';
    disconnect(reconnect);
    if (!parked || client.status !== 'reconnecting') return;
    // Commands ioredis queued for itself (ready check, re-subscriptions) have no caller to take
    // their rejection; a caller's own command still gets it.
    const queue = (client as unknown as { offlineQueue: { toArray(): QueuedCommand[] } }).offlineQueue;
    for (const item of queue.toArray()) item.command.promise.catch(() => undefined);
    closeHandler(client)();
  };
  return client;
}

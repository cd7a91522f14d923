import { setTimeout as sleep } from 'node:timers/promises';
import { FATAL_REFUSALS, Refusal } from '@hostplane/protocol';
import type { AgentLogger } from '../logging/logger';
import { BackoffPolicy, reconnectDelay } from './backoff';
import { HeartbeatCounter, HubTarget, runHubSession, SessionHooks, TunnelTimeouts } from './hub-connection';

export interface TunnelOptions {
  target: HubTarget;
  hooks: SessionHooks;
  log: AgentLogger;
  backoff: BackoffPolicy;
  timeouts: TunnelTimeouts;
  stop: AbortSignal;
  /** A session that lasted this long counts as healthy: the next reconnect starts from the first delay again. */
  stableSessionMs?: number;
}

export type TunnelExit = { kind: 'fatal'; refusal: Refusal } | { kind: 'stopped' };

/**
 * Keeps the agent connected for as long as it runs: every lost session is followed by another
 * after a jittered, capped, exponential delay. Only a refusal that the same token can never get
 * past (revoked, deleted node, protocol mismatch) ends it.
 */
export async function runTunnel(options: TunnelOptions): Promise<TunnelExit> {
  const { log } = options;
  const heartbeats = new HeartbeatCounter();
  const stableSessionMs = options.stableSessionMs ?? 10_000;
  let attempt = 0;
  for (;;) {
    const startedAt = Date.now();
    const end = await runHubSession(options.target, options.hooks, {
      log,
      timeouts: options.timeouts,
      heartbeats,
      stop: options.stop,
    });
    if (end.kind === 'stopped') return end;
    if (end.kind === 'refused' && FATAL_REFUSALS.has(end.refusal.code)) return { kind: 'fatal', refusal: end.refusal };
    if (end.welcomed && Date.now() - startedAt >= stableSessionMs) attempt = 0;
    const delayMs = reconnectDelay(attempt++, options.backoff);
    if (end.kind === 'refused') {
      const hint = end.refusal.code === 'replaced' ? ' (if this repeats, another agent is using the same token)' : '';
      log.warn(
        { code: end.refusal.code, delay_ms: delayMs },
        `the hub closed the tunnel: ${end.refusal.message}${hint}; reconnecting`,
      );
    } else {
      log.warn({ reason: end.reason, delay_ms: delayMs, attempt }, 'tunnel to the hub lost; reconnecting');
    }
    try {
      await sleep(delayMs, undefined, { signal: options.stop });
    } catch {
      return { kind: 'stopped' };
    }
  }
}

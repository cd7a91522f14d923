import { io } from 'socket.io-client';
import {
  AGENT_NAMESPACE,
  AGENT_TOKEN_HEADER,
  Hello,
  MetricsSample,
  PROTOCOL_HEADER,
  PROTOCOL_VERSION,
  Refusal,
  refusal,
  Welcome,
  welcome,
} from '@hostplane/protocol';
import type { AgentLogger } from '../logging/logger';
import { AgentSocket, HubSession } from './hub-session';

export interface HubTarget {
  hubUrl: string;
  token: string;
  agentVersion: string;
}

export interface TunnelTimeouts {
  /** Connecting (TCP + TLS + handshake) may take this long. */
  connectTimeoutMs: number;
  /** The hub must answer `hello` with a welcome within this. */
  helloTimeoutMs: number;
  /** The hub must acknowledge a `job:result` within this, or it is sent again later. */
  ackTimeoutMs: number;
}

/**
 * What the agent does with a session: handlers are registered when the socket is created, work starts at the welcome.
 */
export interface SessionHooks {
  buildHello(): Promise<Hello>;
  heartbeatBody(): Promise<{ metrics: MetricsSample; running_jobs: string[] }>;
  openSession(session: HubSession): { onWelcome(welcome: Welcome): void; onClose(): void };
}

export type SessionEnd =
  | { kind: 'refused'; refusal: Refusal; welcomed: boolean }
  | { kind: 'lost'; reason: string; welcomed: boolean }
  | { kind: 'stopped' };

/** Heartbeat sequence numbers grow for the life of the process, across sessions. */
export class HeartbeatCounter {
  private next = 0;
  take(): number {
    return this.next++;
  }
}

/**
 * One connection to the hub, from dialling to its end. socket.io's own reconnection is off: it
 * does not retry after a refusal in the hub's middleware or a server-side disconnect, so the
 * caller owns the retry loop.
 */
export function runHubSession(
  target: HubTarget,
  hooks: SessionHooks,
  opts: { log: AgentLogger; timeouts: TunnelTimeouts; heartbeats: HeartbeatCounter; stop: AbortSignal },
): Promise<SessionEnd> {
  const { log, timeouts } = opts;
  const url = new URL(target.hubUrl);
  const basePath = url.pathname.replace(/\/+$/, '');
  const socket: AgentSocket = io(`${url.origin}${AGENT_NAMESPACE}`, {
    path: `${basePath}/socket.io`,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    autoConnect: false,
    timeout: timeouts.connectTimeoutMs,
    extraHeaders: { [AGENT_TOKEN_HEADER]: target.token, [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) },
    auth: { token: target.token, protocol_version: PROTOCOL_VERSION, agent_version: target.agentVersion },
  });
  const session = new HubSession(socket, log, timeouts.ackTimeoutMs);
  const lifecycle = hooks.openSession(session);

  return new Promise<SessionEnd>((resolve) => {
    let welcomed = false;
    let pendingRefusal: Refusal | null = null;
    let heartbeatTimer: NodeJS.Timeout | null = null;
    let ended = false;

    const end = (result: SessionEnd) => {
      if (ended) return;
      ended = true;
      if (heartbeatTimer) clearInterval(heartbeatTimer);
      opts.stop.removeEventListener('abort', onStop);
      socket.removeAllListeners();
      socket.disconnect();
      try {
        lifecycle.onClose();
      } catch (err) {
        log.error({ err }, 'closing the session failed');
      }
      resolve(result);
    };
    const onStop = () => end({ kind: 'stopped' });
    if (opts.stop.aborted) return end({ kind: 'stopped' });
    opts.stop.addEventListener('abort', onStop);

    const startHeartbeats = (intervalMs: number) => {
      let busy = false;
      const beat = async () => {
        if (busy) return;
        busy = true;
        try {
          const body = await hooks.heartbeatBody();
          session.sendHeartbeat({ seq: opts.heartbeats.take(), ...body });
        } catch (err) {
          log.error({ err }, 'building a heartbeat failed');
        } finally {
          busy = false;
        }
      };
      void beat();
      heartbeatTimer = setInterval(() => void beat(), intervalMs);
    };

    socket.on('connect', () => {
      log.info({ hub: target.hubUrl }, 'connected to the hub; saying hello');
      hooks
        .buildHello()
        .then((hello) => {
          socket.timeout(timeouts.helloTimeoutMs).emit('hello', hello, (err: Error | null, answer: unknown) => {
            if (ended) return;
            if (err)
              return end({
                kind: 'lost',
                reason: `the hub did not answer hello within ${timeouts.helloTimeoutMs} ms`,
                welcomed,
              });
            const w = welcome.safeParse(answer);
            if (w.success) {
              welcomed = true;
              log.info(
                { node_id: w.data.node_id, epoch: w.data.epoch, heartbeat_interval_ms: w.data.heartbeat_interval_ms },
                'welcomed by the hub',
              );
              lifecycle.onWelcome(w.data);
              return startHeartbeats(w.data.heartbeat_interval_ms);
            }
            const r = refusal.safeParse(answer);
            if (r.success) return end({ kind: 'refused', refusal: r.data, welcomed });
            session.sendError({
              code: 'invalid_frame',
              event: 'welcome',
              message: 'the answer to hello is neither a welcome nor a refusal',
            });
            end({ kind: 'lost', reason: 'the hub answered hello with an invalid welcome', welcomed });
          });
        })
        .catch((err: unknown) => {
          log.error({ err }, 'building hello failed');
          end({ kind: 'lost', reason: 'building hello failed', welcomed });
        });
    });

    (socket as unknown as { on(event: 'refused', fn: (raw: unknown) => void): void }).on('refused', (raw) => {
      const r = refusal.safeParse(raw);
      if (!r.success)
        return session.sendError({ code: 'invalid_frame', event: 'refused', message: 'invalid refused frame' });
      pendingRefusal = r.data;
      // The hub disconnects right after; if it does not, leave anyway.
      setTimeout(() => end({ kind: 'refused', refusal: r.data, welcomed }), 2000).unref();
    });

    socket.on('connect_error', (err: Error & { data?: unknown }) => {
      const r = refusal.safeParse(err.data);
      if (r.success) return end({ kind: 'refused', refusal: r.data, welcomed });
      end({ kind: 'lost', reason: `cannot connect to ${target.hubUrl}: ${err.message}`, welcomed });
    });

    socket.on('disconnect', (reason) => {
      if (pendingRefusal) return end({ kind: 'refused', refusal: pendingRefusal, welcomed });
      end({ kind: 'lost', reason: `disconnected: ${reason}`, welcomed });
    });

    socket.connect();
  });
}

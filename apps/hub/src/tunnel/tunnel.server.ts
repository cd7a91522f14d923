import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import { Namespace, Server } from 'socket.io';
import {
  AGENT_NAMESPACE,
  AGENT_TO_HUB,
  AGENT_TOKEN_HEADER,
  AgentToHubEvents,
  HubToAgentEvents,
  parseFrame,
  PROTOCOL_HEADER,
  Refusal,
} from '@hostplane/protocol';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import type { AgentConnection } from '../domain-events/domain-events';
import { HUB_LOGGER } from '../http/logger';
import { PeriodicWork } from '../periodic/periodic-work';
import { ClusterBus } from '../redis/cluster-bus';
import { RedisService } from '../redis/redis.service';
import { AgentSession, AgentSocket, AgentSocketData } from './agent-session';
import { HUB_INSTANCE_ID } from './hub-instance';
import { NodeOwnership } from './node-ownership';
import { NODE_RECORDS, NodeRecords } from './node-records.port';
import { TunnelStreams } from './tunnel-streams';

const TUNNEL_TOPIC = 'tunnel';
const HELLO_TIMEOUT_MS = 15_000;

/**
 * The hub end of the agent tunnel: socket.io namespace `/agent` on the hub's HTTP server.
 * It authenticates agents, keeps one live session per node (fenced by an epoch in Redis),
 * tracks online/offline from heartbeats and relays frames. It knows nothing of jobs or drivers:
 * what agents say is published as domain events (`agent.*`, `job.*`, `instance.*`), and the
 * node records it needs come from the nodes domain's `NODE_RECORDS` capability.
 */
@Injectable()
export class TunnelServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly streams: TunnelStreams;
  private io?: Server;
  private readonly sessions = new Map<string, AgentSession>();
  private readonly ownership: NodeOwnership;
  private timers: NodeJS.Timeout[] = [];
  private closing = false;
  readonly counters = {
    connects: 0,
    refused: 0,
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    invalidFrames: 0,
  };

  constructor(
    private readonly httpAdapterHost: HttpAdapterHost,
    private readonly redis: RedisService,
    private readonly bus: ClusterBus,
    private readonly domainEvents: DomainEventBus,
    @Inject(NODE_RECORDS) private readonly nodes: NodeRecords,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
    private readonly periodic: PeriodicWork,
  ) {
    const { heartbeatSeconds, offlineAfterMissed } = config.agents;
    this.ownership = new NodeOwnership(
      redis.client,
      (...p) => redis.key(...p),
      heartbeatSeconds * (offlineAfterMissed + 1) * 1000,
    );
    this.streams = new TunnelStreams(this.counters, log);
  }

  get heartbeatMs(): number {
    return this.config.agents.heartbeatSeconds * 1000;
  }

  session(nodeId: string): AgentSession | undefined {
    const s = this.sessions.get(nodeId);
    return s?.ready ? s : undefined;
  }

  /** Whether any replica holds a live socket for the node (its ownership key exists). */
  async isOnline(nodeId: string): Promise<boolean> {
    if (this.session(nodeId)) return true;
    return (await this.ownership.owner(nodeId).catch(() => null)) !== null;
  }

  localSessions(): AgentSession[] {
    return [...this.sessions.values()];
  }

  onApplicationBootstrap(): void {
    const httpServer = this.httpAdapterHost.httpAdapter.getHttpServer() as HttpServer;
    const io = new Server(httpServer, {
      path: '/socket.io',
      transports: ['websocket'],
      serveClient: false,
      // The plain-WebSocket endpoints (terminal, events) share this server's upgrade event.
      destroyUpgrade: false,
      perMessageDeflate: false,
      pingInterval: 10_000,
      pingTimeout: 5_000,
      maxHttpBufferSize: 8 * 1024 * 1024,
      // Sharded pub/sub (Redis 7) on one Redis and on a cluster alike: decision 0027.
      adapter: createShardedAdapter(this.redis.connect('publisher'), this.redis.connect('sharded-subscriber'), {
        channelPrefix: this.redis.key('sio'),
      }),
    });
    this.io = io;
    const nsp = io.of(AGENT_NAMESPACE) as unknown as Namespace<
      AgentToHubEvents,
      HubToAgentEvents,
      Record<string, never>,
      AgentSocketData
    >;
    nsp.use((socket, next) => {
      this.admit(socket).then(
        (refusal) => {
          if (!refusal) return next();
          this.counters.refused++;
          const err = new Error(refusal.message) as Error & { data: Refusal };
          err.data = refusal;
          next(err);
        },
        (err: unknown) => {
          this.log.error({ err }, 'agent admission failed');
          next(
            Object.assign(new Error('hub could not check the agent token, retry later'), {
              data: { code: 'shutting_down', message: 'hub error' },
            }),
          );
        },
      );
    });
    nsp.on('connection', (socket) => this.onConnection(socket));
    this.bus.on(TUNNEL_TOPIC, (m) => this.onBusMessage(m));

    const tick = Math.max(500, Math.min(2000, this.heartbeatMs / 2));
    this.timers.push(setInterval(() => void this.maintain(), tick));
    this.periodic.register({
      kind: 'nodes.offline-sweep',
      everyMs: this.heartbeatMs,
      run: () => this.sweepOrphanedOnline(),
    });
  }

  /** Ask every replica to drop the node's socket (deleted node, rotated token). */
  async disconnectNode(nodeId: string, refusal: Refusal): Promise<void> {
    await this.bus.publish(TUNNEL_TOPIC, { type: 'disconnect', nodeId, refusal });
    this.dropLocal(nodeId, refusal);
  }

  private async admit(socket: AgentSocket): Promise<Refusal | null> {
    if (this.closing) return { code: 'shutting_down', message: 'hub is shutting down, reconnect to another replica' };
    const headers = socket.handshake.headers;
    const auth = (socket.handshake.auth ?? {}) as { token?: unknown; protocol_version?: unknown };
    const token =
      typeof headers[AGENT_TOKEN_HEADER] === 'string'
        ? headers[AGENT_TOKEN_HEADER]
        : typeof auth.token === 'string'
          ? auth.token
          : undefined;
    const rawProtocol = headers[PROTOCOL_HEADER] ?? auth.protocol_version;
    const protocol = rawProtocol === undefined || rawProtocol === '' ? undefined : Number(rawProtocol);
    const result = await this.nodes.authenticate(token, protocol);
    if (!result.ok) return result.refusal;
    socket.data.nodeId = result.node.id;
    socket.data.orgId = result.node.orgId;
    const epoch = await this.nodes.nextEpoch(result.node.id);
    if (!epoch) return { code: 'node_deleted', message: 'this node was deleted from the hub' };
    socket.data.epoch = epoch;
    await this.ownership.claim(result.node.id, epoch);
    return null;
  }

  private onConnection(socket: AgentSocket): void {
    const { nodeId, orgId, epoch } = socket.data;
    this.counters.connects++;
    const previous = this.sessions.get(nodeId);
    if (previous) this.replace(previous);
    const session = new AgentSession(socket, nodeId, orgId, epoch);
    this.sessions.set(nodeId, session);
    void socket.join(`node:${nodeId}`);
    void this.bus.publish(TUNNEL_TOPIC, { type: 'claim', nodeId, epoch, instance: HUB_INSTANCE_ID });

    const helloTimer = setTimeout(() => {
      if (!session.hello)
        this.refuseAndDrop(socket, { code: 'handshake_timeout', message: 'no hello within 15 s of connecting' });
    }, HELLO_TIMEOUT_MS);

    socket.onAny((event: string, frame: unknown) => {
      session.messagesIn++;
      this.counters.messagesIn++;
      if (frame instanceof Uint8Array) this.counters.bytesIn += frame.byteLength;
      else if (
        frame &&
        typeof frame === 'object' &&
        'data' in frame &&
        (frame as { data: unknown }).data instanceof Uint8Array
      ) {
        this.counters.bytesIn += (frame as { data: Uint8Array }).data.byteLength;
      }
      if (!(event in AGENT_TO_HUB))
        this.invalid(socket, { code: 'unknown_event', event, message: `unknown event "${event}"` });
    });

    socket.on('hello', (frame, ack) => {
      clearTimeout(helloTimer);
      const reply = typeof ack === 'function' ? ack : () => undefined;
      const hello = parseFrame('hello', AGENT_TO_HUB.hello, frame);
      if (!hello.ok) {
        this.invalid(socket, hello.error);
        reply({ code: 'protocol_mismatch', message: hello.error.message });
        socket.disconnect(true);
        return;
      }
      void this.onHello(session, hello.value).then(
        () => {
          if (this.sessions.get(nodeId) !== session) return;
          reply({
            node_id: nodeId,
            epoch,
            heartbeat_interval_ms: this.heartbeatMs,
            server_time: new Date().toISOString(),
          });
          if (session.hello)
            this.domainEvents.publish('agent.ready', { ...connectionOf(session), hello: session.hello });
        },
        (err: unknown) => {
          this.log.error({ err, nodeId }, 'hello handling failed');
          socket.disconnect(true);
        },
      );
    });

    socket.on('heartbeat', (frame) => {
      const hb = parseFrame('heartbeat', AGENT_TO_HUB.heartbeat, frame);
      if (!hb.ok) return this.invalid(socket, hb.error);
      session.lastHeartbeatAt = Date.now();
      session.runningJobs = hb.value.running_jobs;
      this.nodes.recordHeartbeat(nodeId, hb.value.metrics);
    });

    socket.on('inventory', (frame) => {
      const inv = parseFrame('inventory', AGENT_TO_HUB.inventory, frame);
      if (!inv.ok) return this.invalid(socket, inv.error);
      this.domainEvents.publish('agent.inventory', { ...connectionOf(session), inventory: inv.value });
    });

    socket.on('job:progress', (frame) => {
      const p = parseFrame('job:progress', AGENT_TO_HUB['job:progress'], frame);
      if (!p.ok) return this.invalid(socket, p.error);
      this.domainEvents.publish('job.progress', { ...connectionOf(session), progress: p.value });
    });

    socket.on('job:result', (frame, ack) => {
      const reply = typeof ack === 'function' ? ack : () => undefined;
      const r = parseFrame('job:result', AGENT_TO_HUB['job:result'], frame);
      if (!r.ok) {
        this.invalid(socket, r.error);
        return reply({ ok: false });
      }
      this.domainEvents.publish('job.outcome', { ...connectionOf(session), outcome: r.value, ack: reply });
    });

    socket.on('instance:state', (frame) => {
      const f = parseFrame('instance:state', AGENT_TO_HUB['instance:state'], frame);
      if (!f.ok) return this.invalid(socket, f.error);
      this.domainEvents.publish('instance.state', { ...connectionOf(session), frame: f.value });
    });

    socket.on('instance:metrics', (frame) => {
      const f = parseFrame('instance:metrics', AGENT_TO_HUB['instance:metrics'], frame);
      if (!f.ok) return this.invalid(socket, f.error);
      this.domainEvents.publish('instance.metrics', { ...connectionOf(session), frame: f.value });
    });

    socket.on('machine:event', (frame) => {
      const f = parseFrame('machine:event', AGENT_TO_HUB['machine:event'], frame);
      if (!f.ok) return this.invalid(socket, f.error);
      this.domainEvents.publish('machine.event', { ...connectionOf(session), frame: f.value });
    });

    socket.on('stream:data', (frame) => this.streams.onData(session, frame));
    socket.on('stream:credit', (frame) => this.streams.onCredit(session, frame));
    socket.on('stream:close', (frame) => this.streams.onClose(session, frame));
    socket.on('error', (frame) => {
      const e = parseFrame('error', AGENT_TO_HUB.error, frame);
      this.log.warn({ nodeId, frame: e.ok ? e.value : 'unparseable' }, 'agent reported a protocol error');
    });

    socket.on('disconnect', (reason) => {
      clearTimeout(helloTimer);
      void this.onDisconnect(session, reason);
    });
  }

  private async onHello(session: AgentSession, hello: AgentSession['hello'] & object): Promise<void> {
    await this.nodes.markOnline(session.nodeId, session.epoch, session.orgId, hello);
    session.hello = hello;
    session.lastHeartbeatAt = Date.now();
  }

  private async onDisconnect(session: AgentSession, reason: string): Promise<void> {
    const current = this.sessions.get(session.nodeId) === session;
    if (current) this.sessions.delete(session.nodeId);
    this.streams.closeAll(session, `agent disconnected (${reason})`);
    this.domainEvents.publish('agent.closed', { ...connectionOf(session), reason });
    if (!current) return;
    this.nodes.forgetHeartbeats(session.nodeId);
    try {
      await this.ownership.release(session.nodeId, session.epoch);
      await this.nodes.markOffline(session.nodeId, session.epoch, session.orgId, reason);
    } catch (err) {
      this.log.warn(
        { nodeId: session.nodeId, reason: (err as Error).message },
        'marking node offline failed; the sweep will retry',
      );
    }
  }

  private onBusMessage(m: Record<string, unknown>): void {
    const nodeId = typeof m.nodeId === 'string' ? m.nodeId : undefined;
    if (!nodeId) return;
    if (m.type === 'claim' && m.instance !== HUB_INSTANCE_ID) {
      const local = this.sessions.get(nodeId);
      if (local && local.epoch < Number(m.epoch)) this.replace(local);
    } else if (m.type === 'disconnect') {
      this.dropLocal(nodeId, m.refusal as Refusal);
    }
  }

  private replace(old: AgentSession): void {
    this.sessions.delete(old.nodeId);
    this.refuseAndDrop(old.socket, { code: 'replaced', message: 'a newer connection for this node replaced this one' });
  }

  private dropLocal(nodeId: string, refusal: Refusal): void {
    const s = this.sessions.get(nodeId);
    if (!s) return;
    // Terminals and consoles through this agent learn why (e.g. token_revoked), not just "disconnected".
    this.streams.closeAll(s, `agent disconnected (${refusal.code})`);
    this.refuseAndDrop(s.socket, refusal);
  }

  private refuseAndDrop(socket: AgentSocket, refusal: Refusal): void {
    socket.emit('refused', refusal);
    // Let the refusal reach the agent before the close frame.
    setTimeout(() => socket.disconnect(true), 50);
  }

  private invalid(socket: AgentSocket, error: { code: string; message: string; event?: string }): void {
    this.counters.invalidFrames++;
    this.log.warn({ nodeId: socket.data.nodeId, error }, 'invalid frame from agent');
    socket.emit('error', error);
  }

  /** Flush heartbeats, keep ownership alive, and drop agents that stopped heartbeating. */
  private async maintain(): Promise<void> {
    try {
      await this.nodes.flushHeartbeats();
      const ready = [...this.sessions.values()].filter((s) => s.hello);
      const lost = await this.ownership.refresh(ready.map((s) => ({ nodeId: s.nodeId, epoch: s.epoch })));
      for (const nodeId of lost) {
        const s = this.sessions.get(nodeId);
        if (s) this.replace(s);
      }
      const silentFor = this.heartbeatMs * this.config.agents.offlineAfterMissed;
      for (const s of this.sessions.values()) {
        if (s.hello && Date.now() - s.lastHeartbeatAt > silentFor) {
          this.log.warn(
            { nodeId: s.nodeId, missed: this.config.agents.offlineAfterMissed },
            'agent missed heartbeats, dropping',
          );
          s.socket.disconnect(true);
        }
      }
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'tunnel maintenance failed');
    }
  }

  /** Nodes left "online" by a replica that died: no heartbeat seen for the offline window. */
  private async sweepOrphanedOnline(): Promise<void> {
    try {
      const seconds = this.config.agents.heartbeatSeconds * this.config.agents.offlineAfterMissed;
      await this.nodes.markSilentOffline(seconds, [...this.sessions.keys()]);
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'offline sweep failed');
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const s of this.sessions.values())
      s.socket.emit('refused', { code: 'shutting_down', message: 'hub is shutting down, reconnecting' });
    await this.nodes.flushHeartbeats().catch(() => undefined);
    await new Promise<void>((resolve) => {
      if (!this.io) return resolve();
      void this.io.close(() => resolve());
    });
    // io.close() emits disconnects whose handlers write to the database: let them finish.
    await new Promise((r) => setTimeout(r, 50));
  }
}

function connectionOf(session: AgentSession): AgentConnection {
  return { nodeId: session.nodeId, orgId: session.orgId, epoch: session.epoch };
}

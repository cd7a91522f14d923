import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { STREAM_CHUNK_BYTES } from '@hostplane/protocol';
import { WebSocket, WebSocketServer } from 'ws';
import { HUB_CONFIG } from '../../config/config.module';
import type { HubConfig } from '../../config/load-config';
import { HUB_LOGGER } from '../../http/logger';
import { RedisService } from '../../redis/redis.service';
import { HUB_INSTANCE_ID } from '../hub-instance';
import { StreamOpenError, type AgentStream } from '../tunnel-streams';
import { TunnelServer } from '../tunnel.server';
import { deriveRelayKey, RELAY_AUTH_HEADER, RelayAuthVerifier } from './relay-auth';
import { keepAlive, parseTextFrame, RELAY_PATH, toOwnerFrame, type ToRelayFrame } from './relay-frames';
import { advertisedRelayUrl, RELAY_PING_MS } from './relay-settings';
import { ReplicaDirectory } from './replica-directory';

const ADVERTISE_TTL_MS = 15_000;

/**
 * The owner's end of the hub-to-hub relay: an internal listener (`relay.listen`, loopback by
 * default) where other replicas open streams to nodes whose agent is connected here. Each
 * connection carries one stream and keeps nothing: output goes on as the agent sends it (within
 * the credit the far consumer granted), input goes to the agent within the agent's credit.
 */
@Injectable()
export class RelayServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private server?: Server;
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 4 * STREAM_CHUNK_BYTES,
  });
  private readonly verifier: RelayAuthVerifier;
  readonly directory: ReplicaDirectory;
  private url?: string;
  private timer?: NodeJS.Timeout;
  /** Streams this replica holds for another replica's users. */
  relayedIn = 0;

  constructor(
    private readonly tunnel: TunnelServer,
    redis: RedisService,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.verifier = new RelayAuthVerifier(deriveRelayKey(config.secrets.encryptionKey), () => HUB_INSTANCE_ID);
    this.directory = new ReplicaDirectory(redis.client, (...p) => redis.key(...p), ADVERTISE_TTL_MS);
  }

  async onApplicationBootstrap(): Promise<void> {
    const { host, port } = this.config.relay.listen;
    const server = createServer((_req, res) =>
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"error":"relay connections only","code":"not_found"}'),
    );
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    this.url = advertisedRelayUrl(this.config.relay, (server.address() as AddressInfo).port);
    await this.advertise();
    this.timer = setInterval(() => void this.advertise(), ADVERTISE_TTL_MS / 3);
    this.log.info({ url: this.url }, 'stream relay listening');
  }

  private async advertise(): Promise<void> {
    try {
      await this.directory.advertise(HUB_INSTANCE_ID, this.url!);
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'advertising the stream relay address failed; retrying');
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = new URL(req.url ?? '/', 'http://relay.invalid').pathname;
    const header = req.headers[RELAY_AUTH_HEADER];
    const auth = this.verifier.verify(typeof header === 'string' ? header : undefined);
    if (path !== RELAY_PATH || !auth.ok) {
      const status = path !== RELAY_PATH ? '404 Not Found' : '401 Unauthorized';
      if (!auth.ok) this.log.warn({ from: req.socket.remoteAddress, reason: auth.reason }, 'relay connection refused');
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, auth.from));
  }

  private serve(ws: WebSocket, from: string): void {
    ws.on('error', (err) => this.log.debug({ from, reason: err.message }, 'relay connection error'));
    keepAlive(ws, RELAY_PING_MS);
    const send = (frame: ToRelayFrame) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
    };
    let stream: AgentStream | undefined;
    let gone = false;
    ws.on('close', () => {
      gone = true;
      stream?.close('the relaying hub replica went away');
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        // Within the credit this replica passed on, so the agent stream never queues it.
        stream?.write(data);
        return;
      }
      const frame = parseTextFrame(toOwnerFrame, data);
      if (!frame) return ws.close(1008, 'invalid relay frame');
      if (frame.type !== 'open') {
        if (!stream) return;
        if (frame.type === 'credit') stream.consumed(frame.bytes);
        else if (frame.type === 'resize') stream.resize(frame.cols, frame.rows);
        else if (frame.type === 'eof') void stream.endInput();
        else stream.close(frame.reason);
        return;
      }
      if (stream) return ws.close(1008, 'one stream per relay connection');
      const session = this.tunnel.session(frame.node_id);
      if (!session) {
        send({
          type: 'refused',
          code: 'not_owner',
          message: `the node's agent is not connected to replica ${HUB_INSTANCE_ID}`,
        });
        return ws.close(1000, 'not owner');
      }
      this.tunnel.streams.open(session, frame.kind, frame.params, frame.timeout_ms, frame.output_credit).then(
        (opened) => {
          if (gone) return opened.close('the relaying hub replica went away');
          stream = opened;
          this.relayedIn++;
          send({ type: 'opened', meta: opened.meta, initial_credit: opened.availableCredit });
          opened.onCreditGranted((bytes) => send({ type: 'credit', bytes }));
          opened.onData((chunk) => {
            if (ws.readyState === WebSocket.OPEN) ws.send(chunk, { binary: true });
          });
          opened.onClose((info) => {
            this.relayedIn--;
            send({ type: 'closed', info });
            if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'stream closed');
          });
        },
        (err: unknown) => {
          const e = err instanceof StreamOpenError ? err : new StreamOpenError('agent_error', (err as Error).message);
          send({ type: 'refused', code: e.code, message: e.message });
          ws.close(1000, 'refused');
        },
      );
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    if (this.url) await this.directory.withdraw(HUB_INSTANCE_ID, this.url).catch(() => undefined);
    for (const ws of this.wss.clients) ws.close(1001, 'hub replica shutting down');
    if (this.wss.clients.size) await new Promise((r) => setTimeout(r, 200));
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

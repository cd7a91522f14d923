import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { StreamKind } from '@hostplane/protocol';
import { HUB_CONFIG } from '../../config/config.module';
import type { HubConfig } from '../../config/load-config';
import { DomainError } from '../../http/errors';
import { HUB_LOGGER } from '../../http/logger';
import { RedisService } from '../../redis/redis.service';
import { HUB_INSTANCE_ID } from '../hub-instance';
import { NodeOwnership } from '../node-ownership';
import type { HubStream } from '../tunnel-streams';
import { TunnelServer } from '../tunnel.server';
import { deriveRelayKey, relayCredential } from './relay-auth';
import { NotOwnerError, RelayedStream } from './relayed-stream';
import { RELAY_PING_MS } from './relay-settings';
import { ReplicaDirectory, ownerReplica } from './replica-directory';

/** No replica holds a live socket for the node (or none could be reached in time). */
export class NodeNotConnectedError extends DomainError {
  constructor(detail?: string) {
    super(`the node is not connected to the hub right now${detail ? ` (${detail})` : ''}`, 'node_offline', 409);
  }
}

/** How long an open keeps looking for the owner while an agent moves between replicas. */
const FIND_OWNER_MS = 3_000;
const RETRY_MS = 200;

/**
 * The one way to open a stream to a node. On the replica that holds the node's socket it is an
 * agent stream; on any other, the same interface relayed to that replica over its internal
 * listener. Callers do not care which.
 */
@Injectable()
export class NodeStreams {
  private readonly ownership: NodeOwnership;
  private readonly directory: ReplicaDirectory;
  private readonly key: Buffer;
  /** Streams this replica relays to another replica. */
  relayedOut = 0;

  constructor(
    private readonly tunnel: TunnelServer,
    redis: RedisService,
    @Inject(HUB_CONFIG) config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    const { heartbeatSeconds, offlineAfterMissed } = config.agents;
    this.ownership = new NodeOwnership(
      redis.client,
      (...p) => redis.key(...p),
      heartbeatSeconds * (offlineAfterMissed + 1) * 1000,
    );
    this.directory = new ReplicaDirectory(redis.client, (...p) => redis.key(...p), 0);
    this.key = deriveRelayKey(config.secrets.encryptionKey);
  }

  /** Throws NodeNotConnectedError (409 node_offline), or StreamOpenError with the agent's code. */
  async open(nodeId: string, kind: StreamKind, params: unknown, timeoutMs = 10_000): Promise<HubStream> {
    const until = Date.now() + FIND_OWNER_MS;
    let lastProblem: string | undefined;
    for (;;) {
      const local = this.tunnel.session(nodeId);
      if (local) return this.tunnel.streams.open(local, kind, params, timeoutMs);
      const owner = await this.ownership.owner(nodeId).catch((err: Error) => {
        throw new NodeNotConnectedError(`its owner cannot be looked up: ${err.message}`);
      });
      if (owner === null) throw new NodeNotConnectedError(lastProblem);
      const replica = ownerReplica(owner);
      // Our own key without a ready session: the agent is between connect and hello.
      if (replica !== HUB_INSTANCE_ID) {
        const url = await this.directory.address(replica);
        if (url) {
          try {
            const stream = await RelayedStream.open(
              { url, credential: relayCredential(this.key, HUB_INSTANCE_ID, replica), pingMs: RELAY_PING_MS },
              nodeId,
              kind,
              params,
              timeoutMs,
            );
            this.relayedOut++;
            stream.onClose(() => this.relayedOut--);
            return stream;
          } catch (err) {
            if (!(err instanceof NotOwnerError)) throw err;
            lastProblem = err.message;
          }
        } else {
          lastProblem = `replica ${replica} holding it is not reachable`;
        }
      }
      if (Date.now() + RETRY_MS > until) {
        this.log.warn({ nodeId, kind, owner, problem: lastProblem }, 'no replica could open the stream');
        throw new NodeNotConnectedError(lastProblem);
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

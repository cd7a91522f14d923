import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { Hello, MetricsSample } from '@hostplane/protocol';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import { EventsService } from '../events/events.service';
import { HUB_LOGGER } from '../http/logger';
import type { AgentAuthResult, NodeRecords } from '../tunnel/node-records.port';
import { AgentAuthService } from './agent-auth';
import { NodeTelemetryWriter } from './node-telemetry';

/**
 * The nodes domain's side of the tunnel: every write the agent connection lifecycle makes to
 * the `nodes` table (epoch, online/offline, hello facts, inventory, heartbeats), and the
 * `node.online`/`node.offline` user events that go with them.
 */
@Injectable()
export class NodeConnectionRecords implements NodeRecords, OnModuleInit {
  private readonly telemetry: NodeTelemetryWriter;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly auth: AgentAuthService,
    private readonly userEvents: EventsService,
    private readonly domainEvents: DomainEventBus,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.telemetry = new NodeTelemetryWriter(db);
  }

  onModuleInit(): void {
    this.domainEvents.on('agent.inventory', ({ nodeId, inventory }) =>
      this.db
        .query(`UPDATE nodes SET inventory = $2, inventory_updated_at = now() WHERE id = $1`, [
          nodeId,
          JSON.stringify(inventory),
        ])
        .then(
          () => undefined,
          (err: unknown) => this.log.error({ err, nodeId }, 'storing inventory failed'),
        ),
    );
  }

  authenticate(token: string | undefined, protocol: number | undefined): Promise<AgentAuthResult> {
    return this.auth.authenticate(token, protocol);
  }

  async nextEpoch(nodeId: string): Promise<number | null> {
    const rows = (await this.db.query(
      `UPDATE nodes SET connection_epoch = connection_epoch + 1 WHERE id = $1 RETURNING connection_epoch`,
      [nodeId],
    )) as [{ connection_epoch: string }[], number];
    const epoch = Number(rows[0][0]?.connection_epoch);
    return epoch || null;
  }

  async markOnline(nodeId: string, epoch: number, orgId: string, hello: Hello): Promise<void> {
    const rows = (await this.db.query(
      `UPDATE nodes n SET status = 'online', hostname = $3, os = $4, arch = $5, agent_version = $6, protocol_version = $7,
              drivers = $8, capabilities = $9, connected_at = now(), last_seen_at = now()
         FROM (SELECT id, status AS previous FROM nodes WHERE id = $1 FOR UPDATE) old
        WHERE n.id = old.id AND n.connection_epoch = $2
        RETURNING old.previous`,
      [
        nodeId,
        epoch,
        hello.hostname,
        hello.os,
        hello.arch,
        hello.agent_version,
        hello.protocol_version,
        JSON.stringify(hello.drivers),
        JSON.stringify(hello.capabilities),
      ],
    )) as [{ previous: string }[], number] | { previous: string }[];
    const list = Array.isArray(rows[0]) ? (rows[0] as { previous: string }[]) : (rows as { previous: string }[]);
    if (list[0] && list[0].previous !== 'online') {
      void this.userEvents.publish(orgId, 'node.online', { node_id: nodeId, hostname: hello.hostname });
    }
  }

  async markOffline(nodeId: string, epoch: number, orgId: string, reason: string): Promise<void> {
    const rows = (await this.db.query(
      `UPDATE nodes SET status = 'offline' WHERE id = $1 AND connection_epoch = $2 AND status = 'online' RETURNING id`,
      [nodeId, epoch],
    )) as unknown[];
    const changed = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : rows.length;
    if (changed) void this.userEvents.publish(orgId, 'node.offline', { node_id: nodeId, reason });
  }

  async markSilentOffline(silentSeconds: number, heldHere: string[]): Promise<void> {
    const rows = (await this.db.query(
      `UPDATE nodes SET status = 'offline'
        WHERE status = 'online' AND (last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => $1))
          AND NOT (id = ANY($2::uuid[]))
        RETURNING id, org_id`,
      [silentSeconds, heldHere],
    )) as [{ id: string; org_id: string }[], number];
    for (const r of rows[0] ?? []) {
      void this.userEvents.publish(r.org_id, 'node.offline', { node_id: r.id, reason: 'heartbeats stopped' });
    }
  }

  recordHeartbeat(nodeId: string, sample: MetricsSample | null): void {
    this.telemetry.record(nodeId, sample);
  }

  flushHeartbeats(): Promise<void> {
    return this.telemetry.flush();
  }

  forgetHeartbeats(nodeId: string): void {
    this.telemetry.forget(nodeId);
  }
}

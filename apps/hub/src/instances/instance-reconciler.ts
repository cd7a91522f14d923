import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { In } from 'typeorm';
import type { AnyJob } from '@hostplane/protocol';
import { EventsService } from '../events/events.service';
import { HUB_LOGGER } from '../http/logger';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import type { AgentSession } from '../tunnel/agent-session';
import { InstancesService } from './instances.service';

const SYSTEM = { type: 'system' as const, id: null, name: 'reconciler' };

/**
 * When an agent (re)connects, its `hello` lists every instance on the host with its state. The
 * hub takes that state as fact, then closes the gap to the desired state: a stopped instance
 * meant to run is started, a running one meant to be stopped is stopped, a running one meant to
 * run is left alone (never restarted needlessly), and instances the hub no longer knows are
 * deleted from the host. An instance the host still has but the hub moved to another node (a
 * lost node whose instance was replaced elsewhere) is a duplicate: the replacement is kept and the
 * returning host's copy is stopped and removed. A migrating instance is left to its migration.
 */
@Injectable()
export class InstanceReconciler implements OnModuleInit {
  constructor(
    private readonly domainEvents: DomainEventBus,
    private readonly instances: InstancesService,
    private readonly jobs: JobDispatcher,
    private readonly events: EventsService,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {}

  onModuleInit(): void {
    this.domainEvents.on('agent.ready', (s) =>
      this.reconcile(s).catch((err: Error) =>
        this.log.warn({ nodeId: s.nodeId, reason: err.message }, 'instance reconciliation failed'),
      ),
    );
    this.domainEvents.on('instance.state', ({ nodeId, frame }) =>
      this.instances
        .applyStatus(nodeId, frame, frame.ts)
        .catch((err: Error) => this.log.warn({ reason: err.message }, 'instance state not recorded')),
    );
  }

  async reconcile(
    session: Pick<AgentSession, 'nodeId' | 'orgId' | 'hello'>,
  ): Promise<{ started: number; stopped: number; removed: number; missing: number; duplicates: number }> {
    const reported = new Map((session.hello?.instances ?? []).map((i) => [i.instance_id, i.state]));
    const rows = await this.instances.repo.findBy({ nodeId: session.nodeId });
    const counts = { started: 0, stopped: 0, removed: 0, missing: 0, duplicates: 0 };
    const enqueue = (job: AnyJob, instanceId: string) =>
      this.jobs.enqueue(
        {
          orgId: session.orgId,
          nodeId: session.nodeId,
          actor: SYSTEM,
          resources: [`/v1/instances/${instanceId}`, `/v1/nodes/${session.nodeId}`],
        },
        job,
      );
    for (const row of rows) {
      const state = reported.get(row.id);
      reported.delete(row.id);
      if (row.state === 'pending' || row.state === 'deleting') continue; // a create or delete job is on its way
      if (row.migrationId) {
        // The migration stopped it on purpose and decides where it runs next.
        if (state)
          await this.instances.applyStatus(
            session.nodeId,
            { instance_id: row.id, state, reason: null, exit_code: row.exitCode },
            null,
          );
        continue;
      }
      if (!state) {
        counts.missing++;
        await this.instances.applyStatus(
          session.nodeId,
          { instance_id: row.id, state: 'failed', reason: 'the node no longer has this instance', exit_code: null },
          null,
        );
        continue;
      }
      await this.instances.applyStatus(
        session.nodeId,
        { instance_id: row.id, state, reason: null, exit_code: row.exitCode },
        null,
      );
      if (row.desiredState === 'running' && state === 'stopped') {
        counts.started++;
        await enqueue({ kind: 'instance.start', payload: { instance_id: row.id } }, row.id);
      } else if (row.desiredState === 'stopped' && (state === 'running' || state === 'starting')) {
        counts.stopped++;
        await enqueue({ kind: 'instance.stop', payload: { instance_id: row.id } }, row.id);
      }
    }
    const elsewhere = reported.size ? await this.instances.repo.findBy({ id: In([...reported.keys()]) }) : [];
    const known = new Map(elsewhere.map((r) => [r.id, r]));
    for (const orphan of reported.keys()) {
      const row = known.get(orphan);
      // A migration to or from this node owns both copies until it ends (it removes the one it leaves).
      if (row?.migrationId) continue;
      await enqueue({ kind: 'instance.delete', payload: { instance_id: orphan } }, orphan);
      if (row && row.orgId === session.orgId) {
        counts.duplicates++;
        void this.events.publish(row.orgId, 'instance.duplicate_reconciled', {
          instance_id: orphan,
          node_id: session.nodeId,
          kept_node_id: row.nodeId,
          outcome: 'kept_replacement',
          action: 'stopped and removed the copy on the returning node',
        });
      } else counts.removed++;
    }
    if (counts.started || counts.stopped || counts.removed || counts.missing || counts.duplicates)
      this.log.info({ nodeId: session.nodeId, ...counts }, 'reconciled instances with the node');
    return counts;
  }
}

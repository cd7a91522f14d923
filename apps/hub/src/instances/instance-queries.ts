import { Injectable } from '@nestjs/common';
import type { AnyJob } from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { DomainError } from '../http/errors';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { actorOf } from '../jobs/operation-actor';
import { OperationWaiter } from '../jobs/operation-waiter';
import { TunnelServer } from '../tunnel/tunnel.server';
import type { InstanceEntity } from './instance.entity';

const ASK_TIMEOUT_S = 15;

/**
 * Reads that only the host can answer (live stats, log lines) are short jobs answered inline:
 * queued like any job (so they follow the node wherever its socket is), then awaited.
 */
@Injectable()
export class InstanceQueries {
  constructor(
    private readonly jobs: JobDispatcher,
    private readonly waiter: OperationWaiter,
    private readonly tunnel: TunnelServer,
  ) {}

  async ask(p: Principal, i: InstanceEntity, job: AnyJob): Promise<unknown> {
    const online = await this.tunnel.isOnline(i.nodeId);
    if (!online) throw new DomainError('the node of this instance is not connected right now', 'node_offline', 409);
    const op = await this.jobs.enqueue({ orgId: i.orgId, nodeId: i.nodeId, actor: actorOf(p), resources: [`/v1/instances/${i.id}`], deadlineSeconds: ASK_TIMEOUT_S }, job);
    const done = await this.waiter.wait(i.orgId, op.id, ASK_TIMEOUT_S);
    if (done.status === 'succeeded') return done.result;
    if (done.status === 'failed' || done.status === 'expired') throw new DomainError(done.error?.message ?? 'the node could not answer', done.error?.code ?? 'failed', done.error?.code === 'instance_not_found' ? 404 : 502);
    throw new DomainError(`the node did not answer within ${ASK_TIMEOUT_S} s`, 'node_timeout', 504);
  }
}

import { agentCodeError } from '../http/error-catalog';
import { NodeNotConnectedError } from '../tunnel/relay/node-streams';
import { Injectable } from '@nestjs/common';
import type { AnyJob } from '@hostplane/protocol';
import { TunnelServer } from '../tunnel/tunnel.server';
import { JobDispatcher, type JobTarget } from '../jobs/job-dispatcher';
import { OperationWaiter } from '../jobs/operation-waiter';
import { NODE_ERRORS } from './nodes.errors';

const ASK_TIMEOUT_S = 15;

/**
 * A read only the host can answer (a container's log lines), as a short job answered inline:
 * queued like any job (so it follows the node wherever its socket is), then awaited. A failure
 * on the host keeps its code: `…not_found` answers 404, anything else 502.
 */
@Injectable()
export class NodeQueries {
  constructor(
    private readonly jobs: JobDispatcher,
    private readonly waiter: OperationWaiter,
    private readonly tunnel: TunnelServer,
  ) {}

  async ask(target: Omit<JobTarget, 'deadlineSeconds'>, job: AnyJob): Promise<unknown> {
    if (!(await this.tunnel.isOnline(target.nodeId))) throw new NodeNotConnectedError();
    const op = await this.jobs.enqueue({ ...target, deadlineSeconds: ASK_TIMEOUT_S }, job);
    const done = await this.waiter.wait(target.orgId, op.id, ASK_TIMEOUT_S);
    if (done.status === 'succeeded') return done.result;
    if (done.status === 'failed' || done.status === 'expired') {
      const code = done.error?.code ?? 'failed';
      throw agentCodeError(code, done.error?.message ?? 'the node could not answer');
    }
    throw NODE_ERRORS.node_timeout.error(`the node did not answer within ${ASK_TIMEOUT_S} s`);
  }
}

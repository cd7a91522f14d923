import { agentCodeError } from '../http/error-catalog';
import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { ContainerAction, JobPayloadInput, JobResult } from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { actorOf } from '../jobs/operation-actor';
import type { OperationEntity } from '../jobs/operation.entity';
import { readableFromStream } from '../tunnel/stream-io';
import { StreamOpenError } from '../tunnel/tunnel-streams';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { HostViews } from './host-views';
import { NodeQueries } from './node-queries';
import { NodesService } from './nodes.service';

export type ContainerActionOptions = Pick<JobPayloadInput<'node.container.action'>, 'signal' | 'timeout_seconds'>;

/**
 * Docker containers on a node, whoever started them: lifecycle actions as jobs, logs read or followed through the
 * agent.
 */
@Injectable()
export class NodeContainersService {
  constructor(
    private readonly nodes: NodesService,
    private readonly jobs: JobDispatcher,
    private readonly queries: NodeQueries,
    private readonly nodeStreams: NodeStreams,
    private readonly hostViews: HostViews,
  ) {}

  async act(
    p: Principal,
    nodeId: string,
    containerId: string,
    action: ContainerAction,
    options: ContainerActionOptions = {},
  ): Promise<OperationEntity> {
    const node = await this.nodes.get(p, nodeId);
    return this.jobs.enqueue(
      {
        orgId: node.orgId,
        nodeId: node.id,
        actor: actorOf(p),
        resources: [`/v1/nodes/${node.id}`, `/v1/nodes/${node.id}/containers/${containerId}`],
      },
      { kind: 'node.container.action', payload: { container_id: containerId, action, ...options } },
    );
  }

  async logs(
    p: Principal,
    nodeId: string,
    containerId: string,
    q: { lines: number; timestamps: boolean },
  ): Promise<JobResult<'node.container.logs'> & { node_id: string }> {
    const node = await this.nodes.get(p, nodeId);
    await this.hostViews.assertContainerVisible(p, node, containerId);
    const result = (await this.queries.ask(
      {
        orgId: node.orgId,
        nodeId: node.id,
        actor: actorOf(p),
        resources: [`/v1/nodes/${node.id}/containers/${containerId}`],
      },
      { kind: 'node.container.logs', payload: { container_id: containerId, lines: q.lines, timestamps: q.timestamps } },
    )) as JobResult<'node.container.logs'>;
    return { node_id: node.id, ...result };
  }

  /** Whether `p` may still read this container's logs (an open follow re-checks it when access changes). */
  async assertLogsVisible(p: Principal, nodeId: string, containerId: string): Promise<void> {
    await this.hostViews.assertContainerVisible(p, await this.nodes.get(p, nodeId), containerId);
  }

  /**
   * The last `tail` lines, then new output until the container stops or the reader goes away (destroying the Readable
   * closes the stream on the agent).
   */
  async follow(p: Principal, nodeId: string, containerId: string, tail: number): Promise<Readable> {
    const node = await this.nodes.get(p, nodeId);
    await this.hostViews.assertContainerVisible(p, node, containerId);
    try {
      const stream = await this.nodeStreams.open(node.id, 'container.logs', {
        container_id: containerId,
        tail,
        follow: true,
      });
      return readableFromStream(stream);
    } catch (err) {
      if (err instanceof StreamOpenError) throw agentCodeError(err.code, err.message);
      throw err;
    }
  }
}

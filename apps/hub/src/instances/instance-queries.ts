import { Injectable } from '@nestjs/common';
import type { AnyJob } from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { actorOf } from '../jobs/operation-actor';
import { NodeQueries } from '../nodes/node-queries';
import type { InstanceEntity } from './instance.entity';

/**
 * Reads that only the host can answer (live stats, log lines, file listings): the node's
 * inline query, attributed to the caller and linked to the instance.
 */
@Injectable()
export class InstanceQueries {
  constructor(private readonly nodes: NodeQueries) {}

  ask(p: Principal, i: InstanceEntity, job: AnyJob): Promise<unknown> {
    return this.nodes.ask(
      { orgId: i.orgId, nodeId: i.nodeId, actor: actorOf(p), resources: [`/v1/instances/${i.id}`] },
      job,
    );
  }
}

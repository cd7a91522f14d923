import type {
  Hello,
  InstanceMetrics,
  MachineEventFrame,
  InstanceStateFrame,
  Inventory,
  JobOutcome,
  JobProgress,
  ResultAck,
} from '@hostplane/protocol';

/**
 * Every in-process domain event of the hub, in one place: "something happened" facts that one
 * domain announces and any number of others react to, without the announcer importing them.
 * A capability one domain *needs* from another is an injection token instead (see
 * docs/architecture.md, "Wiring"). Payloads are plain data and protocol types so this file
 * imports no domain folder (it sits below all of them).
 */

/** One agent connection on this replica: a node and the epoch its socket claimed. */
export interface AgentConnection {
  nodeId: string;
  orgId: string;
  epoch: number;
}

/** The operation row an outcome finished, as the jobs domain recorded it. */
export interface FinishedOperation {
  id: string;
  orgId: string;
  nodeId: string | null;
  kind: string;
  payload: unknown;
}

export interface DomainEventMap {
  /** An agent finished its `hello` on this replica and was welcomed: it can take jobs. */
  'agent.ready': AgentConnection & { hello: Hello };
  /** An agent socket of this replica closed (replaced, dropped, shut down or gone). */
  'agent.closed': AgentConnection & { reason: string };
  /** An agent sent its inventory (on connect and on change). */
  'agent.inventory': AgentConnection & { inventory: Inventory };
  /** Progress of a job the agent is running. */
  'job.progress': AgentConnection & { progress: JobProgress };
  /** A job's final outcome; `ack` tells the agent it may forget the result (call it once). */
  'job.outcome': AgentConnection & { outcome: JobOutcome; ack: (a: ResultAck) => void };
  /**
   * An operation reached its final state from an agent's outcome (applied once: a repeated
   * outcome publishes nothing). Domains that own what the job acted on update their rows here.
   */
  'operation.finished': { op: FinishedOperation; outcome: JobOutcome };
  /** An API token authenticated a request for the first time ever (the audit log records it). */
  'api-token.first-used': {
    tokenId: string;
    userId: string;
    email: string;
    orgId: string;
    ip: string;
    userAgent: string | null;
    requestId: string;
  };
  /** The host reported an instance's state (ordered by the host's clock, `frame.ts`). */
  'instance.state': AgentConnection & { frame: InstanceStateFrame };
  /** Resource usage samples of an instance. */
  'instance.metrics': AgentConnection & { frame: InstanceMetrics };
  /** A VM of a macOS node changed (the agent follows `prlctl monitor-events`). */
  'machine.event': AgentConnection & { frame: MachineEventFrame };
}

export type DomainEventName = keyof DomainEventMap;
export type DomainEventHandler<K extends DomainEventName> = (event: DomainEventMap[K]) => unknown;

import type { Socket } from 'socket.io';
import type { AgentToHubEvents, Hello, HubToAgentEvents } from '@hostplane/protocol';

export interface AgentSocketData {
  nodeId: string;
  orgId: string;
  epoch: number;
}

export type AgentSocket = Socket<AgentToHubEvents, HubToAgentEvents, Record<string, never>, AgentSocketData>;

/** One live agent connection on this replica. */
export class AgentSession {
  hello: Hello | null = null;
  lastHeartbeatAt = Date.now();
  readonly connectedAt = Date.now();
  messagesIn = 0;
  bytesIn = 0;
  /** Jobs the agent reported running in its last heartbeat. */
  runningJobs: string[] = [];

  constructor(
    readonly socket: AgentSocket,
    readonly nodeId: string,
    readonly orgId: string,
    readonly epoch: number,
  ) {}

  get ready(): boolean {
    return this.hello !== null && this.socket.connected;
  }

  get maxConcurrentJobs(): number {
    return this.hello?.max_concurrent_jobs ?? 1;
  }
}

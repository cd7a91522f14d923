import { SimAgent } from '@hostplane/hub/dist/test/support/sim-agent';
import type { JobEnvelope, JobOutcome } from '@hostplane/protocol';
import { boundedAll } from './hub-client';

/** A registered node: what an agent needs to connect. */
export interface FleetNode {
  nodeId: string;
  agentToken: string;
  hostname: string;
}

/** Called when a `job` frame reaches an agent, with the time it arrived (performance.now()). */
export type JobFrameListener = (job: JobEnvelope, at: number) => void;

export interface ConnectResult {
  /** Agents welcomed in this call. */
  connected: number;
  /** Wall time from the first connection attempt to the last welcome. */
  seconds: number;
  /** Agents that still had no welcome after the retry (their error messages, first few). */
  failed: number;
  failures: string[];
}

const CONNECT_TIMEOUT_MS = 60_000;

/**
 * The simulated fleet: one SimAgent (apps/hub/test/support/sim-agent.ts, a real socket.io-client
 * connection speaking the agent protocol) per node, all in this process. Agents heartbeat at
 * the interval the hub's welcome names and answer every job at once: ack `accepted`, then a
 * succeeded `job:result`, as the real agent does for a self-test without delay.
 */
export class Fleet {
  private readonly agents: (SimAgent | undefined)[] = [];
  /** Nodes [0, attempted) have been given an agent (welcomed or failed twice). */
  private attempted = 0;
  private jobListener?: JobFrameListener;
  /** Server-side drops seen after the welcome (missed heartbeats, replaced, hub closing). */
  disconnects = 0;

  constructor(
    private readonly hubUrl: string,
    private readonly nodes: FleetNode[],
  ) {}

  get size(): number {
    return this.attempted;
  }

  onJobFrame(listener: JobFrameListener | undefined): void {
    this.jobListener = listener;
  }

  /**
   * Connects agents for nodes [size, target) with at most `window` handshakes in flight (a new
   * one starts as each welcome arrives): a bounded SYN and handshake burst, not a storm, and no
   * batch barrier waiting on the slowest handshake. Agents that fail are retried once at the end.
   */
  async connectUpTo(target: number, window: number, progress?: (done: number) => void): Promise<ConnectResult> {
    if (target > this.nodes.length)
      throw new Error(`fleet: ${target} agents asked for but only ${this.nodes.length} nodes registered`);
    const started = performance.now();
    const first = this.attempted;
    let failedNodes = await this.connectAll(range(first, target), window, undefined, progress);
    const failures: string[] = [];
    if (failedNodes.length) failedNodes = await this.connectAll(failedNodes, window, failures);
    this.attempted = Math.max(this.attempted, target);
    return {
      connected: target - first - failedNodes.length,
      seconds: (performance.now() - started) / 1000,
      failed: failedNodes.length,
      failures: failures.slice(0, 5),
    };
  }

  /** Returns the node indexes whose agent got no welcome. */
  private async connectAll(
    indexes: number[],
    window: number,
    errors?: string[],
    progress?: (done: number) => void,
  ): Promise<number[]> {
    const failed: number[] = [];
    let welcomed = 0;
    await boundedAll(indexes.length, window, async (k) => {
      const i = indexes[k]!;
      const node = this.nodes[i]!;
      const agent = new SimAgent({
        hubUrl: this.hubUrl,
        token: node.agentToken,
        hostname: node.hostname,
        onJob: (job) => this.answer(job),
      });
      try {
        await agent.connect(CONNECT_TIMEOUT_MS);
      } catch (err) {
        agent.close();
        errors?.push(`${node.hostname}: ${(err as Error).message}`);
        failed.push(i);
        return;
      }
      agent.socket.on('disconnect', (reason) => {
        if (reason !== 'io client disconnect') this.disconnects++;
      });
      this.agents[i] = agent;
      progress?.(++welcomed);
    });
    return failed;
  }

  private answer(job: JobEnvelope): JobOutcome {
    this.jobListener?.(job, performance.now());
    const marker = (job.payload as { marker?: string }).marker ?? '';
    return {
      job_id: job.job_id,
      status: 'succeeded',
      result: { line: marker, file: 'selftest.log' },
      finished_at: new Date().toISOString(),
    };
  }

  /** Agents currently connected and welcomed. */
  connectedCount(): number {
    let n = 0;
    for (const a of this.agents) if (a?.socket.connected && a.welcome) n++;
    return n;
  }

  /** Closes up to `count` agents, last connected first; returns how many are still connected. */
  closeSome(count: number): number {
    for (let i = this.agents.length - 1; i >= 0 && count > 0; i--) {
      const a = this.agents[i];
      if (!a) continue;
      a.close();
      this.agents[i] = undefined;
      count--;
    }
    return this.agents.filter(Boolean).length;
  }

  closeAll(): void {
    for (const a of this.agents) a?.close();
    this.agents.length = 0;
    this.attempted = 0;
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k);
}

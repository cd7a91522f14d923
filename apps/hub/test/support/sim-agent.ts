import { io, Socket } from 'socket.io-client';
import {
  AGENT_NAMESPACE,
  AgentToHubEvents,
  DriverInfo,
  HubToAgentEvents,
  JobEnvelope,
  JobOutcome,
  MetricsSample,
  PROTOCOL_VERSION,
  Welcome,
} from '@hostplane/protocol';

export interface SimAgentOptions {
  hubUrl: string;
  token: string;
  protocolVersion?: number;
  hostname?: string;
  /** Answer jobs: default succeeds at once with `{ echo: payload }`. */
  onJob?: (job: JobEnvelope) => Promise<JobOutcome> | JobOutcome;
  heartbeat?: boolean;
  /** What the sim says its drivers are (default: process, available). */
  drivers?: DriverInfo[];
}

export function sampleMetrics(): MetricsSample {
  return {
    ts: new Date().toISOString(),
    cpu_percent: 12.5,
    memory_used_bytes: 1_000_000,
    memory_total_bytes: 8_000_000,
    disk_used_bytes: 5_000_000,
    disk_total_bytes: 50_000_000,
    net_rx_bytes: 1000,
    net_tx_bytes: 2000,
    disk_read_bytes: 4000,
    disk_written_bytes: 8000,
    load1: 0.5,
    load5: 0.4,
    load15: 0.3,
  };
}

/**
 * A lightweight agent speaking the real protocol over a real socket.io connection: for hub
 * tests that need precise control of the agent's side (malformed frames, refusals) and for the
 * fleet simulator that opens thousands of them from one process.
 */
export class SimAgent {
  readonly socket: Socket<HubToAgentEvents, AgentToHubEvents>;
  welcome?: Welcome;
  refusals: { code: string; message: string }[] = [];
  errors: { code: string; message: string }[] = [];
  jobs: JobEnvelope[] = [];
  private seq = 0;
  private hb?: NodeJS.Timeout;
  private readonly done = new Map<string, JobOutcome>();

  constructor(private readonly opts: SimAgentOptions) {
    this.socket = io(opts.hubUrl + AGENT_NAMESPACE, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      extraHeaders: {
        'x-agent-token': opts.token,
        'x-hostplane-protocol': String(opts.protocolVersion ?? PROTOCOL_VERSION),
      },
      auth: { token: opts.token, protocol_version: opts.protocolVersion ?? PROTOCOL_VERSION, agent_version: 'sim' },
    });
    this.socket.on('refused', (r) => this.refusals.push(r));
    this.socket.on('error', (e) => this.errors.push(e));
    this.socket.on('job', (job, ack) => {
      this.jobs.push(job as JobEnvelope);
      const env = job as JobEnvelope;
      const seen = this.done.get(env.job_id);
      if (seen) return ack({ status: 'done', outcome: seen });
      ack({ status: 'accepted' });
      void Promise.resolve(
        this.opts.onJob
          ? this.opts.onJob(env)
          : {
              job_id: env.job_id,
              status: 'succeeded' as const,
              result: { echo: env.payload },
              finished_at: new Date().toISOString(),
            },
      ).then((outcome) => {
        this.done.set(env.job_id, outcome);
        this.socket.emit('job:result', outcome, () => undefined);
      });
    });
  }

  /** Resolves after the welcome, or rejects with the hub's refusal. */
  connect(timeoutMs = 10_000): Promise<Welcome> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('sim agent: no welcome')), timeoutMs);
      this.socket.once('connect_error', (err: Error & { data?: { code: string; message: string } }) => {
        clearTimeout(timer);
        reject(Object.assign(new Error(err.message), { data: err.data }));
      });
      this.socket.once('connect', () => {
        this.socket.emit(
          'hello',
          {
            protocol_version: this.opts.protocolVersion ?? PROTOCOL_VERSION,
            agent_version: 'sim',
            hostname: this.opts.hostname ?? 'sim-host',
            os: 'linux',
            arch: 'x64',
            drivers: this.opts.drivers ?? [{ name: 'process', available: true, version: null }],
            capabilities: [],
            max_concurrent_jobs: 8,
            running_jobs: [],
          },
          (answer) => {
            clearTimeout(timer);
            if ('node_id' in answer) {
              this.welcome = answer as Welcome;
              if (this.opts.heartbeat !== false) this.startHeartbeats(this.welcome.heartbeat_interval_ms);
              resolve(this.welcome);
            } else reject(Object.assign(new Error(answer.message), { data: answer }));
          },
        );
      });
    });
  }

  heartbeatNow(): void {
    this.socket.emit('heartbeat', { seq: this.seq++, metrics: sampleMetrics(), running_jobs: [] });
  }

  private startHeartbeats(ms: number): void {
    this.heartbeatNow();
    this.hb = setInterval(() => this.heartbeatNow(), ms);
  }

  /** Send anything, bypassing types: for malformed-frame tests. */
  emitRaw(event: string, payload: unknown): void {
    (this.socket as unknown as { emit(e: string, p: unknown): void }).emit(event, payload);
  }

  close(): void {
    if (this.hb) clearInterval(this.hb);
    this.socket.disconnect();
  }
}

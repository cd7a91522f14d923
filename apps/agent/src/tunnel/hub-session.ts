import type { Socket } from 'socket.io-client';
import type { z } from 'zod';
import {
  AgentToHubEvents,
  HUB_TO_AGENT,
  HubToAgentEvents,
  Inventory,
  InstanceMetrics,
  InstanceStateFrame,
  JobAck,
  JobOutcome,
  JobProgress,
  MachineEventFrame,
  parseFrame,
  ProtocolError,
  resultAck,
  StreamClose,
  StreamOpenAck,
} from '@hostplane/protocol';
import type { AgentLogger } from '../logging/logger';

export type AgentSocket = Socket<HubToAgentEvents, AgentToHubEvents>;
type InboundEvent = keyof typeof HUB_TO_AGENT;
export type InboundFrame<E extends InboundEvent> = z.infer<(typeof HUB_TO_AGENT)[E]>;
type RawListener = (...args: unknown[]) => void;

/**
 * The agent's view of one connected hub socket: every received frame is validated against the
 * protocol before a handler sees it (an invalid one is answered with an `error` frame), handler
 * failures are logged, never thrown, and sends are typed by the protocol's event maps.
 */
export class HubSession {
  constructor(
    private readonly socket: AgentSocket,
    private readonly log: AgentLogger,
    private readonly ackTimeoutMs: number,
  ) {}

  /**
   * Frames without an answer: `job:cancel`, `stream:data`, `stream:credit`, `stream:control`, `stream:close`, `error`.
   */
  on<E extends Exclude<InboundEvent, 'job' | 'stream:open' | 'welcome' | 'refused'>>(
    event: E,
    handler: (frame: InboundFrame<E>) => void,
  ): void {
    this.listen(event, (raw) => {
      const parsed = parseFrame(event, HUB_TO_AGENT[event], raw);
      if (!parsed.ok) return this.reportInvalid(parsed.error);
      this.guard(event, () => handler(parsed.value as InboundFrame<E>));
    });
  }

  /**
   * `job` frames. `preCheck` may answer a frame before schema validation (an unknown kind deserves
   * a clearer rejection than "invalid frame"); otherwise the handler answers through `reply`, once.
   */
  onJob(
    handler: (frame: InboundFrame<'job'>, reply: (answer: JobAck) => void) => Promise<void>,
    preCheck: (raw: unknown) => JobAck | null,
  ): void {
    this.listen('job', (raw, ack) => {
      const reply = once((answer: JobAck) =>
        typeof ack === 'function' ? (ack as (a: JobAck) => void)(answer) : undefined,
      );
      const early = preCheck(raw);
      if (early) return reply(early);
      const parsed = parseFrame('job', HUB_TO_AGENT.job, raw);
      if (!parsed.ok) {
        this.reportInvalid(parsed.error);
        return reply({ status: 'rejected', error: { code: parsed.error.code, message: parsed.error.message } });
      }
      this.guard(
        'job',
        () => handler(parsed.value, reply),
        () =>
          reply({
            status: 'rejected',
            error: { code: 'agent_error', message: 'the agent failed while taking the job; see its log' },
          }),
      );
    });
  }

  onStreamOpen(handler: (frame: InboundFrame<'stream:open'>) => StreamOpenAck | Promise<StreamOpenAck>): void {
    this.listen('stream:open', (raw, ack) => {
      const reply = (answer: StreamOpenAck) =>
        typeof ack === 'function' ? (ack as (a: StreamOpenAck) => void)(answer) : undefined;
      const parsed = parseFrame('stream:open', HUB_TO_AGENT['stream:open'], raw);
      if (!parsed.ok) {
        this.reportInvalid(parsed.error);
        return reply({ ok: false, error: { code: parsed.error.code, message: parsed.error.message } });
      }
      this.guard(
        'stream:open',
        async () => reply(await handler(parsed.value)),
        () => reply({ ok: false, error: { code: 'agent_error', message: 'the agent failed opening the stream' } }),
      );
    });
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  sendError(error: ProtocolError): void {
    if (this.socket.connected) this.socket.emit('error', error);
  }

  sendHeartbeat(frame: Parameters<AgentToHubEvents['heartbeat']>[0]): void {
    if (this.socket.connected) this.socket.emit('heartbeat', frame);
  }

  sendInventory(inventory: Inventory): void {
    if (this.socket.connected) this.socket.emit('inventory', inventory);
  }

  sendInstanceState(frame: InstanceStateFrame): void {
    if (this.socket.connected) this.socket.emit('instance:state', frame);
  }

  sendMachineEvent(frame: MachineEventFrame): void {
    if (this.socket.connected) this.socket.emit('machine:event', frame);
  }

  sendInstanceMetrics(frame: InstanceMetrics): void {
    if (this.socket.connected) this.socket.emit('instance:metrics', frame);
  }

  sendProgress(progress: JobProgress): void {
    if (this.socket.connected) this.socket.emit('job:progress', progress);
  }

  /** Resolves true when the hub answers `{ok: true}`; false on `{ok: false}`, a timeout or a disconnect. */
  sendResult(outcome: JobOutcome): Promise<boolean> {
    if (!this.socket.connected) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.socket.timeout(this.ackTimeoutMs).emit('job:result', outcome, (err: Error | null, answer: unknown) => {
        resolve(!err && resultAck.safeParse(answer).data?.ok === true);
      });
    });
  }

  sendStreamData(streamId: string, data: Buffer): void {
    if (this.socket.connected) this.socket.emit('stream:data', { stream_id: streamId, data });
  }

  sendStreamCredit(streamId: string, bytes: number): void {
    if (this.socket.connected) this.socket.emit('stream:credit', { stream_id: streamId, bytes });
  }

  sendStreamClose(frame: StreamClose): void {
    if (this.socket.connected) this.socket.emit('stream:close', frame);
  }

  private listen(event: string, listener: (raw: unknown, ack: unknown) => void): void {
    (this.socket as unknown as { on(event: string, fn: RawListener): void }).on(event, (...args: unknown[]) => {
      const ack = args.length > 1 && typeof args[args.length - 1] === 'function' ? args[args.length - 1] : undefined;
      listener(args[0], ack);
    });
  }

  private reportInvalid(error: ProtocolError): void {
    this.log.warn({ event: error.event, problem: error.message }, 'invalid frame from the hub');
    this.sendError(error);
  }

  /** Runs a handler so that neither a throw nor a rejection escapes into socket.io. */
  private guard(event: string, run: () => void | Promise<void>, onFailure?: () => void): void {
    const failed = (err: unknown) => {
      this.log.error({ err, event }, 'handling a hub frame failed');
      onFailure?.();
    };
    try {
      const result = run();
      if (result instanceof Promise) result.catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}

function once<T>(fn: (v: T) => void): (v: T) => void {
  let called = false;
  return (v) => {
    if (called) return;
    called = true;
    fn(v);
  };
}

import type { InstanceStateFrame } from '@hostplane/protocol';

export interface InstanceStateSink {
  readonly connected: boolean;
  sendInstanceState(frame: InstanceStateFrame): void;
}

/**
 * Forwards drivers' state changes as `instance:state` frames once the tunnel is welcomed. While
 * disconnected they wait, the latest per instance winning (the hub wants the current state, not
 * the history); after a reconnect `hello.instances` carries every state as well.
 */
export class InstanceStateRelay {
  private readonly pending = new Map<string, InstanceStateFrame>();
  private sink: InstanceStateSink | null = null;

  push(frame: InstanceStateFrame): void {
    if (this.sink?.connected) return this.sink.sendInstanceState(frame);
    this.pending.delete(frame.instance_id);
    this.pending.set(frame.instance_id, frame);
  }

  attach(sink: InstanceStateSink): void {
    this.sink = sink;
    for (const frame of [...this.pending.values()]) {
      this.pending.delete(frame.instance_id);
      this.push(frame);
    }
  }

  detach(sink: InstanceStateSink): void {
    if (this.sink === sink) this.sink = null;
  }

  get queued(): number {
    return this.pending.size;
  }
}

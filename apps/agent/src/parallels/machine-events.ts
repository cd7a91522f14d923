import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { MachineEventFrame, MachineState } from '@hostplane/protocol';
import { spawnFollower } from '../exec/run-command';
import type { AgentLogger } from '../logging/logger';
import { parseMonitorEventLine, PrlEvent } from './prl-parsers';
import { PrlHost } from './prl-host';

const RESTART_MS = 1000;

/**
 * Follows `prlctl monitor-events --json` and turns what it prints into machine events: a state
 * change with the state before (from the VMs listed when following began, then kept up to date),
 * a VM added, removed (unregistered or deleted), its snapshots changed. When the monitor ends it
 * is started again after a second, and the list is read again so no previous state is stale.
 */
export class MachineEventFollower {
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly known = new Map<string, { name: string; state: MachineState }>();
  /** How many times the monitor was (re)started: tests and logs read it. */
  starts = 0;
  /** Told of every monitor line about a VM, address changes included (the reverse proxy follows them). */
  onVmEvent: ((vmId: string) => void) | null = null;

  constructor(
    private readonly host: PrlHost,
    private readonly emit: (frame: MachineEventFrame) => void,
    private readonly log?: AgentLogger,
  ) {}

  start(): void {
    if (this.closed || this.child) return;
    void this.follow();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.child?.kill('SIGTERM');
    this.child = null;
  }

  private async follow(): Promise<void> {
    // The monitor first, then the list: a change between the two is seen by both, never by neither.
    const child = spawnFollower(this.host.argv('prlctl', ['monitor-events', '--json']), this.host.exec.options.env);
    this.child = child;
    this.starts += 1;
    child.on('error', (err) => this.log?.warn({ err: err.message }, 'prlctl monitor-events could not run'));
    child.stderr?.resume();
    child.on('close', () => {
      if (this.child === child) this.child = null;
      if (this.closed) return;
      this.timer = setTimeout(() => void this.follow(), RESTART_MS);
      this.timer.unref();
    });
    const lines = createInterface({ input: child.stdout! });
    let seeding: Promise<void> = this.host
      .machines()
      .then((list) => {
        this.known.clear();
        for (const m of list) this.known.set(m.id, { name: m.name, state: m.state });
      })
      .catch((err: Error) => this.log?.warn({ err: err.message }, 'could not list VMs for the event monitor'));
    lines.on('line', (line) => {
      const event = parseMonitorEventLine(line);
      if (!event) return;
      this.onVmEvent?.(event.vmId);
      seeding = seeding.then(() => this.onEvent(event)).catch(() => undefined);
    });
  }

  private async onEvent(e: PrlEvent): Promise<void> {
    const seen = this.known.get(e.vmId) ?? null;
    const frame = (type: MachineEventFrame['type'], previous: MachineState | null, current: MachineState | null) =>
      this.emit({ type, vm_id: e.vmId, vm_name: seen?.name ?? null, previous, current, ts: new Date().toISOString() });
    switch (e.name) {
      case 'vm_state_changed': {
        const previous = seen?.state ?? null;
        if (e.state === null || previous === e.state) return;
        frame('machine.state_changed', previous, e.state);
        if (seen) seen.state = e.state;
        return;
      }
      case 'vm_added': {
        const m = await this.host.machine(e.vmId).catch(() => null);
        if (m) this.known.set(m.id, { name: m.name, state: m.state });
        this.emit({
          type: 'machine.added',
          vm_id: e.vmId,
          vm_name: m?.name ?? null,
          previous: null,
          current: m?.state ?? null,
          ts: new Date().toISOString(),
        });
        return;
      }
      case 'vm_unregistered':
      case 'vm_deleted':
        this.known.delete(e.vmId);
        frame('machine.removed', seen?.state ?? null, null);
        return;
      case 'vm_snapshots_tree_changed':
        frame('machine.snapshots_changed', seen?.state ?? null, seen?.state ?? null);
        return;
      default:
        return;
    }
  }
}

export interface MachineEventSink {
  readonly connected: boolean;
  sendMachineEvent(frame: MachineEventFrame): void;
}

const PENDING_LIMIT = 1000;

/** Sends machine events once the tunnel is welcomed; while disconnected the last 1000 wait, oldest dropped first. */
export class MachineEventRelay {
  private readonly pending: MachineEventFrame[] = [];
  private sink: MachineEventSink | null = null;

  push(frame: MachineEventFrame): void {
    if (this.sink?.connected) return this.sink.sendMachineEvent(frame);
    this.pending.push(frame);
    if (this.pending.length > PENDING_LIMIT) this.pending.shift();
  }

  attach(sink: MachineEventSink): void {
    this.sink = sink;
    for (const frame of this.pending.splice(0)) this.push(frame);
  }

  detach(sink: MachineEventSink): void {
    if (this.sink === sink) this.sink = null;
  }
}

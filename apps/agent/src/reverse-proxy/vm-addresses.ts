import { bareVmId, type Machine } from '@hostplane/protocol';

/** Lists the host's VMs (the Parallels host's `prlctl list -a -i --json`). */
export type MachineLister = () => Promise<Machine[]>;

export interface VmAddressBookOptions {
  list: MachineLister | null;
  /** How often the tracked VMs are listed again when no event said anything (a missed event heals). */
  pollMs?: number;
  /** A refresh asked for by an event or a failed connection waits this long for others to join it. */
  debounceMs?: number;
}

/** The address a proxy reaches a VM at: its first IPv4 one when it is running, else none. */
export function addressOf(m: Machine): string | null {
  if (m.state !== 'running') return null;
  const v4 = m.network.ip_addresses.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  return v4 ?? m.network.ip_addresses[0] ?? null;
}

/**
 * The current address of each VM a proxy route names. Routes read it on every request, so a
 * changed address takes effect for the next request without touching any listener. It is read
 * again when the machine monitor reports anything about a tracked VM, when a connection to a VM
 * fails, and every `pollMs` in case an event was missed.
 */
export class VmAddressBook {
  private readonly addresses = new Map<string, string | null>();
  private tracked = new Set<string>();
  private readonly listeners = new Set<(vmId: string, address: string | null) => void>();
  private poll: NodeJS.Timeout | null = null;
  private pending: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** How many times the VMs were listed: tests and the bench read it. */
  refreshes = 0;

  constructor(private readonly options: VmAddressBookOptions) {}

  /** The VMs routes name now; the others are forgotten. Answers once their addresses are known. */
  async track(vmIds: Iterable<string>): Promise<void> {
    this.tracked = new Set([...vmIds].map(bareVmId));
    for (const id of [...this.addresses.keys()]) if (!this.tracked.has(id)) this.addresses.delete(id);
    if (this.tracked.size === 0) {
      if (this.poll) clearInterval(this.poll);
      this.poll = null;
      return;
    }
    if (!this.poll && this.options.list) {
      this.poll = setInterval(() => void this.refresh(), this.options.pollMs ?? 5000);
      this.poll.unref();
    }
    await this.refresh();
  }

  address(vmId: string): string | null {
    return this.addresses.get(bareVmId(vmId)) ?? null;
  }

  onChange(fn: (vmId: string, address: string | null) => void): void {
    this.listeners.add(fn);
  }

  /** Something happened to a VM (a monitor event, a refused connection): read addresses soon. */
  changed(vmId: string | null = null): void {
    if (vmId !== null && !this.tracked.has(bareVmId(vmId))) return;
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      void this.refresh();
    }, this.options.debounceMs ?? 20);
    this.pending.unref();
  }

  /** Lists the VMs once (one list at a time; a call during one runs another right after). */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.readAll().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.running;
  }

  private async readAll(): Promise<void> {
    if (!this.options.list || this.tracked.size === 0) return;
    this.refreshes += 1;
    let list: Machine[];
    try {
      list = await this.options.list();
    } catch {
      return; // The last known addresses stay; the next poll tries again.
    }
    const byId = new Map(list.map((m) => [m.id.toLowerCase(), m]));
    for (const id of this.tracked) {
      const m = byId.get(id);
      const next = m ? addressOf(m) : null;
      if (this.addresses.get(id) === next && this.addresses.has(id)) continue;
      this.addresses.set(id, next);
      for (const fn of this.listeners) fn(id, next);
    }
  }

  close(): void {
    if (this.poll) clearInterval(this.poll);
    if (this.pending) clearTimeout(this.pending);
    this.poll = null;
    this.pending = null;
  }
}

import type { Inventory } from '@hostplane/protocol';
import type { AgentLogger } from '../logging/logger';
import { stableInventoryHash } from './collect-inventory';

export interface InventorySink {
  sendInventory(inventory: Inventory): void;
}

/**
 * Sends the full inventory when a hub session starts, then again whenever its stable part
 * changes (checked on an interval), when the last one sent is older than `volatileMaxAgeMs` (the
 * volatile sections, processes and containers, are not in the change check), or when a refresh
 * is asked for.
 */
export class InventoryReporter {
  private sink: InventorySink | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastSentHash: string | null = null;
  private lastSentAt = 0;
  private checking = false;
  private refreshing = false;
  private refreshAgain = false;

  constructor(
    private readonly collect: () => Promise<Inventory>,
    private readonly checkIntervalMs: number,
    private readonly log: AgentLogger,
    private readonly volatileMaxAgeMs = 60_000,
  ) {}

  attach(sink: InventorySink): void {
    this.detach();
    this.sink = sink;
    this.timer = setInterval(() => void this.sendIfChanged(), this.checkIntervalMs);
    this.timer.unref();
    void this.refresh().catch((err: unknown) => this.log.error({ err }, 'collecting the inventory failed'));
  }

  detach(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sink = null;
  }

  /** Collects now and sends regardless of change (when a session is attached). */
  async refresh(): Promise<Inventory> {
    const inventory = await this.collect();
    this.send(inventory);
    return inventory;
  }

  /**
   * Refreshes after a change the agent made itself (a host write), without waiting for the next
   * check: calls while one runs fold into one more run after it.
   */
  refreshSoon(): void {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    void this.refresh()
      .catch((err: unknown) => this.log.error({ err }, 'collecting the inventory failed'))
      .finally(() => {
        this.refreshing = false;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.refreshSoon();
        }
      });
  }

  private send(inventory: Inventory): void {
    if (!this.sink) return;
    this.sink.sendInventory(inventory);
    this.lastSentHash = stableInventoryHash(inventory);
    this.lastSentAt = Date.now();
    this.log.debug({ processes: inventory.processes.length, disks: inventory.disks.length }, 'inventory sent');
  }

  private async sendIfChanged(): Promise<void> {
    if (this.checking || !this.sink) return;
    this.checking = true;
    try {
      const inventory = await this.collect();
      if (stableInventoryHash(inventory) !== this.lastSentHash) {
        this.log.info('inventory changed; sending it');
        this.send(inventory);
      } else if (Date.now() - this.lastSentAt >= this.volatileMaxAgeMs) {
        this.send(inventory);
      }
    } catch (err) {
      this.log.error({ err }, 'collecting the inventory failed');
    } finally {
      this.checking = false;
    }
  }
}

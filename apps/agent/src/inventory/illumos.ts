import {
  ILLUMOS_INVENTORY_CAPS,
  type IllumosInventory,
  type IllumosInventoryList,
  type InventoryZone,
} from '@hostplane/protocol';
import type { HostExec } from '../illumos/host-exec';
import { runHostOperation } from '../illumos/host-operations';
import { parseZadmShow, zoneSizing } from '../illumos/parsers/zadm';
import { parseZonecfgInfo, type ZoneListEntry } from '../illumos/parsers/zones';

type Sizing = ReturnType<typeof zoneSizing>;
const UNKNOWN: Sizing = { ram: null, vcpus: null, autoboot: null, nets: [] };

/**
 * The illumos part of the inventory: the same lists the live reads return (`zones.list`,
 * `network.vnics.list`, `storage.datasets.list`, `storage.pools.list`), each cut at its cap. A
 * zone's memory and CPUs need its configuration, one command per zone: those are kept between
 * rounds and read for at most `configReadsPerRound` zones per round, so a host with hundreds of
 * zones costs a few commands per check, not hundreds. A host write forgets them (`invalidate`).
 */
export class IllumosInventoryCollector {
  private readonly sizing = new Map<string, { sizing: Sizing; readAt: number }>();

  constructor(
    private readonly exec: HostExec,
    private readonly options: { configReadsPerRound: number; configMaxAgeMs: number } = {
      configReadsPerRound: 25,
      configMaxAgeMs: 10 * 60_000,
    },
  ) {}

  invalidate(): void {
    this.sizing.clear();
  }

  /** Undefined where `zoneadm` does not answer: no illumos section rather than an empty one. */
  async collect(): Promise<IllumosInventory | undefined> {
    let listed: ZoneListEntry[];
    try {
      listed = (await runHostOperation(this.exec, 'zones.list', {})) as ZoneListEntry[];
    } catch {
      return undefined;
    }
    const truncated: IllumosInventoryList[] = [];
    const cap = <T>(name: IllumosInventoryList, list: T[]): T[] => {
      if (list.length <= ILLUMOS_INVENTORY_CAPS[name]) return list;
      truncated.push(name);
      return list.slice(0, ILLUMOS_INVENTORY_CAPS[name]);
    };
    const list = async <T>(operation: string): Promise<T[]> => {
      try {
        return (await runHostOperation(this.exec, operation, {})) as T[];
      } catch {
        return [];
      }
    };
    const zones = await this.withSizing(cap('zones', listed));
    const [vnics, datasets, pools] = await Promise.all([
      list<IllumosInventory['vnics'][number]>('network.vnics.list'),
      list<IllumosInventory['datasets'][number]>('storage.datasets.list'),
      list<IllumosInventory['pools'][number]>('storage.pools.list'),
    ]);
    return {
      zones,
      vnics: cap('vnics', vnics),
      datasets: cap('datasets', datasets),
      pools: cap('pools', pools),
      truncated,
    };
  }

  private async withSizing(zones: ZoneListEntry[]): Promise<InventoryZone[]> {
    const now = Date.now();
    let reads = 0;
    const present = new Set(zones.map((z) => z.name));
    for (const name of this.sizing.keys()) if (!present.has(name)) this.sizing.delete(name);
    const out: InventoryZone[] = [];
    for (const zone of zones) {
      let known = this.sizing.get(zone.name);
      if ((!known || now - known.readAt > this.options.configMaxAgeMs) && reads < this.options.configReadsPerRound) {
        reads++;
        const sizing = await this.readSizing(zone.name);
        if (sizing) this.sizing.set(zone.name, (known = { sizing, readAt: now }));
      }
      const s = known?.sizing ?? UNKNOWN;
      out.push({ ...zone, ram: s.ram, vcpus: s.vcpus, autoboot: s.autoboot, nets: s.nets.slice(0, 64) });
    }
    return out;
  }

  private async readSizing(zone: string): Promise<Sizing | null> {
    try {
      const config = this.exec.has('zadm')
        ? parseZadmShow(await this.exec.stdout(['zadm', 'show', zone]))
        : parseZonecfgInfo(await this.exec.stdout(['zonecfg', '-z', zone, 'info']));
      return zoneSizing(config);
    } catch {
      // A zone deleted between the list and this read: it drops out at the next round.
      return null;
    }
  }
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError } from '../../exec/run-command';
import { HostExec } from '../../illumos/host-exec';
import { checkDataset, checkName, checkSnapshot } from '@hostplane/protocol';
import { DLADM_COLUMNS, parseShowVnic, Vnic } from '../../illumos/parsers/dladm';
import { parseZfsList, ZFS_LIST_COLUMNS } from '../../illumos/parsers/zfs';
import { parseZoneadmList, ZoneListEntry } from '../../illumos/parsers/zones';
import { kstatNumbers, parseKstat } from '../../illumos/parsers/system';
import type { ZonePlan, ZoneVnicPlan } from './zone-plan';

/**
 * The zone operations the driver needs, as argv for the illumos tools. Every name was checked by
 * planZone (or is checked here) before it reaches a command line.
 */
export class ZoneHost {
  constructor(readonly exec: HostExec) {}

  async zones(): Promise<ZoneListEntry[]> {
    return parseZoneadmList(await this.exec.stdout(['zoneadm', 'list', '-c', '-p']));
  }

  async zone(name: string): Promise<ZoneListEntry | null> {
    checkName('zone', name);
    return (await this.zones()).find((z) => z.name === name) ?? null;
  }

  /** Runs a zonecfg command file (written to a private temporary directory, removed after). */
  async configure(zone: string, script: string): Promise<void> {
    checkName('zone', zone);
    const dir = mkdtempSync(join(tmpdir(), 'hp-zonecfg-'));
    try {
      const file = join(dir, 'zone.cfg');
      writeFileSync(file, script, { mode: 0o600 });
      await this.exec.run(['zonecfg', '-z', zone, '-f', file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async install(zone: string): Promise<void> {
    await this.exec.run(['zoneadm', '-z', checkName('zone', zone), 'install'], { timeoutMs: 30 * 60_000 });
  }

  /** Makes a configured zone installed over a zonepath that is already there (received from another host). */
  async attach(zone: string): Promise<void> {
    await this.exec.run(['zoneadm', '-z', checkName('zone', zone), 'attach'], { timeoutMs: 30 * 60_000 });
  }

  async boot(zone: string): Promise<void> {
    await this.exec.run(['zoneadm', '-z', checkName('zone', zone), 'boot']);
  }

  /** A clean shutdown; false when it did not finish within `timeoutMs` (the caller halts then). */
  async shutdown(zone: string, timeoutMs: number): Promise<boolean> {
    try {
      await this.exec.run(['zoneadm', '-z', checkName('zone', zone), 'shutdown'], {
        timeoutMs: Math.max(100, timeoutMs),
      });
      return true;
    } catch (err) {
      if (err instanceof CommandError && err.failure === 'timeout') return false;
      throw err;
    }
  }

  async halt(zone: string): Promise<void> {
    await this.exec.run(['zoneadm', '-z', checkName('zone', zone), 'halt']);
  }

  async uninstall(zone: string): Promise<void> {
    await this.exec.run(['zoneadm', '-z', checkName('zone', zone), 'uninstall', '-F'], { timeoutMs: 10 * 60_000 });
  }

  async deleteConfig(zone: string): Promise<void> {
    await this.exec.run(['zonecfg', '-z', checkName('zone', zone), 'delete', '-F']);
  }

  async datasets(root: string): Promise<string[]> {
    try {
      return parseZfsList(
        await this.exec.stdout([
          'zfs',
          'list',
          '-H',
          '-p',
          '-r',
          '-t',
          'all',
          '-o',
          ZFS_LIST_COLUMNS.join(','),
          checkDataset('dataset', root),
        ]),
      ).map((d) => d.name);
    } catch (err) {
      if (err instanceof CommandError && /dataset does not exist/.test(err.stderrTail)) return [];
      throw err;
    }
  }

  async createVolume(dataset: string, size: string): Promise<void> {
    await this.exec.run(['zfs', 'create', '-p', '-V', size, checkDataset('dataset', dataset)]);
  }

  async cloneImage(image: string, dataset: string): Promise<void> {
    await this.exec.run(['zfs', 'clone', '-p', checkSnapshot('image', image), checkDataset('dataset', dataset)]);
  }

  async destroyDataset(dataset: string): Promise<void> {
    await this.exec.run(['zfs', 'destroy', '-r', checkDataset('dataset', dataset)]);
  }

  async vnics(): Promise<Vnic[]> {
    return parseShowVnic(await this.exec.stdout(['dladm', 'show-vnic', '-p', '-o', DLADM_COLUMNS.vnic.join(',')]));
  }

  async createVnic(v: ZoneVnicPlan): Promise<void> {
    const argv: [string, ...string[]] = ['dladm', 'create-vnic', '-l', checkName('over', v.over)];
    if (v.vlanId !== null) argv.push('-v', String(v.vlanId));
    if (v.mac !== null) argv.push('-m', v.mac);
    argv.push(checkName('vnic', v.name));
    await this.exec.run(argv);
  }

  async deleteVnic(name: string): Promise<void> {
    await this.exec.run(['dladm', 'delete-vnic', checkName('vnic', name)]);
  }

  /** rss, physcap, nsec_user, nsec_sys of a running zone and its links' byte counters. */
  async zoneKstats(
    plan: Pick<ZonePlan, 'zone' | 'vnics'>,
  ): Promise<{ rss: number; cap: number; cpuNs: number; rx: number; tx: number }> {
    const read = async (spec: string) => {
      try {
        return parseKstat(await this.exec.stdout(['kstat', '-p', spec]));
      } catch (err) {
        if (err instanceof CommandError && err.failure === 'exit') return [];
        throw err;
      }
    };
    const mem = kstatNumbers(await read(`memory_cap::${plan.zone}:`), plan.zone);
    const cpu = kstatNumbers(await read(`zones::${plan.zone}:`), plan.zone);
    let rx = 0;
    let tx = 0;
    for (const v of plan.vnics) {
      const link = kstatNumbers(await read(`link:0:${v.name}:`), v.name);
      rx += link.rbytes64 ?? 0;
      tx += link.obytes64 ?? 0;
    }
    return { rss: mem.rss ?? 0, cap: mem.physcap ?? 0, cpuNs: (cpu.nsec_user ?? 0) + (cpu.nsec_sys ?? 0), rx, tx };
  }
}

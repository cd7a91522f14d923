import { nonEmptyLines, splitParsableLine } from './parsable';

export interface ZoneListEntry {
  id: number | null;
  name: string;
  state: string;
  zonepath: string;
  uuid: string | null;
  brand: string;
  ip_type: string;
}

/** `zoneadm list -c -p`: `zoneid:zonename:state:zonepath:uuid:brand:ip-type` (zoneid `-` when not running). */
export function parseZoneadmList(output: string): ZoneListEntry[] {
  return nonEmptyLines(output).map((line) => {
    const [id, name, state, zonepath, uuid, brand, ipType] = splitParsableLine(line);
    if (name === undefined || state === undefined || brand === undefined)
      throw new Error(`unexpected zoneadm list line: ${JSON.stringify(line)}`);
    return {
      id: id === '-' ? null : Number(id),
      name,
      state,
      zonepath: zonepath ?? '',
      uuid: uuid ? uuid : null,
      brand,
      ip_type: ipType ?? 'shared',
    };
  });
}

export type ZoneResource = Record<string, string>;

/** A zone configuration: global properties, and resources by type (net, device, attr, fs, …) in order. */
export interface ZoneConfig {
  properties: Record<string, string>;
  resources: Record<string, ZoneResource[]>;
}

/**
 * `zonecfg -z Z info`: `key: value` lines for globals; a resource is a `type:` line followed by
 * tab-indented `prop: value` lines (`prop not specified` when unset, `[prop: value]` for values
 * derived from rctls).
 */
export function parseZonecfgInfo(output: string): ZoneConfig {
  const config: ZoneConfig = { properties: {}, resources: {} };
  let current: ZoneResource | null = null;
  for (const raw of nonEmptyLines(output)) {
    const indented = /^\s/.test(raw);
    const line = raw.trim();
    if (!indented) {
      const m = /^([a-z][a-z0-9-]*):\s?(.*)$/.exec(line);
      if (!m) continue;
      const [, key, value] = m;
      if (value === '') {
        current = {};
        (config.resources[key] ??= []).push(current);
      } else {
        current = null;
        config.properties[key] = value;
      }
      continue;
    }
    if (!current || / not specified$/.test(line)) continue;
    const m = /^\[?([a-z][a-z0-9-]*):\s?(.*?)\]?$/.exec(line);
    if (m) current[m[1]] = m[2];
  }
  // Globals printed without a value (`bootargs: `) are unset, not resources.
  for (const [key, list] of Object.entries(config.resources)) {
    if (list.every((r) => Object.keys(r).length === 0)) {
      delete config.resources[key];
      config.properties[key] = '';
    }
  }
  return config;
}

/** `zonecfg -z Z export`: the command script (`create -b`, `set k=v`, `add type` … `end`). */
export function parseZonecfgExport(output: string): ZoneConfig {
  const config: ZoneConfig = { properties: {}, resources: {} };
  let current: ZoneResource | null = null;
  for (const line of nonEmptyLines(output).map((l) => l.trim())) {
    const add = /^add ([a-z-]+)$/.exec(line);
    if (add) {
      current = {};
      (config.resources[add[1]] ??= []).push(current);
      continue;
    }
    if (line === 'end') {
      current = null;
      continue;
    }
    const set = /^set ([a-z][a-z0-9-]*)=(.*)$/.exec(line);
    if (set) {
      const value = set[2].replace(/^"(.*)"$/, '$1');
      if (current) current[set[1]] = value;
      else config.properties[set[1]] = value;
    }
  }
  return config;
}

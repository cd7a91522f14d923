import type { ZoneConfig, ZoneResource } from './zones';

/**
 * `zadm show <zone>`: the zone's configuration as zadm's JSON (OmniOS). Simple properties are
 * `"property" : "value"` strings, a single resource a `{ }` hash (`bootdisk`, `capped-memory`),
 * repeated resources an array of hashes, with `null` for an unused slot (`disk` 2–4 below). For
 * bhyve zones zadm lifts the brand's attrs (`ram`, `vcpus`, `bootrom`…) to properties; other
 * attrs stay in `attr`. Read into the same shape as `zonecfg info`, nulls dropped.
 */
export function parseZadmShow(output: string): ZoneConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(output);
  } catch {
    throw new Error(`zadm show printed no JSON: ${JSON.stringify(output.slice(0, 120))}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error('zadm show printed JSON that is not a zone configuration');
  const config: ZoneConfig = { properties: {}, resources: {} };
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (value === null) continue;
    if (Array.isArray(value)) {
      config.resources[key] = value.filter((r) => r !== null && typeof r === 'object').map((r) => flat(r as object));
    } else if (typeof value === 'object') {
      config.resources[key] = [flat(value)];
    } else {
      config.properties[key] = String(value);
    }
  }
  return config;
}

function flat(resource: object): ZoneResource {
  const out: ZoneResource = {};
  for (const [k, v] of Object.entries(resource))
    if (v !== null) out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return out;
}

/**
 * Memory and CPUs of a zone from either view of its configuration: a property (zadm lifts bhyve
 * attrs), an `attr` resource (zonecfg), or a native zone's caps.
 */
export function zoneSizing(config: ZoneConfig): {
  ram: string | null;
  vcpus: number | null;
  autoboot: boolean | null;
  nets: string[];
} {
  const attr = (name: string) => config.resources.attr?.find((a) => a.name === name)?.value;
  const ram = config.properties.ram || attr('ram') || config.resources['capped-memory']?.[0]?.physical || null;
  const cpus =
    config.properties.vcpus ||
    attr('vcpus') ||
    config.resources['capped-cpu']?.[0]?.ncpus ||
    config.resources['dedicated-cpu']?.[0]?.ncpus;
  // bhyve accepts `vcpus` as a count or a topology (`sockets=1,cores=2,threads=1`): the count is what is shown.
  const count = cpus ? Number(/^\d+(\.\d+)?$/.test(cpus) ? cpus : topologyCount(cpus)) : NaN;
  const autoboot = config.properties.autoboot;
  return {
    ram,
    vcpus: Number.isFinite(count) ? Math.ceil(count) : null,
    autoboot: autoboot === 'true' ? true : autoboot === 'false' ? false : null,
    nets: (config.resources.net ?? []).map((n) => n.physical).filter((p): p is string => Boolean(p)),
  };
}

function topologyCount(spec: string): number {
  const parts = Object.fromEntries(spec.split(',').map((kv) => kv.split('=') as [string, string]));
  const product = ['sockets', 'cores', 'threads'].reduce((acc, k) => acc * (Number(parts[k] ?? 1) || 1), 1);
  return spec.includes('=') ? product : NaN;
}

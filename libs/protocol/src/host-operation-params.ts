import {
  checkAddrObj,
  checkCidr,
  checkDataset,
  checkFmri,
  checkHostPath,
  checkMac,
  checkName,
  checkProperty,
  checkSize,
  checkSnapshot,
  checkSnapshotName,
  checkVlanId,
  InvalidHostArgument,
} from './host-names';
import {
  checkArgv,
  checkBootOrder,
  checkEphemeralRecord,
  checkMachineName,
  checkMachineRef,
  checkText,
  checkUuid,
} from './machines';

function checkInt(min: number, max: number) {
  return (field: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new InvalidHostArgument(field, `must be a whole number from ${min} to ${max}`);
    return v;
  };
}

/** The kinds of parameter a host operation takes, each with its strict check. */
const CHECKS = {
  name: checkName,
  dataset: checkDataset,
  snapshot: checkSnapshot,
  snapname: checkSnapshotName,
  size: checkSize,
  mac: checkMac,
  vlan: checkVlanId,
  fmri: checkFmri,
  addrobj: checkAddrObj,
  cidr: checkCidr,
  path: checkHostPath,
  /** A Parallels VM by UUID or name. */
  vm: checkMachineRef,
  /** A new VM or snapshot name. */
  vmname: checkMachineName,
  uuid: checkUuid,
  cpus: checkInt(1, 128),
  memory: checkInt(256, 1_048_576),
  /** A VM disk size in MiB (1 GiB to 64 TiB). */
  diskmb: checkInt(1024, 64 * 1_048_576),
  /** How many lines of a log to answer. */
  lines: checkInt(1, 5000),
  text: checkText,
  bootorder: checkBootOrder,
  /** How long to wait for something, in whole seconds. */
  seconds: checkInt(0, 1800),
  ephemeral: checkEphemeralRecord,
  argv: checkArgv,
  bool: (field: string, v: unknown) => {
    if (typeof v !== 'boolean') throw new InvalidHostArgument(field, 'must be true or false');
    return v;
  },
  /** `{ property: value }`, each checked as a zfs/dladm property. */
  props: (field: string, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).length > 64)
      throw new InvalidHostArgument(field, 'must be an object of property: value (at most 64)');
    for (const [k, val] of Object.entries(v)) checkProperty(`${field}.${k}`, k, val);
    return v as Record<string, string>;
  },
  /** A list of property names (`zfs get a,b`). */
  propnames: (field: string, v: unknown) => {
    if (!Array.isArray(v) || v.length === 0 || v.length > 64)
      throw new InvalidHostArgument(field, 'must be a list of 1 to 64 property names');
    v.forEach((p, i) => checkProperty(`${field}[${i}]`, p));
    return v as string[];
  },
  /** A search term: letters, digits and a few separators. */
  term: (field: string, v: unknown) => {
    if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_./+*-]{0,127}$/.test(v) || v.includes('..'))
      throw new InvalidHostArgument(field, `${JSON.stringify(v)} is invalid: letters, digits and _ . / + * - only`);
    return v;
  },
} as const;

export type ParamKind = keyof typeof CHECKS;
/** `{ field: 'kind' }`, or `'kind?'` when optional. */
export type ParamSpec = Record<string, ParamKind | `${ParamKind}?`>;

/** Checks every field against its kind; an unknown or missing field is refused naming it. */
export function checkParams(spec: ParamSpec, raw: unknown): Record<string, unknown> {
  const input = raw === undefined || raw === null ? {} : raw;
  if (typeof input !== 'object' || Array.isArray(input)) throw new InvalidHostArgument('params', 'must be an object');
  for (const key of Object.keys(input))
    if (!(key in spec)) throw new InvalidHostArgument(key, 'is not a parameter of this operation');
  const out: Record<string, unknown> = {};
  for (const [field, kindSpec] of Object.entries(spec)) {
    const optional = kindSpec.endsWith('?');
    const kind = kindSpec.replace(/\?$/, '') as ParamKind;
    const value = (input as Record<string, unknown>)[field];
    if (value === undefined) {
      if (!optional) throw new InvalidHostArgument(field, 'is required');
      continue;
    }
    out[field] = CHECKS[kind](field, value);
  }
  return out;
}

/**
 * Strict patterns for every name that reaches an illumos command line. Checked before anything
 * runs: argv arrays already keep a shell out, these keep option injection (`-x`), path tricks
 * (`../x`) and names the tools would misread out as well.
 */

/** A host argument that failed its pattern; `field` names the request field for the 400. */
export class InvalidHostArgument extends Error {
  readonly code = 'invalid_argument';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field} ${message}`);
    this.name = 'InvalidHostArgument';
  }
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
const DATASET_PART = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/;
const SIZE = /^\d{1,15}[KMGT]?$/;
const MAC = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/;
const PROPERTY = /^[a-z][a-z0-9_:.-]{0,127}$/;
const PROPERTY_VALUE = /^[A-Za-z0-9_.:,/=@+-]{0,1024}$/;
const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

function show(value: unknown): string {
  return JSON.stringify(typeof value === 'string' ? value.slice(0, 80) : value);
}

/** Zones, VNICs, etherstubs, bridges, aggregations, boot environments, SMF-free names. */
export function checkName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new InvalidHostArgument(
      field,
      `${show(value)} is invalid: start with a letter, then up to 62 letters, digits, '_', '.', '-'`,
    );
  }
  return value;
}

/** A ZFS dataset: `pool/a/b`, each part of the name alphabet, the pool starting with a letter. */
export function checkDataset(field: string, value: unknown): string {
  const parts = typeof value === 'string' && value.length <= 255 ? value.split('/') : [];
  const ok =
    parts.length > 0 &&
    NAME.test(parts[0]) &&
    parts.slice(1).every((p) => DATASET_PART.test(p) && p !== '.' && p !== '..');
  if (!ok)
    throw new InvalidHostArgument(
      field,
      `${show(value)} is invalid: use pool/name/... with letters, digits, '_', '.', ':', '-'`,
    );
  return value as string;
}

/** `dataset@snap`. */
export function checkSnapshot(field: string, value: unknown): string {
  const [dataset, snap, extra] = typeof value === 'string' ? value.split('@') : [];
  if (extra !== undefined || dataset === undefined || snap === undefined || !SNAPSHOT_NAME.test(snap)) {
    throw new InvalidHostArgument(field, `${show(value)} is invalid: use pool/dataset@name`);
  }
  checkDataset(field, dataset);
  return value as string;
}

export function checkSnapshotName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !SNAPSHOT_NAME.test(value))
    throw new InvalidHostArgument(field, `${show(value)} is invalid: use letters, digits, '_', '.', ':', '-'`);
  return value;
}

/** Sizes as the tools take them: `20G`, `512M`, `1024`. */
export function checkSize(field: string, value: unknown): string {
  if (typeof value !== 'string' || !SIZE.test(value))
    throw new InvalidHostArgument(
      field,
      `${show(value)} is invalid: use a number with an optional K, M, G or T suffix`,
    );
  return value;
}

export function checkMac(field: string, value: unknown): string {
  if (typeof value !== 'string' || !MAC.test(value))
    throw new InvalidHostArgument(field, `${show(value)} is invalid: use six hex octets separated by ':'`);
  return value.toLowerCase();
}

export function checkVlanId(field: string, value: unknown): number {
  const n = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 4094)
    throw new InvalidHostArgument(field, `${show(value)} is invalid: a VLAN id is an integer from 1 to 4094`);
  return n;
}

export function checkPositiveInt(field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max)
    throw new InvalidHostArgument(field, `${show(value)} is invalid: an integer from 1 to ${max}`);
  return value;
}

/** A property name (zfs, dladm, zonecfg attr) and its value: no spaces, quotes, shell or option characters. */
export function checkProperty(field: string, name: unknown, value?: unknown): void {
  if (typeof name !== 'string' || !PROPERTY.test(name))
    throw new InvalidHostArgument(
      field,
      `name ${show(name)} is invalid: lower-case letters, digits, '_', ':', '.', '-'`,
    );
  if (
    value !== undefined &&
    (typeof value !== 'string' ||
      !PROPERTY_VALUE.test(value) ||
      value.startsWith('-') ||
      value.split('/').includes('..'))
  ) {
    throw new InvalidHostArgument(
      field,
      `value ${show(value)} of ${name} is invalid: letters, digits and _ . : , / = @ + - only, not starting with '-', no '..'`,
    );
  }
}

/** An absolute host path without `..`, spaces or shell characters (ISO images, zonepaths). */
export function checkHostPath(field: string, value: unknown): string {
  const ok =
    typeof value === 'string' &&
    value.length <= 1024 &&
    /^\/[A-Za-z0-9_./-]*$/.test(value) &&
    !value.split('/').some((p) => p === '..' || p === '.');
  if (!ok)
    throw new InvalidHostArgument(
      field,
      `${show(value)} is invalid: an absolute path of letters, digits, '_', '.', '-', without '..'`,
    );
  return value as string;
}

/** SMF FMRIs (`svc:/network/ssh:default`, `network/ssh`) and IPS package names (`pkg:/web/server/nginx`). */
export function checkFmri(field: string, value: unknown): string {
  const ok =
    typeof value === 'string' &&
    value.length <= 256 &&
    /^(svc:\/|pkg:\/)?[A-Za-z0-9][A-Za-z0-9_.,@:=+/-]*$/.test(value) &&
    !value.includes('..');
  if (!ok)
    throw new InvalidHostArgument(field, `${show(value)} is invalid: letters, digits and _ . , @ : = + / - only`);
  return value as string;
}

/** An ipadm address object: `interface/tag`. */
export function checkAddrObj(field: string, value: unknown): string {
  const [iface, tag, extra] = typeof value === 'string' ? value.split('/') : [];
  if (extra !== undefined || !iface || !tag || !NAME.test(iface) || !/^[A-Za-z][A-Za-z0-9]{0,31}$/.test(tag)) {
    throw new InvalidHostArgument(field, `${show(value)} is invalid: use interface/tag, e.g. vnic0/v4`);
  }
  return value as string;
}

/** An IPv4 or IPv6 address with a prefix length. */
export function checkCidr(field: string, value: unknown): string {
  const ok =
    typeof value === 'string' &&
    (/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/.test(value) || /^[0-9a-fA-F:]{2,39}\/\d{1,3}$/.test(value));
  if (!ok)
    throw new InvalidHostArgument(
      field,
      `${show(value)} is invalid: an address with a prefix length, e.g. 192.168.1.10/24`,
    );
  return value as string;
}

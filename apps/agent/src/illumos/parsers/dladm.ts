import { parseParsableColumns, toNumber } from './parsable';

/** Column lists the agent asks dladm/ipadm for; the parsers key records by them. */
export const DLADM_COLUMNS = {
  vnic: ['LINK', 'OVER', 'SPEED', 'MACADDRESS', 'MACADDRTYPE', 'VID', 'ZONE'],
  vlan: ['LINK', 'VID', 'OVER', 'FLAGS'],
  etherstub: ['LINK'],
  bridge: ['BRIDGE', 'ADDRESS', 'PRIORITY', 'DESROOT'],
  bridgeLinks: ['LINK'],
  aggr: ['LINK', 'POLICY', 'ADDRPOLICY', 'LACPACTIVITY', 'LACPTIMER', 'FLAGS'],
  link: ['LINK', 'CLASS', 'MTU', 'STATE', 'OVER'],
  linkprop: ['LINK', 'PROPERTY', 'PERM', 'VALUE', 'DEFAULT', 'POSSIBLE'],
  ipaddr: ['ADDROBJ', 'TYPE', 'STATE', 'ADDR'],
} as const;

export interface Vnic {
  link: string;
  over: string | null;
  speed_mbps: number | null;
  mac_address: string | null;
  mac_type: string | null;
  vlan_id: number | null;
  zone: string | null;
}

/** `dladm show-vnic -p -o LINK,OVER,SPEED,MACADDRESS,MACADDRTYPE,VID,ZONE` (MAC colons escaped `f2\:2\:0\:1\:0\:1`). */
export function parseShowVnic(output: string): Vnic[] {
  return parseParsableColumns(output, DLADM_COLUMNS.vnic).map((r) => ({
    link: r.link ?? '',
    over: r.over,
    speed_mbps: toNumber(r.speed),
    mac_address: r.macaddress,
    mac_type: r.macaddrtype,
    vlan_id: toNumber(r.vid) || null,
    zone: r.zone,
  }));
}

export function parseShowVlan(
  output: string,
): { link: string; vlan_id: number | null; over: string | null; flags: string | null }[] {
  return parseParsableColumns(output, DLADM_COLUMNS.vlan).map((r) => ({
    link: r.link ?? '',
    vlan_id: toNumber(r.vid),
    over: r.over,
    flags: r.flags,
  }));
}

export function parseShowEtherstub(output: string): { link: string }[] {
  return parseParsableColumns(output, DLADM_COLUMNS.etherstub).map((r) => ({ link: r.link ?? '' }));
}

export function parseShowBridge(
  output: string,
): { bridge: string; address: string | null; priority: number | null; designated_root: string | null }[] {
  return parseParsableColumns(output, DLADM_COLUMNS.bridge).map((r) => ({
    bridge: r.bridge ?? '',
    address: r.address,
    priority: toNumber(r.priority),
    designated_root: r.desroot,
  }));
}

export function parseShowAggr(output: string): {
  link: string;
  policy: string | null;
  address_policy: string | null;
  lacp_activity: string | null;
  lacp_timer: string | null;
  flags: string | null;
}[] {
  return parseParsableColumns(output, DLADM_COLUMNS.aggr).map((r) => ({
    link: r.link ?? '',
    policy: r.policy,
    address_policy: r.addrpolicy,
    lacp_activity: r.lacpactivity,
    lacp_timer: r.lacptimer,
    flags: r.flags,
  }));
}

export function parseShowLinkprop(
  output: string,
): { link: string; property: string; value: string | null; default: string | null; possible: string | null }[] {
  return parseParsableColumns(output, DLADM_COLUMNS.linkprop).map((r) => ({
    link: r.link ?? '',
    property: r.property ?? '',
    value: r.value,
    default: r.default,
    possible: r.possible,
  }));
}

/** `ipadm show-addr -p -o ADDROBJ,TYPE,STATE,ADDR` (IPv6 colons escaped). */
export function parseShowAddr(
  output: string,
): { addrobj: string; type: string | null; state: string | null; address: string | null }[] {
  return parseParsableColumns(output, DLADM_COLUMNS.ipaddr).map((r) => ({
    addrobj: r.addrobj ?? '',
    type: r.type,
    state: r.state,
    address: r.addr,
  }));
}

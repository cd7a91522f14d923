import type { HostOperation } from '../host-operations';
import { DLADM_COLUMNS, parseShowAddr, parseShowAggr, parseShowBridge, parseShowEtherstub, parseShowLinkprop, parseShowVlan, parseShowVnic } from '../parsers/dladm';
import { parseBeadmList, parseNetstatRoutes } from '../parsers/system';
import { parseZoneadmList, parseZonecfgExport, parseZonecfgInfo } from '../parsers/zones';

const cols = (c: readonly string[]) => c.join(',');
const done = (what: Record<string, unknown>) => ({ ok: true, ...what });

export const ZONE_OPERATIONS: Record<string, HostOperation> = {
  'zones.list': { params: {}, write: false, run: async (x) => parseZoneadmList(await x.stdout(['zoneadm', 'list', '-c', '-p'])).filter((z) => z.name !== 'global') },
  'zones.get': {
    params: { zone: 'name' },
    write: false,
    run: async (x, p) => {
      const entry = parseZoneadmList(await x.stdout(['zoneadm', '-z', p.zone, 'list', '-p']))[0];
      return { ...entry, config: parseZonecfgInfo(await x.stdout(['zonecfg', '-z', p.zone, 'info'])) };
    },
  },
  'zones.config.get': { params: { zone: 'name' }, write: false, run: async (x, p) => parseZonecfgExport(await x.stdout(['zonecfg', '-z', p.zone, 'export'])) },
  'zones.config.update': {
    params: { zone: 'name', properties: 'props' },
    write: true,
    run: async (x, p) => {
      // zonecfg's own "set" commands, one argument: every value passed the property check (no ';', spaces or quotes).
      const script = Object.entries(p.properties as Record<string, string>).map(([k, v]) => `set ${k}=${v}`).join(';');
      await x.run(['zonecfg', '-z', p.zone, `${script};verify;commit`]);
      return parseZonecfgExport(await x.stdout(['zonecfg', '-z', p.zone, 'export']));
    },
  },
  'zones.start': { params: { zone: 'name' }, write: true, run: async (x, p) => done({ zone: p.zone, ...(await x.run(['zoneadm', '-z', p.zone, 'boot']), {}) }) },
  'zones.stop': { params: { zone: 'name' }, write: true, run: async (x, p) => done({ zone: p.zone, ...(await x.run(['zoneadm', '-z', p.zone, 'shutdown']), {}) }) },
  'zones.halt': { params: { zone: 'name' }, write: true, run: async (x, p) => done({ zone: p.zone, ...(await x.run(['zoneadm', '-z', p.zone, 'halt']), {}) }) },
  'zones.restart': { params: { zone: 'name' }, write: true, run: async (x, p) => done({ zone: p.zone, ...(await x.run(['zoneadm', '-z', p.zone, 'reboot']), {}) }) },
  'zones.clone': {
    params: { zone: 'name', source: 'name', zonepath: 'path' },
    write: true,
    run: async (x, p) => {
      await x.run(['zonecfg', '-z', p.zone, `create -t ${p.source};set zonepath=${p.zonepath};commit`]);
      await x.run(['zoneadm', '-z', p.zone, 'clone', p.source], { timeoutMs: 30 * 60_000 });
      return done({ zone: p.zone });
    },
  },
  'zones.delete': {
    params: { zone: 'name' },
    write: true,
    run: async (x, p) => {
      const [z] = parseZoneadmList(await x.stdout(['zoneadm', '-z', p.zone, 'list', '-p']));
      if (z.state === 'running' || z.state === 'ready') await x.run(['zoneadm', '-z', p.zone, 'halt']);
      if (z.state !== 'configured') await x.run(['zoneadm', '-z', p.zone, 'uninstall', '-F'], { timeoutMs: 10 * 60_000 });
      await x.run(['zonecfg', '-z', p.zone, 'delete', '-F']);
      return done({ zone: p.zone });
    },
  },
  'bootenvs.list': { params: {}, write: false, run: async (x) => parseBeadmList(await x.stdout(['beadm', 'list', '-H'])) },
  'bootenvs.create': { params: { name: 'name', from: 'name?' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['beadm', 'create', ...(p.from ? ['-e', p.from] : []), p.name]), {}) }) },
  'bootenvs.destroy': { params: { name: 'name' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['beadm', 'destroy', '-F', p.name]), {}) }) },
  'bootenvs.activate': { params: { name: 'name' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['beadm', 'activate', p.name]), {}) }) },
  'bootenvs.mount': { params: { name: 'name', mountpoint: 'path' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['beadm', 'mount', p.name, p.mountpoint]), {}) }) },
  'bootenvs.unmount': { params: { name: 'name' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['beadm', 'unmount', p.name]), {}) }) },
};

export const NETWORK_OPERATIONS: Record<string, HostOperation> = {
  'network.vnics.list': { params: {}, write: false, run: async (x) => parseShowVnic(await x.stdout(['dladm', 'show-vnic', '-p', '-o', cols(DLADM_COLUMNS.vnic)])) },
  'network.vnics.create': {
    params: { name: 'name', over: 'name', vlan_id: 'vlan?', mac: 'mac?', properties: 'props?' },
    write: true,
    run: async (x, p) => {
      const props = Object.entries((p.properties ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
      await x.run(['dladm', 'create-vnic', '-l', p.over, ...(p.vlan_id ? ['-v', String(p.vlan_id)] : []), ...(p.mac ? ['-m', p.mac] : []), ...(props ? ['-p', props] : []), p.name]);
      return parseShowVnic(await x.stdout(['dladm', 'show-vnic', '-p', '-o', cols(DLADM_COLUMNS.vnic), p.name]))[0];
    },
  },
  'network.vnics.delete': { params: { name: 'name' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'delete-vnic', p.name]), {}) }) },
  'network.vnics.stats': {
    params: { name: 'name' },
    write: false,
    run: async (x, p) => {
      const f = (await x.stdout(['dladm', 'show-link', '-s', '-p', '-o', 'LINK,IPACKETS,RBYTES,IERRORS,OPACKETS,OBYTES,OERRORS', p.name])).trim().split(':');
      const n = f.map(Number);
      return { link: f[0], ipackets: n[1], rbytes: n[2], ierrors: n[3], opackets: n[4], obytes: n[5], oerrors: n[6] };
    },
  },
  'network.linkprops.get': { params: { link: 'name' }, write: false, run: async (x, p) => parseShowLinkprop(await x.stdout(['dladm', 'show-linkprop', '-c', '-o', cols(DLADM_COLUMNS.linkprop), p.link])) },
  'network.linkprops.set': {
    params: { link: 'name', properties: 'props' },
    write: true,
    run: async (x, p) => {
      await x.run(['dladm', 'set-linkprop', '-p', Object.entries(p.properties as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(','), p.link]);
      return parseShowLinkprop(await x.stdout(['dladm', 'show-linkprop', '-c', '-o', cols(DLADM_COLUMNS.linkprop), p.link]));
    },
  },
  'network.vlans.list': { params: {}, write: false, run: async (x) => parseShowVlan(await x.stdout(['dladm', 'show-vlan', '-p', '-o', cols(DLADM_COLUMNS.vlan)])) },
  'network.vlans.create': { params: { name: 'name', over: 'name', vlan_id: 'vlan' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'create-vlan', '-l', p.over, '-v', String(p.vlan_id), p.name]), {}) }) },
  'network.vlans.delete': { params: { name: 'name' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'delete-vlan', p.name]), {}) }) },
  'network.etherstubs.list': { params: {}, write: false, run: async (x) => parseShowEtherstub(await x.stdout(['dladm', 'show-etherstub', '-p', '-o', cols(DLADM_COLUMNS.etherstub)])) },
  'network.etherstubs.create': { params: { name: 'name' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'create-etherstub', p.name]), {}) }) },
  'network.etherstubs.delete': { params: { name: 'name' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'delete-etherstub', p.name]), {}) }) },
  'network.bridges.list': { params: {}, write: false, run: async (x) => parseShowBridge(await x.stdout(['dladm', 'show-bridge', '-p', '-o', cols(DLADM_COLUMNS.bridge)])) },
  'network.bridges.create': { params: { name: 'name', link: 'name?' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'create-bridge', ...(p.link ? ['-l', p.link] : []), p.name]), {}) }) },
  'network.bridges.add-link': { params: { name: 'name', link: 'name' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'add-bridge', '-l', p.link, p.name]), {}) }) },
  'network.bridges.remove-link': { params: { name: 'name', link: 'name' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'remove-bridge', '-l', p.link, p.name]), {}) }) },
  'network.bridges.delete': { params: { name: 'name' }, write: true, run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'delete-bridge', p.name]), {}) }) },
  'network.aggregates.list': { params: {}, write: false, run: async (x) => parseShowAggr(await x.stdout(['dladm', 'show-aggr', '-p', '-o', cols(DLADM_COLUMNS.aggr)])) },
  'network.addresses.list': { params: {}, write: false, run: async (x) => parseShowAddr(await x.stdout(['ipadm', 'show-addr', '-p', '-o', cols(DLADM_COLUMNS.ipaddr)])) },
  'network.addresses.create': { params: { addrobj: 'addrobj', address: 'cidr' }, write: true, run: async (x, p) => done({ addrobj: p.addrobj, ...(await x.run(['ipadm', 'create-addr', '-T', 'static', '-a', p.address, p.addrobj]), {}) }) },
  'network.addresses.delete': { params: { addrobj: 'addrobj' }, write: true, run: async (x, p) => done({ addrobj: p.addrobj, ...(await x.run(['ipadm', 'delete-addr', p.addrobj]), {}) }) },
  'network.routes.list': { params: {}, write: false, run: async (x) => parseNetstatRoutes(await x.stdout(['netstat', '-rn', '-f', 'inet'])) },
};

import { HOST_OPERATION_SPECS } from '@hostplane/protocol';
import type { HostOperation } from '../host-operations';
import {
  DLADM_COLUMNS,
  parseShowAddr,
  parseShowAggr,
  parseShowBridge,
  parseShowEtherstub,
  parseShowLinkprop,
  parseShowVlan,
  parseShowVnic,
} from '../parsers/dladm';
import { parseBeadmList, parseNetstatRoutes } from '../parsers/system';
import { parseZadmShow, zoneSizing } from '../parsers/zadm';
import { parseZoneadmList, parseZonecfgExport, parseZonecfgInfo } from '../parsers/zones';
import { forZone } from './zone-not-found';

const cols = (c: readonly string[]) => c.join(',');
const done = (what: Record<string, unknown>) => ({ ok: true, ...what });

export const ZONE_OPERATIONS: Record<string, HostOperation> = {
  'zones.list': {
    ...HOST_OPERATION_SPECS['zones.list'],
    run: async (x) =>
      parseZoneadmList(await x.stdout(['zoneadm', 'list', '-c', '-p'])).filter((z) => z.name !== 'global'),
  },
  'zones.get': {
    ...HOST_OPERATION_SPECS['zones.get'],
    run: (x, p) =>
      forZone(p.zone, async () => {
        const entry = parseZoneadmList(await x.stdout(['zoneadm', '-z', p.zone, 'list', '-p']))[0];
        // zadm (OmniOS) shows bhyve's attrs as properties and the whole configuration in one JSON.
        const config = x.has('zadm')
          ? parseZadmShow(await x.stdout(['zadm', 'show', p.zone]))
          : parseZonecfgInfo(await x.stdout(['zonecfg', '-z', p.zone, 'info']));
        return { ...entry, ...zoneSizing(config), config };
      }),
  },
  'zones.config.get': {
    ...HOST_OPERATION_SPECS['zones.config.get'],
    run: async (x, p) => parseZonecfgExport(await x.stdout(['zonecfg', '-z', p.zone, 'export'])),
  },
  'zones.config.update': {
    ...HOST_OPERATION_SPECS['zones.config.update'],
    run: async (x, p) => {
      // zonecfg's own "set" commands, one argument: every value passed the property check (no ';', spaces or quotes).
      const script = Object.entries(p.properties as Record<string, string>)
        .map(([k, v]) => `set ${k}=${v}`)
        .join(';');
      await x.run(['zonecfg', '-z', p.zone, `${script};verify;commit`]);
      return parseZonecfgExport(await x.stdout(['zonecfg', '-z', p.zone, 'export']));
    },
  },
  'zones.start': {
    ...HOST_OPERATION_SPECS['zones.start'],
    run: async (x, p) => done({ zone: p.zone, ...(await x.run(['zoneadm', '-z', p.zone, 'boot']), {}) }),
  },
  'zones.stop': {
    ...HOST_OPERATION_SPECS['zones.stop'],
    run: async (x, p) => done({ zone: p.zone, ...(await x.run(['zoneadm', '-z', p.zone, 'shutdown']), {}) }),
  },
  'zones.halt': {
    ...HOST_OPERATION_SPECS['zones.halt'],
    run: async (x, p) => done({ zone: p.zone, ...(await x.run(['zoneadm', '-z', p.zone, 'halt']), {}) }),
  },
  'zones.restart': {
    ...HOST_OPERATION_SPECS['zones.restart'],
    run: async (x, p) => done({ zone: p.zone, ...(await x.run(['zoneadm', '-z', p.zone, 'reboot']), {}) }),
  },
  'zones.clone': {
    ...HOST_OPERATION_SPECS['zones.clone'],
    run: async (x, p) => {
      await x.run(['zonecfg', '-z', p.zone, `create -t ${p.source};set zonepath=${p.zonepath};commit`]);
      await x.run(['zoneadm', '-z', p.zone, 'clone', p.source], { timeoutMs: 30 * 60_000 });
      return done({ zone: p.zone });
    },
  },
  'zones.delete': {
    ...HOST_OPERATION_SPECS['zones.delete'],
    run: async (x, p) => {
      const [z] = parseZoneadmList(await x.stdout(['zoneadm', '-z', p.zone, 'list', '-p']));
      if (z.state === 'running' || z.state === 'ready') await x.run(['zoneadm', '-z', p.zone, 'halt']);
      if (z.state !== 'configured')
        await x.run(['zoneadm', '-z', p.zone, 'uninstall', '-F'], { timeoutMs: 10 * 60_000 });
      await x.run(['zonecfg', '-z', p.zone, 'delete', '-F']);
      return done({ zone: p.zone });
    },
  },
  'bootenvs.list': {
    ...HOST_OPERATION_SPECS['bootenvs.list'],
    run: async (x) => parseBeadmList(await x.stdout(['beadm', 'list', '-H'])),
  },
  'bootenvs.create': {
    ...HOST_OPERATION_SPECS['bootenvs.create'],
    run: async (x, p) =>
      done({ name: p.name, ...(await x.run(['beadm', 'create', ...(p.from ? ['-e', p.from] : []), p.name]), {}) }),
  },
  'bootenvs.destroy': {
    ...HOST_OPERATION_SPECS['bootenvs.destroy'],
    run: async (x, p) => done({ name: p.name, ...(await x.run(['beadm', 'destroy', '-F', p.name]), {}) }),
  },
  'bootenvs.activate': {
    ...HOST_OPERATION_SPECS['bootenvs.activate'],
    run: async (x, p) => done({ name: p.name, ...(await x.run(['beadm', 'activate', p.name]), {}) }),
  },
  'bootenvs.mount': {
    ...HOST_OPERATION_SPECS['bootenvs.mount'],
    run: async (x, p) => done({ name: p.name, ...(await x.run(['beadm', 'mount', p.name, p.mountpoint]), {}) }),
  },
  'bootenvs.unmount': {
    ...HOST_OPERATION_SPECS['bootenvs.unmount'],
    run: async (x, p) => done({ name: p.name, ...(await x.run(['beadm', 'unmount', p.name]), {}) }),
  },
};

export const NETWORK_OPERATIONS: Record<string, HostOperation> = {
  'network.vnics.list': {
    ...HOST_OPERATION_SPECS['network.vnics.list'],
    run: async (x) => parseShowVnic(await x.stdout(['dladm', 'show-vnic', '-p', '-o', cols(DLADM_COLUMNS.vnic)])),
  },
  'network.vnics.create': {
    ...HOST_OPERATION_SPECS['network.vnics.create'],
    run: async (x, p) => {
      const props = Object.entries((p.properties ?? {}) as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      await x.run([
        'dladm',
        'create-vnic',
        '-l',
        p.over,
        ...(p.vlan_id ? ['-v', String(p.vlan_id)] : []),
        ...(p.mac ? ['-m', p.mac] : []),
        ...(props ? ['-p', props] : []),
        p.name,
      ]);
      return parseShowVnic(await x.stdout(['dladm', 'show-vnic', '-p', '-o', cols(DLADM_COLUMNS.vnic), p.name]))[0];
    },
  },
  'network.vnics.delete': {
    ...HOST_OPERATION_SPECS['network.vnics.delete'],
    run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'delete-vnic', p.name]), {}) }),
  },
  'network.vnics.stats': {
    ...HOST_OPERATION_SPECS['network.vnics.stats'],
    run: async (x, p) => {
      const f = (
        await x.stdout([
          'dladm',
          'show-link',
          '-s',
          '-p',
          '-o',
          'LINK,IPACKETS,RBYTES,IERRORS,OPACKETS,OBYTES,OERRORS',
          p.name,
        ])
      )
        .trim()
        .split(':');
      const n = f.map(Number);
      return { link: f[0], ipackets: n[1], rbytes: n[2], ierrors: n[3], opackets: n[4], obytes: n[5], oerrors: n[6] };
    },
  },
  'network.linkprops.get': {
    ...HOST_OPERATION_SPECS['network.linkprops.get'],
    run: async (x, p) =>
      parseShowLinkprop(await x.stdout(['dladm', 'show-linkprop', '-c', '-o', cols(DLADM_COLUMNS.linkprop), p.link])),
  },
  'network.linkprops.set': {
    ...HOST_OPERATION_SPECS['network.linkprops.set'],
    run: async (x, p) => {
      await x.run([
        'dladm',
        'set-linkprop',
        '-p',
        Object.entries(p.properties as Record<string, string>)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
        p.link,
      ]);
      return parseShowLinkprop(
        await x.stdout(['dladm', 'show-linkprop', '-c', '-o', cols(DLADM_COLUMNS.linkprop), p.link]),
      );
    },
  },
  'network.vlans.list': {
    ...HOST_OPERATION_SPECS['network.vlans.list'],
    run: async (x) => parseShowVlan(await x.stdout(['dladm', 'show-vlan', '-p', '-o', cols(DLADM_COLUMNS.vlan)])),
  },
  'network.vlans.create': {
    ...HOST_OPERATION_SPECS['network.vlans.create'],
    run: async (x, p) =>
      done({
        name: p.name,
        ...(await x.run(['dladm', 'create-vlan', '-l', p.over, '-v', String(p.vlan_id), p.name]), {}),
      }),
  },
  'network.vlans.delete': {
    ...HOST_OPERATION_SPECS['network.vlans.delete'],
    run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'delete-vlan', p.name]), {}) }),
  },
  'network.etherstubs.list': {
    ...HOST_OPERATION_SPECS['network.etherstubs.list'],
    run: async (x) =>
      parseShowEtherstub(await x.stdout(['dladm', 'show-etherstub', '-p', '-o', cols(DLADM_COLUMNS.etherstub)])),
  },
  'network.etherstubs.create': {
    ...HOST_OPERATION_SPECS['network.etherstubs.create'],
    run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'create-etherstub', p.name]), {}) }),
  },
  'network.etherstubs.delete': {
    ...HOST_OPERATION_SPECS['network.etherstubs.delete'],
    run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'delete-etherstub', p.name]), {}) }),
  },
  'network.bridges.list': {
    ...HOST_OPERATION_SPECS['network.bridges.list'],
    run: async (x) => parseShowBridge(await x.stdout(['dladm', 'show-bridge', '-p', '-o', cols(DLADM_COLUMNS.bridge)])),
  },
  'network.bridges.create': {
    ...HOST_OPERATION_SPECS['network.bridges.create'],
    run: async (x, p) =>
      done({
        name: p.name,
        ...(await x.run(['dladm', 'create-bridge', ...(p.link ? ['-l', p.link] : []), p.name]), {}),
      }),
  },
  'network.bridges.add-link': {
    ...HOST_OPERATION_SPECS['network.bridges.add-link'],
    run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'add-bridge', '-l', p.link, p.name]), {}) }),
  },
  'network.bridges.remove-link': {
    ...HOST_OPERATION_SPECS['network.bridges.remove-link'],
    run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'remove-bridge', '-l', p.link, p.name]), {}) }),
  },
  'network.bridges.delete': {
    ...HOST_OPERATION_SPECS['network.bridges.delete'],
    run: async (x, p) => done({ name: p.name, ...(await x.run(['dladm', 'delete-bridge', p.name]), {}) }),
  },
  'network.aggregates.list': {
    ...HOST_OPERATION_SPECS['network.aggregates.list'],
    run: async (x) => parseShowAggr(await x.stdout(['dladm', 'show-aggr', '-p', '-o', cols(DLADM_COLUMNS.aggr)])),
  },
  'network.addresses.list': {
    ...HOST_OPERATION_SPECS['network.addresses.list'],
    run: async (x) => parseShowAddr(await x.stdout(['ipadm', 'show-addr', '-p', '-o', cols(DLADM_COLUMNS.ipaddr)])),
  },
  'network.addresses.create': {
    ...HOST_OPERATION_SPECS['network.addresses.create'],
    run: async (x, p) =>
      done({
        addrobj: p.addrobj,
        ...(await x.run(['ipadm', 'create-addr', '-T', 'static', '-a', p.address, p.addrobj]), {}),
      }),
  },
  'network.addresses.delete': {
    ...HOST_OPERATION_SPECS['network.addresses.delete'],
    run: async (x, p) => done({ addrobj: p.addrobj, ...(await x.run(['ipadm', 'delete-addr', p.addrobj]), {}) }),
  },
  'network.routes.list': {
    ...HOST_OPERATION_SPECS['network.routes.list'],
    run: async (x) => parseNetstatRoutes(await x.stdout(['netstat', '-rn', '-f', 'inet'])),
  },
};

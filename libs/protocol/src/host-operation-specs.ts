import type { ParamSpec } from './host-operation-params';

/**
 * The host operations an agent runs (`host.operation` jobs): each name, its parameters by kind
 * (checked by the hub before enqueueing and again by the agent before any command) and whether it
 * changes the host. The agent holds the argv and the parser of each. Two families: the illumos
 * resources (zones, boot environments, network, storage, system; docs/api/zones.md) and the
 * Parallels Desktop VMs of a macOS host (`machines.*`; docs/api/machines.md).
 */
export const HOST_OPERATION_SPECS = {
  'zones.list': { params: {}, write: false },
  'zones.get': { params: { zone: 'name' }, write: false },
  'zones.config.get': { params: { zone: 'name' }, write: false },
  'zones.config.update': { params: { zone: 'name', properties: 'props' }, write: true },
  'zones.start': { params: { zone: 'name' }, write: true },
  'zones.stop': { params: { zone: 'name' }, write: true },
  'zones.halt': { params: { zone: 'name' }, write: true },
  'zones.restart': { params: { zone: 'name' }, write: true },
  'zones.clone': { params: { zone: 'name', source: 'name', zonepath: 'path' }, write: true },
  'zones.delete': { params: { zone: 'name' }, write: true },
  'bootenvs.list': { params: {}, write: false },
  'bootenvs.create': { params: { name: 'name', from: 'name?' }, write: true },
  'bootenvs.destroy': { params: { name: 'name' }, write: true },
  'bootenvs.activate': { params: { name: 'name' }, write: true },
  'bootenvs.mount': { params: { name: 'name', mountpoint: 'path' }, write: true },
  'bootenvs.unmount': { params: { name: 'name' }, write: true },
  'network.vnics.list': { params: {}, write: false },
  'network.vnics.create': {
    params: { name: 'name', over: 'name', vlan_id: 'vlan?', mac: 'mac?', properties: 'props?' },
    write: true,
  },
  'network.vnics.delete': { params: { name: 'name' }, write: true },
  'network.vnics.stats': { params: { name: 'name' }, write: false },
  'network.linkprops.get': { params: { link: 'name' }, write: false },
  'network.linkprops.set': { params: { link: 'name', properties: 'props' }, write: true },
  'network.vlans.list': { params: {}, write: false },
  'network.vlans.create': { params: { name: 'name', over: 'name', vlan_id: 'vlan' }, write: true },
  'network.vlans.delete': { params: { name: 'name' }, write: true },
  'network.etherstubs.list': { params: {}, write: false },
  'network.etherstubs.create': { params: { name: 'name' }, write: true },
  'network.etherstubs.delete': { params: { name: 'name' }, write: true },
  'network.bridges.list': { params: {}, write: false },
  'network.bridges.create': { params: { name: 'name', link: 'name?' }, write: true },
  'network.bridges.add-link': { params: { name: 'name', link: 'name' }, write: true },
  'network.bridges.remove-link': { params: { name: 'name', link: 'name' }, write: true },
  'network.bridges.delete': { params: { name: 'name' }, write: true },
  'network.aggregates.list': { params: {}, write: false },
  'network.addresses.list': { params: {}, write: false },
  'network.addresses.create': { params: { addrobj: 'addrobj', address: 'cidr' }, write: true },
  'network.addresses.delete': { params: { addrobj: 'addrobj' }, write: true },
  'network.routes.list': { params: {}, write: false },
  'storage.datasets.list': { params: { root: 'dataset?' }, write: false },
  'storage.datasets.get': { params: { dataset: 'dataset' }, write: false },
  'storage.datasets.create': {
    params: { dataset: 'dataset', volume_size: 'size?', properties: 'props?' },
    write: true,
  },
  'storage.datasets.delete': { params: { dataset: 'dataset', recursive: 'bool?' }, write: true },
  'storage.datasets.properties.get': { params: { dataset: 'dataset', names: 'propnames?' }, write: false },
  'storage.datasets.properties.set': { params: { dataset: 'dataset', properties: 'props' }, write: true },
  'storage.datasets.rename': { params: { dataset: 'dataset', to: 'dataset' }, write: true },
  'storage.datasets.clone': { params: { snapshot: 'snapshot', to: 'dataset', properties: 'props?' }, write: true },
  'storage.datasets.promote': { params: { dataset: 'dataset' }, write: true },
  'storage.snapshots.list': { params: { dataset: 'dataset?' }, write: false },
  'storage.snapshots.create': { params: { dataset: 'dataset', name: 'snapname', recursive: 'bool?' }, write: true },
  'storage.snapshots.delete': { params: { snapshot: 'snapshot' }, write: true },
  'storage.snapshots.rollback': { params: { snapshot: 'snapshot', destroy_newer: 'bool?' }, write: true },
  'storage.snapshots.holds': { params: { snapshot: 'snapshot' }, write: false },
  'storage.snapshots.hold': { params: { snapshot: 'snapshot', tag: 'snapname' }, write: true },
  'storage.snapshots.release': { params: { snapshot: 'snapshot', tag: 'snapname' }, write: true },
  'storage.pools.list': { params: {}, write: false },
  'storage.pools.status': { params: { pool: 'name' }, write: false },
  'storage.pools.properties': { params: { pool: 'name' }, write: false },
  'storage.pools.scrub': { params: { pool: 'name', stop: 'bool?' }, write: true },
  'storage.pools.iostat': { params: { pool: 'name' }, write: false },
  'storage.swap.list': { params: {}, write: false },
  'storage.swap.summary': { params: {}, write: false },
  'storage.swap.add': { params: { volume: 'dataset' }, write: true },
  'storage.swap.remove': { params: { volume: 'dataset' }, write: true },
  'storage.arc': { params: {}, write: false },
  'system.packages.list': { params: {}, write: false },
  'system.packages.search': { params: { term: 'term' }, write: false },
  'system.packages.info': { params: { name: 'fmri' }, write: false },
  'system.packages.install': { params: { name: 'fmri' }, write: true },
  'system.packages.uninstall': { params: { name: 'fmri' }, write: true },
  'system.updates.check': { params: {}, write: false },
  'system.updates.apply': { params: {}, write: true },
  'system.services.list': { params: { all: 'bool?' }, write: false },
  'system.services.enable': { params: { fmri: 'fmri' }, write: true },
  'system.services.disable': { params: { fmri: 'fmri' }, write: true },
  'system.services.restart': { params: { fmri: 'fmri' }, write: true },
  'system.services.refresh': { params: { fmri: 'fmri' }, write: true },
  'system.services.clear': { params: { fmri: 'fmri' }, write: true },
  'system.metrics': { params: {}, write: false },
  'machines.list': { params: {}, write: false },
  'machines.get': { params: { vm: 'vm' }, write: false },
  'machines.status': { params: { vm: 'vm' }, write: false },
  'machines.host': { params: {}, write: false },
  'machines.host.hardware': { params: {}, write: false },
  'machines.host.logs': { params: { lines: 'lines?' }, write: false },
  'machines.start': { params: { vm: 'vm' }, write: true },
  'machines.stop': { params: { vm: 'vm', kill: 'bool?', drop_state: 'bool?' }, write: true },
  'machines.suspend': { params: { vm: 'vm' }, write: true },
  'machines.resume': { params: { vm: 'vm' }, write: true },
  'machines.pause': { params: { vm: 'vm' }, write: true },
  'machines.reset': { params: { vm: 'vm' }, write: true },
  'machines.restart': { params: { vm: 'vm' }, write: true },
  'machines.rename': { params: { vm: 'vm', name: 'vmname' }, write: true },
  'machines.set': {
    params: { vm: 'vm', cpus: 'cpus?', memory_mb: 'memory?', description: 'text?', boot_order: 'bootorder?' },
    write: true,
  },
  'machines.clone': {
    params: { vm: 'vm', name: 'vmname', linked: 'bool?', cpus: 'cpus?', memory_mb: 'memory?', disk_mb: 'diskmb?' },
    write: true,
  },
  'machines.register': {
    params: { path: 'path', uuid: 'uuid?', regenerate_uuid: 'bool?', force: 'bool?' },
    write: true,
  },
  'machines.unregister': { params: { vm: 'vm' }, write: true },
  'machines.delete': { params: { vm: 'vm' }, write: true },
  'machines.exec': { params: { vm: 'vm', argv: 'argv' }, write: true },
  'machines.tools.install': { params: { vm: 'vm' }, write: true },
  'machines.snapshots.list': { params: { vm: 'vm' }, write: false },
  'machines.snapshots.create': { params: { vm: 'vm', name: 'vmname', description: 'text?' }, write: true },
  'machines.snapshots.delete': { params: { vm: 'vm', snapshot: 'uuid', children: 'bool?' }, write: true },
  'machines.snapshots.switch': { params: { vm: 'vm', snapshot: 'uuid', skip_resume: 'bool?' }, write: true },
  /**
   * Ephemeral clones (docs/api/machines.md): `vm` is the clone's new name (so its create and its
   * delete run in order on one resource); `record` is the hub's row, echoed in the result.
   */
  'machines.ephemeral.create': {
    params: { vm: 'vmname', template: 'vm', start: 'bool?', wait_ip_seconds: 'seconds?', record: 'ephemeral' },
    write: true,
  },
  /** Powers off (`--kill`) and deletes a clone; one already gone counts as deleted. */
  'machines.ephemeral.delete': { params: { vm: 'vmname', id: 'uuid?' }, write: true },
} satisfies Record<string, { params: ParamSpec; write: boolean }>;

export type HostOperationName = keyof typeof HOST_OPERATION_SPECS;

export function isHostOperation(name: string): name is HostOperationName {
  return Object.prototype.hasOwnProperty.call(HOST_OPERATION_SPECS, name);
}

/** Which family an operation belongs to: each is served by its own routes and permission keys. */
export function hostOperationFamily(name: string): 'machines' | 'illumos' {
  return name.startsWith('machines.') ? 'machines' : 'illumos';
}

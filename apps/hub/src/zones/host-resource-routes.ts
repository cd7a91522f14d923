import type { HostOperationName, IllumosInventoryList, ParamKind } from '@hostplane/protocol';
import { z } from 'zod';
import {
  bootEnvironmentResponse,
  zoneConfigResponse,
  zoneDetailResponse,
  zoneSummaryResponse,
} from './zone-reads.schemas';

/**
 * One resource-shaped route (`GET /v1/nodes/{id}/zones/{zone}`) over one host operation. Path
 * parameters are the operation's parameters of the same name (or `rename`d); the rest come from
 * the query string (GET, DELETE) or the JSON body (POST, PATCH).
 */
export interface HostResourceRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Below `/v1/nodes/:id`. */
  path: string;
  operation: HostOperationName;
  summary: string;
  /** API name → the operation's parameter, where they differ. */
  rename?: Record<string, string>;
  /** A read of one entry of a list operation: the path parameter, its kind, the entry's field. */
  pick?: { param: string; kind: ParamKind; field: string };
  /** Reads served from the agent's last inventory unless `?live=true`. */
  inventory?: IllumosInventoryList;
  /** A read's `data` as documented in the OpenAPI document (and so typed in the SDK); unknown without it. */
  data?: z.ZodType;
}

const zoneAction = (verb: 'start' | 'stop' | 'halt' | 'restart', summary: string): HostResourceRoute => ({
  method: 'POST',
  path: `zones/:zone/${verb}`,
  operation: `zones.${verb}`,
  summary,
});
const serviceAction = (
  verb: 'enable' | 'disable' | 'restart' | 'refresh' | 'clear',
  summary: string,
): HostResourceRoute => ({
  method: 'POST',
  path: `system/services/:fmri/${verb}`,
  operation: `system.services.${verb}`,
  summary,
});

/** Every resource path of an illumos node, each onto an operation of the host-operation table. */
export const HOST_RESOURCE_ROUTES: readonly HostResourceRoute[] = [
  {
    method: 'GET',
    path: 'zones',
    operation: 'zones.list',
    inventory: 'zones',
    data: z.array(zoneSummaryResponse),
    summary: 'List the zones',
  },
  {
    method: 'GET',
    path: 'zones/:zone',
    operation: 'zones.get',
    inventory: 'zones',
    pick: { param: 'zone', kind: 'name', field: 'name' },
    data: zoneDetailResponse,
    summary: 'One zone: state, brand, zonepath, uuid, ip-type, ram, vcpus (live: its whole configuration)',
  },
  {
    method: 'GET',
    path: 'zones/:zone/config',
    operation: 'zones.config.get',
    data: zoneConfigResponse,
    summary: "A zone's configuration",
  },
  {
    method: 'PATCH',
    path: 'zones/:zone/config',
    operation: 'zones.config.update',
    summary: "Set global properties of a zone's configuration (`zonecfg set`)",
  },
  zoneAction('start', 'Boot a zone'),
  zoneAction('stop', 'Shut a zone down cleanly'),
  zoneAction('halt', 'Halt a zone at once'),
  zoneAction('restart', 'Reboot a zone'),
  {
    method: 'POST',
    path: 'zones/:zone/clone',
    operation: 'zones.clone',
    rename: { zone: 'source', name: 'zone' },
    summary: 'Clone a zone into a new zone `name` at `zonepath`',
  },
  {
    method: 'DELETE',
    path: 'zones/:zone',
    operation: 'zones.delete',
    summary: 'Delete a zone (halted, uninstalled, configuration deleted)',
  },

  {
    method: 'GET',
    path: 'bootenvs',
    operation: 'bootenvs.list',
    data: z.array(bootEnvironmentResponse),
    summary: 'List the boot environments',
  },
  { method: 'POST', path: 'bootenvs', operation: 'bootenvs.create', summary: 'Create a boot environment' },
  { method: 'DELETE', path: 'bootenvs/:name', operation: 'bootenvs.destroy', summary: 'Destroy a boot environment' },
  {
    method: 'POST',
    path: 'bootenvs/:name/activate',
    operation: 'bootenvs.activate',
    summary: 'Activate a boot environment for the next boot',
  },
  { method: 'POST', path: 'bootenvs/:name/mount', operation: 'bootenvs.mount', summary: 'Mount a boot environment' },
  {
    method: 'POST',
    path: 'bootenvs/:name/unmount',
    operation: 'bootenvs.unmount',
    summary: 'Unmount a boot environment',
  },

  { method: 'GET', path: 'network/vnics', operation: 'network.vnics.list', inventory: 'vnics', summary: 'List VNICs' },
  { method: 'POST', path: 'network/vnics', operation: 'network.vnics.create', summary: 'Create a VNIC' },
  {
    method: 'GET',
    path: 'network/vnics/:name',
    operation: 'network.vnics.list',
    inventory: 'vnics',
    pick: { param: 'name', kind: 'name', field: 'link' },
    summary: 'One VNIC',
  },
  { method: 'DELETE', path: 'network/vnics/:name', operation: 'network.vnics.delete', summary: 'Delete a VNIC' },
  {
    method: 'GET',
    path: 'network/vnics/:name/stats',
    operation: 'network.vnics.stats',
    summary: "A VNIC's packet and byte counters",
  },
  {
    method: 'GET',
    path: 'network/vnics/:name/properties',
    operation: 'network.linkprops.get',
    rename: { name: 'link' },
    summary: "A VNIC's link properties",
  },
  {
    method: 'PATCH',
    path: 'network/vnics/:name/properties',
    operation: 'network.linkprops.set',
    rename: { name: 'link' },
    summary: "Set a VNIC's link properties",
  },
  { method: 'GET', path: 'network/vlans', operation: 'network.vlans.list', summary: 'List VLAN links' },
  { method: 'POST', path: 'network/vlans', operation: 'network.vlans.create', summary: 'Create a VLAN link' },
  { method: 'DELETE', path: 'network/vlans/:name', operation: 'network.vlans.delete', summary: 'Delete a VLAN link' },
  { method: 'GET', path: 'network/etherstubs', operation: 'network.etherstubs.list', summary: 'List etherstubs' },
  {
    method: 'POST',
    path: 'network/etherstubs',
    operation: 'network.etherstubs.create',
    summary: 'Create an etherstub',
  },
  {
    method: 'DELETE',
    path: 'network/etherstubs/:name',
    operation: 'network.etherstubs.delete',
    summary: 'Delete an etherstub',
  },
  { method: 'GET', path: 'network/bridges', operation: 'network.bridges.list', summary: 'List bridges' },
  { method: 'POST', path: 'network/bridges', operation: 'network.bridges.create', summary: 'Create a bridge' },
  { method: 'DELETE', path: 'network/bridges/:name', operation: 'network.bridges.delete', summary: 'Delete a bridge' },
  {
    method: 'POST',
    path: 'network/bridges/:name/links',
    operation: 'network.bridges.add-link',
    summary: 'Add a link to a bridge',
  },
  {
    method: 'DELETE',
    path: 'network/bridges/:name/links/:link',
    operation: 'network.bridges.remove-link',
    summary: 'Remove a link from a bridge',
  },
  {
    method: 'GET',
    path: 'network/aggregates',
    operation: 'network.aggregates.list',
    summary: 'List link aggregations',
  },
  { method: 'GET', path: 'network/addresses', operation: 'network.addresses.list', summary: 'List IP addresses' },
  {
    method: 'POST',
    path: 'network/addresses',
    operation: 'network.addresses.create',
    summary: 'Create a static IP address',
  },
  {
    method: 'DELETE',
    path: 'network/addresses/:addrobj',
    operation: 'network.addresses.delete',
    summary: 'Delete an IP address (address object `link/name`, `/` sent as %2F)',
  },
  { method: 'GET', path: 'network/routes', operation: 'network.routes.list', summary: 'List IP routes' },

  {
    method: 'GET',
    path: 'storage/datasets',
    operation: 'storage.datasets.list',
    inventory: 'datasets',
    summary: 'List ZFS filesystems and volumes (below `root` when given)',
  },
  {
    method: 'POST',
    path: 'storage/datasets',
    operation: 'storage.datasets.create',
    summary: 'Create a filesystem, or a volume with `volume_size`',
  },
  {
    method: 'GET',
    path: 'storage/datasets/:dataset',
    operation: 'storage.datasets.get',
    inventory: 'datasets',
    pick: { param: 'dataset', kind: 'dataset', field: 'name' },
    summary: 'One dataset (`/` in its name sent as %2F)',
  },
  {
    method: 'DELETE',
    path: 'storage/datasets/:dataset',
    operation: 'storage.datasets.delete',
    summary: 'Destroy a dataset (`?recursive=true` with its children and snapshots)',
  },
  {
    method: 'GET',
    path: 'storage/datasets/:dataset/properties',
    operation: 'storage.datasets.properties.get',
    summary: "A dataset's properties (`?names=compression,quota`, all by default)",
  },
  {
    method: 'PATCH',
    path: 'storage/datasets/:dataset/properties',
    operation: 'storage.datasets.properties.set',
    summary: "Set a dataset's properties",
  },
  {
    method: 'POST',
    path: 'storage/datasets/:dataset/rename',
    operation: 'storage.datasets.rename',
    summary: 'Rename a dataset',
  },
  {
    method: 'POST',
    path: 'storage/datasets/:dataset/promote',
    operation: 'storage.datasets.promote',
    summary: 'Promote a clone',
  },
  {
    method: 'GET',
    path: 'storage/datasets/:dataset/snapshots',
    operation: 'storage.snapshots.list',
    summary: "A dataset's snapshots",
  },
  {
    method: 'POST',
    path: 'storage/datasets/:dataset/snapshots',
    operation: 'storage.snapshots.create',
    summary: 'Snapshot a dataset (`recursive` for its children too)',
  },
  {
    method: 'GET',
    path: 'storage/snapshots',
    operation: 'storage.snapshots.list',
    summary: 'List snapshots (of `dataset` when given)',
  },
  {
    method: 'DELETE',
    path: 'storage/snapshots/:snapshot',
    operation: 'storage.snapshots.delete',
    summary: 'Destroy a snapshot (`pool%2Fds@name`)',
  },
  {
    method: 'POST',
    path: 'storage/snapshots/:snapshot/rollback',
    operation: 'storage.snapshots.rollback',
    summary: 'Roll its dataset back to a snapshot',
  },
  {
    method: 'POST',
    path: 'storage/snapshots/:snapshot/clone',
    operation: 'storage.datasets.clone',
    summary: 'Clone a snapshot into a new dataset `to`',
  },
  {
    method: 'GET',
    path: 'storage/snapshots/:snapshot/holds',
    operation: 'storage.snapshots.holds',
    summary: "A snapshot's holds",
  },
  {
    method: 'POST',
    path: 'storage/snapshots/:snapshot/holds',
    operation: 'storage.snapshots.hold',
    summary: 'Place a hold `tag` on a snapshot',
  },
  {
    method: 'DELETE',
    path: 'storage/snapshots/:snapshot/holds/:tag',
    operation: 'storage.snapshots.release',
    summary: 'Release a hold on a snapshot',
  },
  { method: 'GET', path: 'storage/pools', operation: 'storage.pools.list', inventory: 'pools', summary: 'List pools' },
  {
    method: 'GET',
    path: 'storage/pools/:pool',
    operation: 'storage.pools.list',
    inventory: 'pools',
    pick: { param: 'pool', kind: 'name', field: 'name' },
    summary: 'One pool',
  },
  {
    method: 'GET',
    path: 'storage/pools/:pool/status',
    operation: 'storage.pools.status',
    summary: "A pool's status: vdevs, errors, scan",
  },
  {
    method: 'GET',
    path: 'storage/pools/:pool/properties',
    operation: 'storage.pools.properties',
    summary: "A pool's properties",
  },
  {
    method: 'POST',
    path: 'storage/pools/:pool/scrub',
    operation: 'storage.pools.scrub',
    summary: 'Start (or with `stop`, stop) a scrub',
  },
  { method: 'GET', path: 'storage/pools/:pool/iostat', operation: 'storage.pools.iostat', summary: "A pool's I/O" },
  { method: 'GET', path: 'storage/swap', operation: 'storage.swap.list', summary: 'List swap devices' },
  { method: 'GET', path: 'storage/swap/summary', operation: 'storage.swap.summary', summary: 'Swap totals' },
  { method: 'POST', path: 'storage/swap', operation: 'storage.swap.add', summary: 'Add a volume as swap' },
  {
    method: 'DELETE',
    path: 'storage/swap/:volume',
    operation: 'storage.swap.remove',
    summary: 'Remove a swap volume (`/` sent as %2F)',
  },
  { method: 'GET', path: 'storage/arc', operation: 'storage.arc', summary: 'ZFS ARC statistics' },

  { method: 'GET', path: 'system/packages', operation: 'system.packages.list', summary: 'List installed packages' },
  {
    method: 'GET',
    path: 'system/packages/search',
    operation: 'system.packages.search',
    summary: 'Search the publishers for packages (`?term=`)',
  },
  {
    method: 'GET',
    path: 'system/packages/:name',
    operation: 'system.packages.info',
    summary: 'One package (`/` in its FMRI sent as %2F)',
  },
  { method: 'POST', path: 'system/packages', operation: 'system.packages.install', summary: 'Install a package' },
  {
    method: 'DELETE',
    path: 'system/packages/:name',
    operation: 'system.packages.uninstall',
    summary: 'Uninstall a package',
  },
  { method: 'GET', path: 'system/updates', operation: 'system.updates.check', summary: 'Check for updates' },
  { method: 'POST', path: 'system/updates/apply', operation: 'system.updates.apply', summary: 'Apply updates' },
  {
    method: 'GET',
    path: 'system/services',
    operation: 'system.services.list',
    summary: 'List SMF services (`?all=true` for disabled ones too)',
  },
  serviceAction('enable', 'Enable an SMF service (`/` in its FMRI sent as %2F)'),
  serviceAction('disable', 'Disable an SMF service'),
  serviceAction('restart', 'Restart an SMF service'),
  serviceAction('refresh', 'Refresh an SMF service'),
  serviceAction('clear', 'Clear the maintenance state of an SMF service'),
  { method: 'GET', path: 'system/metrics', operation: 'system.metrics', summary: 'CPU, load and memory of the host' },
];

/**
 * The permission registry: every key a route can require, what it allows, and which roles hold
 * it by default. Keys of domains that do not exist yet (nodes, instances, operations) are listed
 * here so those domains only use them. Members can be granted extra keys on top of their role.
 */
export const PERMISSIONS = {
  'orgs.view': 'See the organization, its members and their roles',
  'orgs.manage': 'Rename the organization and change its settings',
  'orgs.delete': 'Delete the organization and everything it owns',
  'orgs.members.manage': 'Invite members, remove them, change their roles and see pending invites',
  'orgs.permissions.manage': 'Grant and revoke individual permissions of members (only permissions the granter holds)',
  'audit.view': "Read the organization's audit log",
  'nodes.view': 'See nodes, their inventory and metrics',
  'nodes.manage': 'Register, update, cordon, drain and delete nodes',
  'nodes.terminal': 'Open a root terminal on a node',
  'nodes.host':
    "See host-wide views of a node: every process with its command line, and the logs of any container on the host (without it: only the organization's own instances)",
  'instances.view': 'See instances, their status, stats and logs',
  'instances.create': 'Create instances',
  'instances.manage': 'Start, stop, restart, update and back up instances (create, rename and lock backups)',
  'instances.delete': 'Delete instances',
  'instances.logs.clear': "Clear an instance's output log history on its node (the rotated log files)",
  'instances.console': 'Attach to the interactive console of an instance',
  'instances.files': 'Read the files of an instance: list, view, download (also backup archives)',
  'files.write': 'Write the files of an instance: edit, upload, create folders, move and rename',
  'files.delete': 'Delete files and folders of an instance',
  'backups.restore': "Restore a backup over an instance's files (with truncate: everything else is deleted first)",
  'backups.delete': 'Delete backups, and unlock locked ones',
  'zones.read':
    'See the illumos host resources of nodes: zones, boot environments, network links, ZFS, swap, packages, services, host metrics',
  'zones.manage':
    'Change the illumos host resources of nodes: boot, stop and delete zones, create and delete VNICs, datasets and snapshots, install packages, manage services',
  'zones.console': 'Attach to zone consoles, zone shells and VNC of nodes',
  'machines.read':
    'See the Parallels Desktop VMs of macOS nodes: their state, hardware, guest tools, addresses and snapshots, and the Parallels host info',
  'machines.manage':
    'Change the Parallels Desktop VMs of macOS nodes: start, stop, suspend, clone, configure, register, delete, snapshot and revert them',
  'machines.execute': 'Run commands inside the guests of Parallels Desktop VMs (prlctl exec)',
  'reverse_proxy.manage':
    'Change the reverse proxies nodes run for their VMs: hosts, TLS certificates, CORS, HTTP and TCP routes; enable, disable and restart them',
  'operations.view': 'See operations (jobs) and their progress',
  'operations.cancel': 'Cancel running operations',
  'platform.admin': 'Platform administration above organizations; only a platform admin can give it to an API token',
} as const;

export type PermissionKey = keyof typeof PERMISSIONS;

export const PERMISSION_KEYS = Object.keys(PERMISSIONS) as PermissionKey[];

export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Keys that roles or grants never give: they come from the platform-admin flag. */
const PLATFORM_ONLY: ReadonlySet<PermissionKey> = new Set<PermissionKey>(['platform.admin']);

/** Keys a member may be granted individually. */
export const GRANTABLE_KEYS = PERMISSION_KEYS.filter((k) => !PLATFORM_ONLY.has(k));

const VIEW_KEYS: PermissionKey[] = ['orgs.view', 'nodes.view', 'instances.view', 'operations.view'];

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<PermissionKey>> = {
  owner: new Set(GRANTABLE_KEYS),
  admin: new Set(GRANTABLE_KEYS.filter((k) => k !== 'orgs.delete')),
  // Members operate instances; destroying data (deleting files or backups, restoring over files,
  // unlocking backups, clearing logs) and host-wide views stay with owners and admins unless granted.
  member: new Set<PermissionKey>([
    ...VIEW_KEYS,
    'instances.create',
    'instances.manage',
    'instances.console',
    'instances.files',
    'files.write',
    'operations.cancel',
  ]),
  viewer: new Set(VIEW_KEYS),
};

const RANK: Record<Role, number> = { owner: 3, admin: 2, member: 1, viewer: 0 };

export function roleRank(role: Role): number {
  return RANK[role];
}

export function isPermissionKey(value: string): value is PermissionKey {
  return Object.hasOwn(PERMISSIONS, value);
}

export function isGrantable(value: string): value is PermissionKey {
  return isPermissionKey(value) && !PLATFORM_ONLY.has(value);
}

/**
 * What a caller may do in one organization: the role's keys plus individual grants, narrowed to
 * an API token's scopes when it has them.
 */
export function effectivePermissions(
  role: Role | 'platform_admin',
  grants: readonly string[],
  scopes: readonly PermissionKey[] | null,
): Set<PermissionKey> {
  const base = role === 'platform_admin' ? ROLE_PERMISSIONS.owner : ROLE_PERMISSIONS[role];
  const all = new Set<PermissionKey>(base);
  for (const g of grants) if (isGrantable(g)) all.add(g);
  if (!scopes) return all;
  const allowed = new Set(scopes);
  return new Set([...all].filter((k) => allowed.has(k)));
}

/** Roles that include a key by default, for `GET /v1/permissions`. */
export function rolesHolding(key: PermissionKey): Role[] {
  return ROLES.filter((r) => ROLE_PERMISSIONS[r].has(key));
}

import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Inventory } from '@hostplane/protocol';
import { PermissionDeniedError } from '../access/access.errors';
import { hasPermission, type Principal } from '../access/principal';
import type { NodeEntity } from './node.entity';

/**
 * The agent's docker driver names an instance's container `hostplane-<id>` and its installer `hostplane-<id>-install`.
 */
const INSTANCE_CONTAINER = /^hostplane-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(-install)?$/;

/**
 * Host-wide views of a node (every process with its command line, any container's logs) show
 * what other tenants run when several organizations' agents share a host. They need
 * `nodes.host` (owners and admins, who can open a root terminal anyway, and platform admins);
 * everyone else sees only their own organization's instance containers and no processes.
 */
@Injectable()
export class HostViews {
  constructor(private readonly db: DataSource) {}

  canSeeHost(p: Principal): boolean {
    return p.platformAdmin || hasPermission(p, 'nodes.host');
  }

  /** The inventory as `p` may see it. */
  async inventory(p: Principal, node: NodeEntity, full: Inventory): Promise<Inventory> {
    // The zones, links, datasets and pools of an illumos node are the zones API's to show (zones.read).
    const { illumos, parallels, ...rest } = full;
    const inventory = {
      ...rest,
      ...(illumos && (p.platformAdmin || hasPermission(p, 'zones.read')) ? { illumos } : {}),
      // Parallels Desktop's host info and users are the machines API's to show (machines.read).
      ...(parallels && (p.platformAdmin || hasPermission(p, 'machines.read')) ? { parallels } : {}),
    };
    if (this.canSeeHost(p)) return inventory;
    const own = await this.ownInstanceIds(node);
    return {
      ...inventory,
      processes: [],
      containers: inventory.containers?.filter((c) => isOwnContainer(c.name.replace(/^\//, ''), own)) ?? null,
    };
  }

  /** Refuses the processes section to callers without host access. */
  assertHostAccess(p: Principal): void {
    if (!this.canSeeHost(p)) throw new PermissionDeniedError('nodes.host');
  }

  /**
   * A container `p` may read the logs of: any with host access, else one of the organization's
   * instances on this node, by name or by an id (prefix) the node's inventory maps to such a name.
   */
  async assertContainerVisible(p: Principal, node: NodeEntity, containerRef: string): Promise<void> {
    if (this.canSeeHost(p)) return;
    const own = await this.ownInstanceIds(node);
    if (isOwnContainer(containerRef, own)) return;
    const byId =
      containerRef.length >= 12 ? node.inventory?.containers?.find((c) => c.id.startsWith(containerRef)) : undefined;
    if (byId && isOwnContainer(byId.name.replace(/^\//, ''), own)) return;
    throw new PermissionDeniedError('nodes.host');
  }

  private async ownInstanceIds(node: NodeEntity): Promise<Set<string>> {
    const rows = (await this.db.query(`SELECT id FROM instances WHERE org_id = $1 AND node_id = $2`, [
      node.orgId,
      node.id,
    ])) as { id: string }[];
    return new Set(rows.map((r) => r.id));
  }
}

function isOwnContainer(name: string, own: ReadonlySet<string>): boolean {
  const m = INSTANCE_CONTAINER.exec(name);
  return !!m && own.has(m[1]!);
}

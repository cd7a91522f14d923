import type { InstanceSpec } from '@hostplane/protocol';
import type { SandboxIdentity } from '../../sandbox/sandbox-identity';

/**
 * The confinement every container of an instance gets (workload and install): the instance's
 * uid/gid instead of root, every capability dropped but those the workload declares,
 * no-new-privileges, Docker's default seccomp profile (never `unconfined`), a pids limit,
 * memory without extra swap, bounded logs, and a read-only root when the workload asks.
 */
export function confineContainer(
  body: Record<string, unknown>,
  spec: InstanceSpec,
  identity: SandboxIdentity,
  defaultPidsLimit: number,
): Record<string, unknown> {
  const hostConfig = (body.HostConfig ?? {}) as Record<string, unknown>;
  const memory = spec.resources.memory_bytes;
  const readOnly = spec.sandbox?.read_only_root === true;
  return {
    ...body,
    User: `${identity.uid}:${identity.gid}`,
    HostConfig: {
      ...hostConfig,
      CapDrop: ['ALL'],
      CapAdd: (spec.sandbox?.capabilities ?? []).map((c) => `CAP_${c}`),
      SecurityOpt: ['no-new-privileges:true'],
      PidsLimit: spec.resources.pids_limit ?? defaultPidsLimit,
      ...(memory === undefined ? {} : { Memory: memory, MemorySwap: memory }),
      ReadonlyRootfs: readOnly,
      // Owned by the workload's user: Docker copies the image's /tmp mode (often 0755 root) over `mode=`.
      ...(readOnly ? { Tmpfs: { '/tmp': `rw,nosuid,nodev,uid=${identity.uid},gid=${identity.gid},size=256m` } } : {}),
    },
  };
}

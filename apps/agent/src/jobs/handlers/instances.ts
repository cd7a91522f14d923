import type { JobKind } from '@hostplane/protocol';
import type { InstanceManager } from '../../instances/instance-manager';
import { JobHandler, settle } from '../handler-registry';

/** The lifecycle kinds; files and backups of instances have their own handlers. */
type InstanceJobKind = Exclude<
  Extract<JobKind, `instance.${string}`>,
  `instance.files.${string}` | `instance.backup.${string}`
>;
export type InstanceJobHandlers = { [K in InstanceJobKind]: JobHandler<K> };

/**
 * Every `instance.*` kind, idempotent per job id and by state: creating what exists answers its
 * status, stopping what is stopped answers its status, deleting what is gone answers deleted: false.
 */
export function createInstanceHandlers(
  instances: InstanceManager,
  hooks: { deleted?: (id: string) => void } = {},
): InstanceJobHandlers {
  return {
    'instance.create': ({ spec, registry_auth: registryAuth, restore_follows: restoreFollows }, ctx) =>
      settle(() =>
        instances.create(spec, {
          progress: (p, m) => ctx.progress(p, m),
          signal: ctx.signal,
          registryAuth,
          restoreFollows,
        }),
      ),
    'instance.update': ({ spec, registry_auth: registryAuth }, ctx) =>
      settle(() => instances.update(spec, { progress: (p, m) => ctx.progress(p, m), registryAuth })),
    'instance.start': ({ instance_id: id }) => settle(async () => (await instances.driverOf(id)).start(id)),
    'instance.stop': ({ instance_id: id, grace_seconds: grace }) =>
      settle(async () => (await instances.driverOf(id)).stop(id, grace)),
    'instance.restart': ({ instance_id: id }) =>
      settle(async () => {
        const driver = await instances.driverOf(id);
        await driver.stop(id);
        return driver.start(id);
      }),
    'instance.kill': ({ instance_id: id, signal }) =>
      settle(async () => (await instances.driverOf(id)).kill(id, signal)),
    'instance.delete': ({ instance_id: id }) =>
      settle(async () => {
        // Its backups and staged uploads go too, also on a re-run that finds the instance already gone.
        if (!instances.has(id)) {
          hooks.deleted?.(id);
          return { instance_id: id, deleted: false };
        }
        const deleted = await (await instances.driverOf(id)).remove(id);
        hooks.deleted?.(id);
        return { instance_id: id, deleted };
      }),
    'instance.inspect': ({ instance_id: id }) => settle(async () => (await instances.driverOf(id)).inspect(id)),
    'instance.stats': ({ instance_id: id }) => settle(async () => (await instances.driverOf(id)).stats(id)),
    'instance.logs.clear': ({ instance_id: id }) =>
      settle(async () => ({ instance_id: id, ...(await (await instances.driverOf(id)).clearLogs(id)) })),
    'instance.logs': ({ instance_id: id, lines, source }) =>
      settle(async () => ({ instance_id: id, lines: await (await instances.driverOf(id)).logs(id, lines, source) })),
  };
}

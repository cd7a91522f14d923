import type { ContainerControl } from '../../containers/container-control';
import { JobHandler, settle } from '../handler-registry';

export function createContainerHandlers(containers: ContainerControl): {
  'node.container.action': JobHandler<'node.container.action'>;
  'node.container.logs': JobHandler<'node.container.logs'>;
} {
  return {
    'node.container.action': ({ container_id: ref, action, signal, timeout_seconds: timeoutSeconds }) =>
      settle(() => containers.act(ref, action, { signal, timeoutSeconds })),
    'node.container.logs': ({ container_id: ref, lines, timestamps }) =>
      settle(async () => ({ container_id: ref, lines: await containers.logs(ref, lines, timestamps) })),
  };
}
